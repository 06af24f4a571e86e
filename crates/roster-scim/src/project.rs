//! `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9) and the `returned`
//! characteristic (RFC 7643 §2.2, §7): what a response carries.
//!
//! - `returned: never` (`password`) is never in a response; `always` (`id`) always is, whatever
//!   the parameters say; `request` only when `attributes` names it; `default` unless
//!   `attributes` leaves it out or `excludedAttributes` names it.
//! - `meta` is `returned: default`, like the RFC's schema says: it goes away with
//!   `attributes=userName`, which is what scim2-tester checks.
//! - `schemas` is always present and lists the core schema plus the extensions present in the
//!   projected document (a client validating extensions against `schemas` then agrees with it).
//! - A sub-attribute selects part of a complex attribute (`name.givenName`, `emails.value`,
//!   `urn:…:enterprise:2.0:User:manager.value`); a bare extension URN selects or excludes the
//!   whole extension. Names that match no attribute select nothing and exclude nothing.
//! - Stored keys the schemas do not define are not returned.

use serde_json::{Map, Value};

use crate::AttrPath;
use crate::schema::{Attribute, ResourceType, Returned, Schemas};

/// Projects a stored resource `doc` of type `rt` for a response. `attributes` and `excluded`
/// are the parsed query parameters (RFC 7644 says they are mutually exclusive; the caller
/// rejects requests with both, and if both arrive anyway `attributes` applies first).
pub fn project(
    schemas: &Schemas,
    rt: ResourceType,
    doc: &Value,
    attributes: &[AttrPath],
    excluded: &[AttrPath],
) -> Value {
    let Value::Object(src) = doc else {
        return doc.clone();
    };
    let chosen = Selection::new(schemas, rt, attributes);
    let dropped = Selection::new(schemas, rt, excluded);
    let mut out = Map::new();
    let mut listed = vec![Value::String(rt.core_schema().to_string())];
    for (key, value) in src {
        if key == "schemas" {
            continue;
        }
        if let Some(ext) = schemas
            .extensions(rt)
            .into_iter()
            .find(|s| s.id.eq_ignore_ascii_case(key))
        {
            let Value::Object(fields) = value else {
                continue;
            };
            let mut kept = Map::new();
            for (name, v) in fields {
                let Some(attr) = ext
                    .attributes
                    .iter()
                    .find(|a| a.name.eq_ignore_ascii_case(name))
                else {
                    continue;
                };
                if let Some(v) = project_attr(ext.id, attr, v, &chosen, &dropped) {
                    kept.insert(attr.name.to_string(), v);
                }
            }
            if !kept.is_empty() {
                listed.push(Value::String(ext.id.to_string()));
                out.insert(ext.id.to_string(), Value::Object(kept));
            }
            continue;
        }
        let Some(resolved) = schemas.resolve(rt, &AttrPath::new(key.as_str())) else {
            continue;
        };
        if schemas.is_extension(resolved.schema) {
            continue;
        }
        let attr = resolved.attribute;
        if let Some(v) = project_attr(resolved.schema, attr, value, &chosen, &dropped) {
            out.insert(attr.name.to_string(), v);
        }
    }
    out.insert("schemas".to_string(), Value::Array(listed));
    Value::Object(out)
}

/// One attribute's value in the response, or `None` to leave it out.
fn project_attr(
    schema: &str,
    attr: &Attribute,
    value: &Value,
    chosen: &Selection,
    dropped: &Selection,
) -> Option<Value> {
    match attr.returned {
        Returned::Never => return None,
        Returned::Always => return pick(attr, value, default_sub),
        Returned::Default | Returned::Request => {}
    }
    if !chosen.is_empty() {
        if chosen.whole(schema, attr.name) {
            return pick(attr, value, |sub| sub.returned != Returned::Never);
        }
        let subs = chosen.subs(schema, attr.name);
        if subs.is_empty() {
            return None;
        }
        return pick(attr, value, |sub| {
            sub.returned == Returned::Always
                || (sub.returned != Returned::Never && subs.contains(&sub.name))
        });
    }
    if attr.returned == Returned::Request || dropped.whole(schema, attr.name) {
        return None;
    }
    let subs = dropped.subs(schema, attr.name);
    pick(attr, value, |sub| {
        sub.returned == Returned::Always || (default_sub(sub) && !subs.contains(&sub.name))
    })
}

fn default_sub(sub: &Attribute) -> bool {
    matches!(sub.returned, Returned::Always | Returned::Default)
}

/// The value of `attr` keeping only the sub-attributes `keep` accepts (each element of a
/// multi-valued complex attribute alike); emptied values are dropped, and an attribute left
/// with nothing is `None`.
fn pick(attr: &Attribute, value: &Value, keep: impl Fn(&Attribute) -> bool) -> Option<Value> {
    if attr.sub_attributes.is_empty() {
        return Some(value.clone());
    }
    let one = |v: &Value| -> Option<Value> {
        let Value::Object(fields) = v else {
            return Some(v.clone());
        };
        let kept: Map<String, Value> = fields
            .iter()
            .filter_map(|(k, v)| {
                let sub = attr
                    .sub_attributes
                    .iter()
                    .find(|s| s.name.eq_ignore_ascii_case(k))?;
                keep(sub).then(|| (sub.name.to_string(), v.clone()))
            })
            .collect();
        (!kept.is_empty()).then_some(Value::Object(kept))
    };
    match value {
        Value::Array(items) => {
            let kept: Vec<Value> = items.iter().filter_map(one).collect();
            (!kept.is_empty()).then_some(Value::Array(kept))
        }
        other => one(other),
    }
}

/// Attribute paths from `attributes` or `excludedAttributes`, resolved to canonical names.
struct Selection {
    /// Whole schemas (a bare schema URN).
    schemas: Vec<&'static str>,
    /// `(schema, attribute, sub-attribute)`.
    attrs: Vec<(&'static str, &'static str, Option<&'static str>)>,
}

impl Selection {
    fn new(schemas: &Schemas, rt: ResourceType, paths: &[AttrPath]) -> Self {
        let mut sel = Selection {
            schemas: Vec::new(),
            attrs: Vec::new(),
        };
        let allowed = || std::iter::once(schemas.core(rt)).chain(schemas.extensions(rt));
        for path in paths {
            let urn = path.as_schema_urn();
            if let Some(schema) = allowed().find(|s| {
                urn.as_deref().is_some_and(|u| s.id.eq_ignore_ascii_case(u))
                    || (path.urn.is_none() && s.id.eq_ignore_ascii_case(&path.attr))
            }) {
                sel.schemas.push(schema.id);
                continue;
            }
            if let Some(r) = schemas.resolve(rt, path) {
                sel.attrs
                    .push((r.schema, r.attribute.name, r.sub_attribute.map(|s| s.name)));
            }
        }
        sel
    }

    fn is_empty(&self) -> bool {
        self.schemas.is_empty() && self.attrs.is_empty()
    }

    fn whole(&self, schema: &str, attr: &str) -> bool {
        self.schemas.contains(&schema)
            || self
                .attrs
                .iter()
                .any(|(s, a, sub)| *s == schema && *a == attr && sub.is_none())
    }

    fn subs(&self, schema: &str, attr: &str) -> Vec<&'static str> {
        self.attrs
            .iter()
            .filter(|(s, a, _)| *s == schema && *a == attr)
            .filter_map(|(_, _, sub)| *sub)
            .collect()
    }
}
