//! PATCH (RFC 7644 §3.5.2) applied to one resource document: `add`, `replace` and `remove`,
//! with and without `path`, value-filtered paths, multi-valued merges, and the documented
//! quirks of Entra ID and Okta (listed in `docs/scim.md`).
//!
//! The operations apply as a whole (RFC 7644 §3.5.2: "the request is atomic"): they run on a
//! copy, and the document changes only when all of them succeeded. Semantics beyond the RFC's
//! letter, chosen so that repeating an `add` or `replace` changes nothing:
//! - `add` to a multi-valued attribute appends the values not already present (same JSON
//!   value, or same `value` when that sub-attribute is immutable, as for group members).
//! - `add`/`replace` on a complex value (`name`, `manager`, the values a filter selects) set
//!   the sub-attributes given and keep the others (RFC 7644 §3.5.2.3 for complex targets).
//! - `add`/`replace` through a filter that matches nothing create the value the filter
//!   describes when it is `eq` comparisons joined by `and` (`emails[type eq "work"].value`, as
//!   Entra maps it); otherwise 400 `noTarget`.
//! - A value marked primary unmarks the others (RFC 7643 §2.4).

mod write;

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::filter::parse_path;
use crate::resource::{self, Key, kind, resolve_key};
use crate::schema::{Attribute, Mutability, ResourceType, Schema, Schemas};
use crate::{Filter, ScimError, ScimType};

/// The PatchOp message schema a PATCH body must list.
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// What a PATCH did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatchOutcome {
    /// Whether the document changed. A PATCH that changes nothing must not bump
    /// `meta.version` or `meta.lastModified` (RFC 7644 §3.5.2.1).
    pub changed: bool,
    /// For a group: the `value` (member id) of members that were not in `members` before.
    pub members_added: Vec<String>,
    /// For a group: the member ids that left `members`.
    pub members_removed: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Replace,
    Remove,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Add => "add",
            Op::Replace => "replace",
            Op::Remove => "remove",
        }
    }
}

struct Operation {
    op: Op,
    path: Option<String>,
    /// `None` when the operation has no `value` member; `Some(Null)` for `"value": null`.
    value: Option<Value>,
}

/// Where an operation's path points.
enum Location<'s> {
    /// No path (or the core schema URN): the resource itself.
    Root,
    /// An extension URN: the extension's object as a whole.
    Schema(&'s Schema),
    Attr(Target<'s>),
}

/// An attribute path resolved against the schemas.
struct Target<'s> {
    /// The schema the attribute belongs to (where it lives in the document).
    schema: &'static str,
    attr: &'s Attribute,
    /// `name.givenName` without a filter, or `emails[…].value` with one.
    sub: Option<&'s Attribute>,
    filter: Option<Filter>,
    /// The path as the client wrote it, for errors.
    label: String,
}

impl Target<'_> {
    fn leaf(&self) -> &Attribute {
        self.sub.unwrap_or(self.attr)
    }
}

/// Applies the PatchOp `request` to `doc` (a stored resource of type `rt`, in wire form).
/// On error `doc` is left as it was. `doc` may carry `id` and `meta`; they are not touched.
pub fn apply_patch(
    schemas: &Schemas,
    rt: ResourceType,
    doc: &mut Value,
    request: &Value,
) -> Result<PatchOutcome, ScimError> {
    let operations = parse_request(request)?;
    let Value::Object(current) = doc else {
        return Err(ScimError::new(
            500,
            None,
            format!("the stored {} is not a JSON object", rt.name()),
        ));
    };
    let engine = Engine { schemas, rt };
    let mut work = current.clone();
    for (n, operation) in operations.into_iter().enumerate() {
        let what = match &operation.path {
            Some(path) => format!("{} {path}", operation.op.name()),
            None => operation.op.name().to_string(),
        };
        engine.apply(&mut work, operation).map_err(|e| {
            ScimError::new(
                e.status,
                e.scim_type,
                format!("operation {} ({what}): {}", n + 1, e.detail),
            )
        })?;
    }
    resource::finish(schemas, rt, &mut work);
    resource::check_required(schemas, rt, &work, ScimType::Mutability)?;
    // `schemas` is derived from the attributes present, so it is left out of the comparison:
    // a stored document whose list was spelled differently has not changed.
    let changed = !same_ignoring_schemas(current, &work);
    let mut outcome = PatchOutcome {
        changed,
        ..PatchOutcome::default()
    };
    if changed {
        if rt == ResourceType::Group {
            (outcome.members_added, outcome.members_removed) = member_diff(current, &work);
        }
        *current = work;
    }
    Ok(outcome)
}

fn parse_request(request: &Value) -> Result<Vec<Operation>, ScimError> {
    let Value::Object(body) = request else {
        return Err(resource::syntax(format!(
            "a PATCH body must be a JSON object with `schemas` and `Operations`, got {}",
            kind(request)
        )));
    };
    let lists_patch_op = get_ci(body, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| {
            s.iter()
                .any(|u| u.as_str().is_some_and(|u| u.eq_ignore_ascii_case(PATCH_OP)))
        });
    if !lists_patch_op {
        return Err(resource::syntax(format!(
            "a PATCH body's `schemas` must list {PATCH_OP}"
        )));
    }
    let Some(Value::Array(ops)) = get_ci(body, "Operations") else {
        return Err(resource::syntax(
            "a PATCH body needs `Operations`, an array of operations".to_string(),
        ));
    };
    if ops.is_empty() {
        return Err(resource::syntax(
            "`Operations` is empty; send at least one operation".to_string(),
        ));
    }
    ops.iter()
        .enumerate()
        .map(|(n, op)| parse_operation(n + 1, op))
        .collect()
}

fn parse_operation(n: usize, op: &Value) -> Result<Operation, ScimError> {
    let Value::Object(fields) = op else {
        return Err(resource::syntax(format!(
            "operation {n} must be an object with `op`, got {}",
            kind(op)
        )));
    };
    // Entra capitalises op names ("Replace"); Microsoft asks servers not to be case-sensitive
    // about the message's structural elements, so member names are matched the same way.
    let op = match get_ci(fields, "op") {
        Some(Value::String(s)) if s.eq_ignore_ascii_case("add") => Op::Add,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("replace") => Op::Replace,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("remove") => Op::Remove,
        Some(Value::String(s)) => {
            return Err(resource::syntax(format!(
                "operation {n}: unknown op \"{s:.40}\"; use add, replace or remove"
            )));
        }
        _ => {
            return Err(resource::syntax(format!(
                "operation {n}: `op` (add, replace or remove) is missing"
            )));
        }
    };
    let path = match get_ci(fields, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(s.trim().to_string()),
        Some(other) => {
            return Err(ScimError::bad(
                ScimType::InvalidPath,
                format!(
                    "operation {n}: `path` must be a string, got {}",
                    kind(other)
                ),
            ));
        }
    };
    Ok(Operation {
        op,
        path,
        value: get_ci(fields, "value").cloned(),
    })
}

struct Engine<'s> {
    schemas: &'s Schemas,
    rt: ResourceType,
}

impl<'s> Engine<'s> {
    fn apply(&self, doc: &mut Map<String, Value>, operation: Operation) -> Result<(), ScimError> {
        let location = match &operation.path {
            None => Location::Root,
            Some(path) => self.locate(path)?,
        };
        match (operation.op, location, operation.value) {
            (Op::Remove, Location::Root, _) => Err(ScimError::bad(
                ScimType::NoTarget,
                "remove needs a `path` naming what to remove",
            )),
            (Op::Remove, Location::Schema(schema), _) => {
                doc.remove(schema.id);
                Ok(())
            }
            (Op::Remove, Location::Attr(target), value) => {
                check_writable(&target)?;
                write::remove(self.schemas, doc, &target, value)
            }
            (op, _, None) => Err(resource::invalid(format!("{} needs a `value`", op.name()))),
            (Op::Add, _, Some(Value::Null)) => Err(resource::invalid(
                "add needs a value; null adds nothing (use remove or replace with null)"
                    .to_string(),
            )),
            (op, Location::Root, Some(value)) => self.apply_object(doc, op, None, value),
            (op, Location::Schema(schema), Some(value)) => {
                self.apply_object(doc, op, Some(schema), value)
            }
            (op, Location::Attr(target), Some(value)) => {
                check_writable(&target)?;
                self.write(doc, op, &target, value)
            }
        }
    }

    /// Resolves a PATCH path. A bare extension URN names the extension object (the grammar
    /// alone cannot tell it from an attribute of a schema `…:2.0`); URN paths are split after
    /// the schema URN, never at the dot in `2.0`.
    fn locate(&self, path: &str) -> Result<Location<'s>, ScimError> {
        let schemas = self.schemas;
        let core = schemas.core(self.rt);
        if core.id.eq_ignore_ascii_case(path) {
            return Ok(Location::Root);
        }
        if let Some(ext) = schemas
            .extensions(self.rt)
            .into_iter()
            .find(|s| s.id.eq_ignore_ascii_case(path))
        {
            return Ok(Location::Schema(ext));
        }
        let parsed = parse_path(path)?;
        let no_such = || {
            ScimError::bad(
                ScimType::InvalidPath,
                format!("{path}: a {} has no such attribute", self.rt.name()),
            )
        };
        let resolved = schemas.resolve(self.rt, &parsed.attr).ok_or_else(no_such)?;
        let attr = resolved.attribute;
        let (sub, filter) = match parsed.value_filter {
            None => (resolved.sub_attribute, None),
            Some(filter) => {
                if !attr.multi_valued
                    || attr.sub_attributes.is_empty()
                    || resolved.sub_attribute.is_some()
                {
                    return Err(ScimError::bad(
                        ScimType::InvalidPath,
                        format!("{path}: a value filter needs a multi-valued complex attribute"),
                    ));
                }
                let sub = match parsed.sub_attr_after_filter {
                    None => None,
                    Some(name) => Some(resource::find_sub(attr, &name).ok_or_else(no_such)?),
                };
                (sub, Some(filter))
            }
        };
        Ok(Location::Attr(Target {
            schema: resolved.schema,
            attr,
            sub,
            filter,
            label: path.to_string(),
        }))
    }

    /// A path-less `add`/`replace`, or one whose path is an extension URN: every key of the
    /// object is an attribute (plain, dotted, URN-qualified, or a schema URN holding an object
    /// of that schema's attributes) written as if it were the path.
    fn apply_object(
        &self,
        doc: &mut Map<String, Value>,
        op: Op,
        scope: Option<&'s Schema>,
        value: Value,
    ) -> Result<(), ScimError> {
        let fields = match value {
            Value::Object(fields) => fields,
            Value::Null if op == Op::Replace && scope.is_some() => {
                if let Some(schema) = scope {
                    doc.remove(schema.id);
                }
                return Ok(());
            }
            other => {
                let what = scope.map_or("the resource", |s| s.id);
                return Err(resource::invalid(format!(
                    "the value of a {} on {what} must be an object of attributes, got {}",
                    op.name(),
                    kind(&other)
                )));
            }
        };
        for (key, v) in fields {
            match resolve_key(self.schemas, self.rt, scope, &key) {
                Key::Skip => {}
                Key::Schema(schema) => {
                    if scope.is_none() && !(v.is_null() && op == Op::Add) {
                        self.apply_object(doc, op, Some(schema), v)?;
                    }
                }
                Key::Attr(r) => {
                    let target = Target {
                        schema: r.schema,
                        attr: r.attribute,
                        sub: r.sub_attribute,
                        filter: None,
                        label: key.clone(),
                    };
                    if is_read_only(&target) {
                        // Okta's group rename repeats the group's `id`, Entra sends
                        // `meta.resourceType`: read-only input equal to what is stored, and
                        // `meta` always, is ignored (RFC 7643 §7); a different value is an
                        // attempt to change it.
                        let stored = write::current(self.schemas, doc, &target);
                        let equal = stored == Some(&v)
                            || v.is_null()
                            || v.as_array().is_some_and(Vec::is_empty);
                        if equal || target.attr.name == "meta" {
                            continue;
                        }
                        return Err(read_only(&target));
                    }
                    match (op, v) {
                        (Op::Add, Value::Null) => {}
                        (op, v) => self.write(doc, op, &target, v)?,
                    }
                }
            }
        }
        Ok(())
    }

    fn write(
        &self,
        doc: &mut Map<String, Value>,
        op: Op,
        target: &Target<'_>,
        value: Value,
    ) -> Result<(), ScimError> {
        if target.leaf().mutability == Mutability::WriteOnly {
            // Accepted and discarded: see `password` in crate::resource.
            return Ok(());
        }
        if value.is_null() {
            // `replace` with null unassigns the target (RFC 7643 §2.5); no filter match is
            // needed for that.
            return write::remove(self.schemas, doc, target, None).or_else(|e| {
                if e.scim_type == Some(ScimType::NoTarget) {
                    Ok(())
                } else {
                    Err(e)
                }
            });
        }
        write::write(self.schemas, doc, op == Op::Add, target, value)
    }
}

fn is_read_only(target: &Target<'_>) -> bool {
    target.attr.mutability == Mutability::ReadOnly
        || target
            .sub
            .is_some_and(|s| s.mutability == Mutability::ReadOnly)
}

fn read_only(target: &Target<'_>) -> ScimError {
    ScimError::bad(
        ScimType::Mutability,
        format!("{} is read-only", target.label),
    )
}

fn check_writable(target: &Target<'_>) -> Result<(), ScimError> {
    if is_read_only(target) {
        return Err(read_only(target));
    }
    Ok(())
}

fn get_ci<'v>(map: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    map.get(key).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

fn same_ignoring_schemas(a: &Map<String, Value>, b: &Map<String, Value>) -> bool {
    let keys = |m: &Map<String, Value>| m.keys().filter(|k| *k != "schemas").count();
    keys(a) == keys(b)
        && a.iter()
            .filter(|(k, _)| *k != "schemas")
            .all(|(k, v)| b.get(k) == Some(v))
}

fn member_ids(doc: &Map<String, Value>) -> Vec<&str> {
    doc.get("members")
        .and_then(Value::as_array)
        .map(|members| {
            members
                .iter()
                .filter_map(|m| m.get("value").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default()
}

/// Member ids added and removed between two versions of a group, in document order.
fn member_diff(
    before: &Map<String, Value>,
    after: &Map<String, Value>,
) -> (Vec<String>, Vec<String>) {
    let (old, new) = (member_ids(before), member_ids(after));
    let old_set: HashSet<&str> = old.iter().copied().collect();
    let new_set: HashSet<&str> = new.iter().copied().collect();
    let mut seen = HashSet::new();
    let added = new
        .iter()
        .filter(|id| !old_set.contains(*id) && seen.insert(**id))
        .map(|id| id.to_string())
        .collect();
    let removed = old
        .iter()
        .filter(|id| !new_set.contains(*id) && seen.insert(**id))
        .map(|id| id.to_string())
        .collect();
    (added, removed)
}
