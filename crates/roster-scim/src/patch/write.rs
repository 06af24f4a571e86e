//! The attribute-level writes and removals of the PATCH engine, on one resource document.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::Target;
use crate::filter::eval::matches_element;
use crate::resource::{
    Shape, coerce, coerce_one, container, container_mut, find_sub, immutable, invalid, is_primary,
    object_slot,
};
use crate::schema::{AttrType, Attribute, Mutability, Schemas};
use crate::{CompValue, CompareOp, Filter, ScimError, ScimType};

/// The stored value a filter-less target points at (`displayName`, `name.givenName`).
pub(super) fn current<'d>(
    schemas: &Schemas,
    doc: &'d Map<String, Value>,
    target: &Target<'_>,
) -> Option<&'d Value> {
    let value = container(doc, schemas, target.schema)?.get(target.attr.name)?;
    match target.sub {
        Some(sub) if target.filter.is_none() => value.get(sub.name),
        _ => Some(value),
    }
}

/// `add` (`is_add`) or `replace` of a non-null `value` at `target`.
pub(super) fn write(
    schemas: &Schemas,
    doc: &mut Map<String, Value>,
    is_add: bool,
    target: &Target<'_>,
    value: Value,
) -> Result<(), ScimError> {
    let container = container_mut(doc, schemas, target.schema);
    match (&target.filter, target.sub) {
        (Some(filter), sub) => write_filtered(container, target, filter, sub, value),
        (None, Some(sub)) if target.attr.multi_valued => {
            write_sub_all(container, target, sub, value)
        }
        (None, Some(sub)) => write_sub(container, target, sub, value),
        (None, None) if target.attr.multi_valued => write_multi(container, is_add, target, value),
        (None, None) => write_single(container, target, value),
    }
}

/// `displayName`, `active`, `name`, `manager`: a simple value is set, a complex one merged.
fn write_single(
    container: &mut Map<String, Value>,
    target: &Target<'_>,
    value: Value,
) -> Result<(), ScimError> {
    let attr = target.attr;
    match coerce(attr, value, &target.label, Shape::Lenient)? {
        // A complex value with nothing writable in it (only `manager.displayName`, say).
        None => Ok(()),
        Some(Value::Object(fields)) => {
            let slot = object_slot(container, attr.name);
            merge(slot, attr, fields, &target.label)
        }
        Some(v) => {
            if attr.mutability == Mutability::Immutable {
                check_immutable(container.get(attr.name), &v, &target.label)?;
            }
            container.insert(attr.name.to_string(), v);
            Ok(())
        }
    }
}

/// `emails`, `members` without a filter: `add` appends the values not already present,
/// `replace` replaces them all.
fn write_multi(
    container: &mut Map<String, Value>,
    is_add: bool,
    target: &Target<'_>,
    value: Value,
) -> Result<(), ScimError> {
    let attr = target.attr;
    let items = match coerce(attr, value, &target.label, Shape::Lenient)? {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    };
    if !is_add {
        if items.is_empty() {
            container.remove(attr.name);
        } else {
            container.insert(attr.name.to_string(), Value::Array(items));
        }
        return Ok(());
    }
    if items.is_empty() {
        return Ok(());
    }
    let list = array_slot(container, attr.name);
    let start = list.len();
    match identity(attr) {
        Some(key) => {
            let mut seen: HashSet<String> = list
                .iter()
                .filter_map(|e| e.get(key).and_then(Value::as_str).map(str::to_string))
                .collect();
            for item in items {
                match item.get(key).and_then(Value::as_str) {
                    Some(id) => {
                        if seen.insert(id.to_string()) {
                            list.push(item);
                        }
                    }
                    None => {
                        if !list.contains(&item) {
                            list.push(item);
                        }
                    }
                }
            }
        }
        None => {
            for item in items {
                if !list.contains(&item) {
                    list.push(item);
                }
            }
        }
    }
    let written: Vec<usize> = (start..list.len()).collect();
    settle_primary(list, &written, &target.label)
}

/// `name.givenName`, `manager.value`: one sub-attribute of a single-valued complex attribute.
fn write_sub(
    container: &mut Map<String, Value>,
    target: &Target<'_>,
    sub: &Attribute,
    value: Value,
) -> Result<(), ScimError> {
    let Some(v) = coerce(sub, value, &target.label, Shape::Lenient)? else {
        return Ok(());
    };
    let slot = object_slot(container, target.attr.name);
    if sub.mutability == Mutability::Immutable {
        check_immutable(slot.get(sub.name), &v, &target.label)?;
    }
    slot.insert(sub.name.to_string(), v);
    Ok(())
}

/// `emails.type` without a filter: the sub-attribute of every value (a new value when there is
/// none).
fn write_sub_all(
    container: &mut Map<String, Value>,
    target: &Target<'_>,
    sub: &Attribute,
    value: Value,
) -> Result<(), ScimError> {
    let Some(v) = coerce(sub, value, &target.label, Shape::Lenient)? else {
        return Ok(());
    };
    let list = array_slot(container, target.attr.name);
    if list.is_empty() {
        list.push(Value::Object(Map::from_iter([(sub.name.to_string(), v)])));
        return Ok(());
    }
    if sub.name == "primary" && v == Value::Bool(true) && list.len() > 1 {
        return Err(invalid(format!(
            "{}: only one value can be primary; select one with a filter",
            target.label
        )));
    }
    for element in list.iter_mut() {
        let Value::Object(fields) = element else {
            continue;
        };
        if sub.mutability == Mutability::Immutable {
            check_immutable(fields.get(sub.name), &v, &target.label)?;
        }
        fields.insert(sub.name.to_string(), v.clone());
    }
    Ok(())
}

/// `emails[type eq "work"]` and `emails[type eq "work"].value`: every matching value gets the
/// sub-attribute (or the sub-attributes of the value object) set. No match creates the value
/// the filter describes when it can (Entra's attribute mappings rely on it), else `noTarget`.
fn write_filtered(
    container: &mut Map<String, Value>,
    target: &Target<'_>,
    filter: &Filter,
    sub: Option<&Attribute>,
    value: Value,
) -> Result<(), ScimError> {
    let attr = target.attr;
    let fields: Map<String, Value> = match sub {
        Some(sub) => match coerce(sub, value, &target.label, Shape::Lenient)? {
            Some(v) => Map::from_iter([(sub.name.to_string(), v)]),
            None => return Ok(()),
        },
        None => {
            // One value is expected; a one-element array is taken as that value.
            let value = match value {
                Value::Array(mut items) if items.len() == 1 => items.remove(0),
                v => v,
            };
            match coerce_one(attr, value, &target.label)? {
                Some(Value::Object(fields)) => fields,
                _ => return Ok(()),
            }
        }
    };
    let list = array_slot(container, attr.name);
    let matched: Vec<usize> = matching(list, filter, attr);
    if matched.is_empty() {
        let mut seed = Map::new();
        if !describe(filter, attr, &mut seed) {
            list_cleanup(container, attr.name);
            return Err(no_match(target));
        }
        seed.extend(fields);
        let element = Value::Object(seed);
        if !matches_element(filter, &element, &attr.sub_attributes) {
            list_cleanup(container, attr.name);
            return Err(invalid(format!(
                "{}: the value contradicts the filter, so it cannot be added",
                target.label
            )));
        }
        let list = array_slot(container, attr.name);
        list.push(element);
        let last = list.len() - 1;
        return settle_primary(list, &[last], &target.label);
    }
    for &i in &matched {
        if let Value::Object(element) = &mut list[i] {
            merge(element, attr, fields.clone(), &target.label)?;
        }
    }
    settle_primary(list, &matched, &target.label)
}

/// `remove`, or `replace` with null, at `target`. `value` is Entra's member removal form:
/// `{"op": "Remove", "path": "members", "value": [{"value": "<id>"}]}` removes the listed
/// values only (a listed value that is absent is not an error: nothing is left to remove).
pub(super) fn remove(
    schemas: &Schemas,
    doc: &mut Map<String, Value>,
    target: &Target<'_>,
    value: Option<Value>,
) -> Result<(), ScimError> {
    let attr = target.attr;
    let container = container_mut(doc, schemas, target.schema);
    match (&target.filter, target.sub) {
        (None, None) => match value {
            Some(v) if attr.multi_valued && !v.is_null() => remove_listed(container, target, v),
            _ => {
                if attr.mutability == Mutability::Immutable && container.contains_key(attr.name) {
                    return Err(immutable(&target.label));
                }
                container.remove(attr.name);
                Ok(())
            }
        },
        (None, Some(sub)) => {
            let elements: Vec<&mut Value> = match container.get_mut(attr.name) {
                Some(Value::Array(list)) => list.iter_mut().collect(),
                Some(v @ Value::Object(_)) => vec![v],
                _ => Vec::new(),
            };
            for element in elements {
                remove_sub(element, sub, &target.label)?;
            }
            list_cleanup(container, attr.name);
            Ok(())
        }
        (Some(filter), sub) => {
            let list = array_slot(container, attr.name);
            let matched = matching(list, filter, attr);
            if matched.is_empty() {
                list_cleanup(container, attr.name);
                return Err(no_match(target));
            }
            match sub {
                None => {
                    let matched: HashSet<usize> = matched.into_iter().collect();
                    let mut i = 0;
                    list.retain(|_| {
                        i += 1;
                        !matched.contains(&(i - 1))
                    });
                }
                Some(sub) => {
                    for &i in &matched {
                        remove_sub(&mut list[i], sub, &target.label)?;
                    }
                }
            }
            list_cleanup(container, attr.name);
            Ok(())
        }
    }
}

/// Entra's value-list removal: each listed object selects the stored values whose listed
/// sub-attributes are all equal (strings compared as the sub-attribute's `caseExact` says).
fn remove_listed(
    container: &mut Map<String, Value>,
    target: &Target<'_>,
    value: Value,
) -> Result<(), ScimError> {
    let attr = target.attr;
    let entries = match value {
        Value::Array(items) => items,
        other => vec![other],
    };
    let mut selectors = Vec::with_capacity(entries.len());
    for (i, entry) in entries.into_iter().enumerate() {
        let label = format!("{}[{i}]", target.label);
        if let Some(selector) = coerce_one(attr, entry, &label)? {
            selectors.push(selector);
        }
    }
    let Some(Value::Array(list)) = container.get_mut(attr.name) else {
        return Ok(());
    };
    // The common case, many `{"value": id}`, is one set lookup per stored value.
    let ids: Option<HashSet<String>> = selectors
        .iter()
        .map(|s| match s {
            Value::Object(f) if f.len() == 1 => f
                .get("value")
                .and_then(Value::as_str)
                .map(|v| fold(attr, "value", v)),
            Value::String(v) if attr.sub_attributes.is_empty() => Some(fold(attr, "value", v)),
            _ => None,
        })
        .collect();
    match ids {
        Some(ids) => list.retain(|e| {
            let id = match e {
                Value::Object(f) => f.get("value").and_then(Value::as_str),
                other => other.as_str(),
            };
            !id.is_some_and(|id| ids.contains(&fold(attr, "value", id)))
        }),
        None => list.retain(|e| !selectors.iter().any(|s| selects(attr, s, e))),
    }
    list_cleanup(container, attr.name);
    Ok(())
}

fn selects(attr: &Attribute, selector: &Value, element: &Value) -> bool {
    match (selector, element) {
        (Value::Object(sel), Value::Object(el)) => sel.iter().all(|(k, v)| match (v, el.get(k)) {
            (Value::String(a), Some(Value::String(b))) => fold(attr, k, a) == fold(attr, k, b),
            (v, stored) => stored == Some(v),
        }),
        (a, b) => a == b,
    }
}

/// A string as compared for sub-attribute `sub` of `attr`: lowercased unless `caseExact`.
fn fold(attr: &Attribute, sub: &str, s: &str) -> String {
    let exact = find_sub(attr, sub).map_or(attr.case_exact, |a| a.case_exact);
    if exact {
        s.to_string()
    } else {
        s.to_lowercase()
    }
}

fn remove_sub(element: &mut Value, sub: &Attribute, label: &str) -> Result<(), ScimError> {
    if let Value::Object(fields) = element {
        if sub.mutability == Mutability::Immutable && fields.contains_key(sub.name) {
            return Err(immutable(label));
        }
        fields.remove(sub.name);
    }
    Ok(())
}

/// Sets the sub-attributes `fields` (already checked) on a complex value; an immutable
/// sub-attribute that has a value must keep it.
fn merge(
    element: &mut Map<String, Value>,
    attr: &Attribute,
    fields: Map<String, Value>,
    label: &str,
) -> Result<(), ScimError> {
    for (key, v) in fields {
        if find_sub(attr, &key).is_some_and(|s| s.mutability == Mutability::Immutable) {
            check_immutable(element.get(&key), &v, &format!("{label}.{key}"))?;
        }
        element.insert(key, v);
    }
    Ok(())
}

fn check_immutable(old: Option<&Value>, new: &Value, label: &str) -> Result<(), ScimError> {
    match old {
        Some(old) if !old.is_null() && old != new => Err(immutable(label)),
        _ => Ok(()),
    }
}

/// The indexes of the values of a multi-valued complex attribute that match `filter`.
fn matching(list: &[Value], filter: &Filter, attr: &Attribute) -> Vec<usize> {
    list.iter()
        .enumerate()
        .filter(|(_, e)| matches_element(filter, e, &attr.sub_attributes))
        .map(|(i, _)| i)
        .collect()
}

/// The sub-attribute values a filter of `eq` comparisons joined by `and` describes
/// (`type eq "work"` → `{"type": "work"}`); false for any other filter.
fn describe(filter: &Filter, attr: &Attribute, out: &mut Map<String, Value>) -> bool {
    match filter {
        Filter::And(a, b) => describe(a, attr, out) && describe(b, attr, out),
        Filter::Compare(path, CompareOp::Eq, value)
            if path.urn.is_none() && path.sub_attr.is_none() =>
        {
            let Some(sub) = find_sub(attr, &path.attr) else {
                return false;
            };
            if sub.mutability == Mutability::ReadOnly || sub.attr_type == AttrType::Complex {
                return false;
            }
            let json = match value {
                CompValue::Null => return false,
                CompValue::Bool(b) => Value::Bool(*b),
                CompValue::Number(n) => Value::Number(n.clone()),
                CompValue::String(s) => Value::String(s.clone()),
            };
            match coerce_one(sub, json, sub.name) {
                Ok(Some(v)) => {
                    out.insert(sub.name.to_string(), v);
                    true
                }
                _ => false,
            }
        }
        _ => false,
    }
}

/// The identity of a value of `attr`, when it has one: an immutable `value` sub-attribute
/// (group members), so that adding a member twice, with or without `display`, adds it once.
fn identity(attr: &Attribute) -> Option<&'static str> {
    find_sub(attr, "value")
        .filter(|s| s.mutability == Mutability::Immutable)
        .map(|s| s.name)
}

/// After values `written` were added or changed: if one of them is now primary, the others
/// are not (RFC 7643 §2.4); two of them cannot both be.
fn settle_primary(list: &mut [Value], written: &[usize], label: &str) -> Result<(), ScimError> {
    let marked: Vec<usize> = written
        .iter()
        .copied()
        .filter(|&i| is_primary(&list[i]))
        .collect();
    match marked.as_slice() {
        [] => Ok(()),
        [keep] => {
            for (i, element) in list.iter_mut().enumerate() {
                if i != *keep && is_primary(element) {
                    element["primary"] = Value::Bool(false);
                }
            }
            Ok(())
        }
        _ => Err(invalid(format!(
            "{label}: this would mark several values primary; at most one can be"
        ))),
    }
}

fn no_match(target: &Target<'_>) -> ScimError {
    ScimError::bad(
        ScimType::NoTarget,
        format!(
            "{}: no value of {} matches the filter",
            target.label, target.attr.name
        ),
    )
}

/// The array under `key`, created empty (and replacing a non-array) when needed; callers that
/// may leave it empty call [`list_cleanup`].
fn array_slot<'c>(container: &'c mut Map<String, Value>, key: &str) -> &'c mut Vec<Value> {
    let slot = container
        .entry(key.to_string())
        .or_insert_with(|| Value::Array(Vec::new()));
    if !slot.is_array() {
        *slot = Value::Array(Vec::new());
    }
    match slot {
        Value::Array(list) => list,
        _ => unreachable!("the slot was just made an array"),
    }
}

/// Drops emptied values and an emptied attribute: RFC 7643 §2.5 makes an empty array or
/// object the same as unassigned, and stored documents keep one form of it.
fn list_cleanup(container: &mut Map<String, Value>, key: &str) {
    let empty = match container.get_mut(key) {
        Some(Value::Array(list)) => {
            list.retain(|e| !e.is_null() && e.as_object().is_none_or(|f| !f.is_empty()));
            list.is_empty()
        }
        Some(Value::Object(fields)) => fields.is_empty(),
        Some(Value::Null) => true,
        _ => false,
    };
    if empty {
        container.remove(key);
    }
}
