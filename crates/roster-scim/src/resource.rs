//! Incoming resources for POST and PUT (RFC 7643 §2, §3, §7; RFC 7644 §3.3, §3.5.1): checked
//! against the schemas `/Schemas` serves and brought to the stored form (canonical attribute
//! names, core attributes at the top, extension attributes under the extension's URN).
//!
//! Decisions, also listed in `docs/scim.md`:
//! - Attributes, sub-attributes and schema URIs the schemas do not define are dropped, not
//!   rejected: IdP payloads carry extras (Entra's ADSCIM group URI, OneLogin template fields)
//!   and scim2-tester only sends what `/Schemas` declares, so rejecting would break real
//!   clients and gain no conformance. What is stored is exactly what `/Schemas` describes.
//! - Read-only input (`id`, `meta`, `groups`, `members[].display`, `manager.displayName`) is
//!   ignored, as RFC 7643 §7 says.
//! - `password` (write-only) is accepted and discarded: Roster never authenticates anyone with
//!   it, Okta sends a placeholder anyway, and a secret not kept cannot leak.
//! - Booleans sent as `"True"`/`"False"` are booleans; a bare string where a complex value with
//!   a `value` sub-attribute is expected is that `value` (Entra's manager); dotted
//!   (`name.givenName`) and URN-qualified (`urn:…:enterprise:2.0:User:department`) keys name
//!   the attribute they spell; the SCIM 1.1 core URI counts as the core schema (OneLogin
//!   templates send it to v2 endpoints).

mod coerce;

use serde_json::{Map, Value};

pub use coerce::is_datetime;
pub(crate) use coerce::{Shape, coerce, coerce_one, find_sub, invalid, is_primary, kind};

use crate::schema::{Mutability, Resolved, ResourceType, Schema, Schemas};
use crate::{AttrPath, ScimError, ScimType};

/// The SCIM 1.1 core schema URI, which OneLogin's templates send against v2 endpoints.
pub const SCIM1_CORE: &str = "urn:scim:schemas:core:1.0";

/// Checks a POST or PUT body and returns the document to store: canonical attribute names,
/// `schemas` listing the core schema and the extensions present, no read-only or write-only
/// attributes (the server adds `id` and `meta`). `existing` is the stored resource for a PUT:
/// immutable attributes must keep their value (RFC 7644 §3.5.1) and are carried over when the
/// body omits them.
pub fn validate_for_write(
    schemas: &Schemas,
    rt: ResourceType,
    doc: Value,
    existing: Option<&Value>,
) -> Result<Value, ScimError> {
    let Value::Object(input) = doc else {
        return Err(syntax(format!(
            "a {} must be a JSON object, got {}",
            rt.name(),
            kind(&doc)
        )));
    };
    let listed = listed_schemas(&input, rt)?;
    let mut out = Map::new();
    for (key, value) in input {
        match resolve_key(schemas, rt, None, &key) {
            Key::Skip => {}
            Key::Attr(r) => write_input(schemas, &mut out, r, value, &key)?,
            Key::Schema(schema) => {
                let fields = match value {
                    Value::Null => continue,
                    Value::Object(fields) => fields,
                    other => {
                        return Err(invalid(format!(
                            "{}: expected an object of the extension's attributes, got {}",
                            schema.id,
                            kind(&other)
                        )));
                    }
                };
                for (k, v) in fields {
                    if let Key::Attr(r) = resolve_key(schemas, rt, Some(schema), &k) {
                        write_input(schemas, &mut out, r, v, &format!("{}:{k}", schema.id))?;
                    }
                }
            }
        }
    }
    if let Some(Value::Object(old)) = existing {
        keep_immutable(schemas, rt, &mut out, old)?;
    }
    finish(schemas, rt, &mut out);
    for ext in schemas.extensions(rt) {
        let listed_ext = listed.iter().any(|s| s.eq_ignore_ascii_case(ext.id));
        if out.contains_key(ext.id) && !listed_ext {
            return Err(syntax(format!(
                "`schemas` must list {} because the {} carries its attributes",
                ext.id,
                rt.name()
            )));
        }
    }
    check_required(schemas, rt, &out, ScimType::InvalidValue)?;
    Ok(Value::Object(out))
}

/// What a key of a resource object (or of a path-less PATCH value) names.
pub(crate) enum Key<'s> {
    /// An attribute, possibly with a sub-attribute (`name.givenName`).
    Attr(Resolved<'s>),
    /// A schema URN whose value is an object of that schema's attributes.
    Schema(&'s Schema),
    /// `schemas`, or something the schemas do not define (dropped).
    Skip,
}

/// Resolves `key` for resource type `rt`. Outside any schema object (`scope` None) keys may be
/// plain (`userName`), dotted (`name.givenName`), URN-qualified
/// (`urn:…:enterprise:2.0:User:manager.value`, split after the schema URN, never at a dot) or a
/// schema URN. Inside a schema's object (`scope`) they name that schema's attributes.
pub(crate) fn resolve_key<'s>(
    schemas: &'s Schemas,
    rt: ResourceType,
    scope: Option<&'s Schema>,
    key: &str,
) -> Key<'s> {
    if scope.is_none() && key.eq_ignore_ascii_case("schemas") {
        return Key::Skip;
    }
    let allowed = || std::iter::once(schemas.core(rt)).chain(schemas.extensions(rt));
    if let Some(schema) = allowed().find(|s| s.id.eq_ignore_ascii_case(key)) {
        return match scope {
            None => Key::Schema(schema),
            Some(_) => Key::Skip,
        };
    }
    let qualified = allowed().find(|s| {
        key.get(..s.id.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(s.id))
            && key.as_bytes().get(s.id.len()) == Some(&b':')
    });
    let (urn, rest) = match qualified {
        Some(s) if scope.is_some_and(|sc| sc.id != s.id) => return Key::Skip,
        Some(s) => (Some(s.id), &key[s.id.len() + 1..]),
        None => (scope.map(|s| s.id), key),
    };
    let (attr, sub) = match rest.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (rest, None),
    };
    let path = AttrPath {
        urn: urn.map(str::to_string),
        attr: attr.to_string(),
        sub_attr: sub.map(str::to_string),
    };
    match schemas.resolve(rt, &path) {
        Some(r) => Key::Attr(r),
        None => Key::Skip,
    }
}

/// Writes one input attribute into `out` as POST and PUT do: read-only and write-only input is
/// dropped, the value is type-checked, complex values merge with what earlier keys wrote
/// (`name` and `name.givenName` in one body).
fn write_input(
    schemas: &Schemas,
    out: &mut Map<String, Value>,
    r: Resolved<'_>,
    value: Value,
    label: &str,
) -> Result<(), ScimError> {
    let leaf = r.leaf();
    if r.attribute.mutability == Mutability::ReadOnly
        || matches!(
            leaf.mutability,
            Mutability::ReadOnly | Mutability::WriteOnly
        )
    {
        return Ok(());
    }
    let attr = r.attribute;
    let container = container_mut(out, schemas, r.schema);
    match r.sub_attribute {
        None => match coerce(attr, value, label, Shape::Strict)? {
            None => {
                container.remove(attr.name);
            }
            Some(Value::Object(fields)) if !attr.multi_valued => {
                let slot = object_slot(container, attr.name);
                slot.extend(fields);
            }
            Some(v) => {
                container.insert(attr.name.to_string(), v);
            }
        },
        Some(sub) => {
            if attr.multi_valued {
                return Err(invalid(format!(
                    "{label}: {} is multi-valued; send it as an array of values",
                    attr.name
                )));
            }
            match coerce(sub, value, label, Shape::Strict)? {
                Some(v) => {
                    object_slot(container, attr.name).insert(sub.name.to_string(), v);
                }
                None => {
                    if let Some(Value::Object(obj)) = container.get_mut(attr.name) {
                        obj.remove(sub.name);
                        if obj.is_empty() {
                            container.remove(attr.name);
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// PUT keeps immutable values: an assigned one must be sent unchanged or not at all (then it
/// is carried over). Values of multi-valued attributes have no identity across a PUT, so only
/// single-valued attributes and sub-attributes of single-valued complex attributes count.
fn keep_immutable(
    schemas: &Schemas,
    rt: ResourceType,
    out: &mut Map<String, Value>,
    old: &Map<String, Value>,
) -> Result<(), ScimError> {
    for schema in std::iter::once(schemas.core(rt)).chain(schemas.extensions(rt)) {
        for attr in schema.attributes.iter().filter(|a| !a.multi_valued) {
            let Some(old_value) = container(old, schemas, schema.id).and_then(|c| c.get(attr.name))
            else {
                continue;
            };
            if attr.mutability == Mutability::Immutable {
                let slot = container_mut(out, schemas, schema.id);
                match slot.get(attr.name) {
                    None => {
                        slot.insert(attr.name.to_string(), old_value.clone());
                    }
                    Some(new) if new != old_value => return Err(immutable(attr.name)),
                    Some(_) => {}
                }
                continue;
            }
            let Value::Object(old_fields) = old_value else {
                continue;
            };
            for sub in attr.sub_attributes.iter() {
                let Some(old_sub) = old_fields.get(sub.name) else {
                    continue;
                };
                if sub.mutability != Mutability::Immutable {
                    continue;
                }
                let slot = object_slot(container_mut(out, schemas, schema.id), attr.name);
                match slot.get(sub.name) {
                    None => {
                        slot.insert(sub.name.to_string(), old_sub.clone());
                    }
                    Some(new) if new != old_sub => {
                        return Err(immutable(&format!("{}.{}", attr.name, sub.name)));
                    }
                    Some(_) => {}
                }
            }
        }
    }
    Ok(())
}

pub(crate) fn immutable(name: &str) -> ScimError {
    ScimError::bad(
        ScimType::Mutability,
        format!("{name} is immutable: once set it cannot change"),
    )
}

/// The `schemas` a body lists. It must name the core schema of `rt` (or the SCIM 1.1 core URI);
/// unknown URIs are allowed and ignored.
fn listed_schemas(input: &Map<String, Value>, rt: ResourceType) -> Result<Vec<String>, ScimError> {
    let core = rt.core_schema();
    let missing = || {
        syntax(format!(
            "`schemas` must be an array of schema URIs that lists {core}"
        ))
    };
    let listed = input
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("schemas"))
        .and_then(|(_, v)| v.as_array())
        .ok_or_else(missing)?;
    let listed: Vec<String> = listed
        .iter()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect();
    let has_core = listed
        .iter()
        .any(|s| s.eq_ignore_ascii_case(core) || s.eq_ignore_ascii_case(SCIM1_CORE));
    if !has_core {
        return Err(missing());
    }
    Ok(listed)
}

/// Drops empty extension objects and sets `schemas` to the core schema plus the extensions the
/// document carries (RFC 7643 §3), in `/Schemas` order.
pub(crate) fn finish(schemas: &Schemas, rt: ResourceType, doc: &mut Map<String, Value>) {
    let mut listed = vec![Value::String(rt.core_schema().to_string())];
    for ext in schemas.extensions(rt) {
        match doc.get(ext.id) {
            Some(Value::Object(fields)) if !fields.is_empty() => {
                listed.push(Value::String(ext.id.to_string()));
            }
            Some(_) => {
                doc.remove(ext.id);
            }
            None => {}
        }
    }
    doc.insert("schemas".to_string(), Value::Array(listed));
}

/// Required attributes (`userName`, a group's `displayName`) must be present and not blank.
/// `missing` is the `scimType` for an absent one: `invalidValue` on POST/PUT, `mutability` when
/// a PATCH removed it (RFC 7644 §3.5.2).
pub(crate) fn check_required(
    schemas: &Schemas,
    rt: ResourceType,
    doc: &Map<String, Value>,
    missing: ScimType,
) -> Result<(), ScimError> {
    for schema in std::iter::once(schemas.core(rt)).chain(schemas.extensions(rt)) {
        for attr in schema.attributes.iter().filter(|a| a.required) {
            match container(doc, schemas, schema.id).and_then(|c| c.get(attr.name)) {
                None | Some(Value::Null) => {
                    return Err(ScimError::bad(
                        missing,
                        format!("{} is required for a {}", attr.name, rt.name()),
                    ));
                }
                Some(Value::String(s)) if s.trim().is_empty() => {
                    return Err(invalid(format!(
                        "{} is required for a {} and cannot be blank",
                        attr.name,
                        rt.name()
                    )));
                }
                Some(_) => {}
            }
        }
    }
    Ok(())
}

/// The object holding the attributes of `schema` in a document: the document itself for the
/// core schema, the object under the extension's URN otherwise.
pub(crate) fn container<'d>(
    doc: &'d Map<String, Value>,
    schemas: &Schemas,
    schema: &str,
) -> Option<&'d Map<String, Value>> {
    if schemas.is_extension(schema) {
        doc.get(schema).and_then(Value::as_object)
    } else {
        Some(doc)
    }
}

/// Like [`container`], creating the extension object when missing ([`finish`] drops it again
/// if it stays empty).
pub(crate) fn container_mut<'d>(
    doc: &'d mut Map<String, Value>,
    schemas: &Schemas,
    schema: &str,
) -> &'d mut Map<String, Value> {
    if schemas.is_extension(schema) {
        object_slot(doc, schema)
    } else {
        doc
    }
}

/// The object under `key`, replacing anything that is not an object with an empty one.
pub(crate) fn object_slot<'d>(
    map: &'d mut Map<String, Value>,
    key: &str,
) -> &'d mut Map<String, Value> {
    let slot = map
        .entry(key.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    match slot {
        Value::Object(fields) => fields,
        _ => unreachable!("the slot was just made an object"),
    }
}

pub(crate) fn syntax(detail: String) -> ScimError {
    ScimError::bad(ScimType::InvalidSyntax, detail)
}
