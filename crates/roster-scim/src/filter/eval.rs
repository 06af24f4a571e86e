//! In-memory filter evaluation (RFC 7644 §3.4.2.2) against resource documents in wire form.
//! The PATCH engine uses it for value-filtered paths (`emails[type eq "work"].value`); tests
//! use it as the reference the SQL translation is checked against, so the rules below are the
//! contract both sides keep:
//!
//! - A multi-valued attribute matches when any of its values matches.
//! - Absent, `null`, `""`-free rules: an attribute with no non-null value is "absent". Absent
//!   matches `eq null` and `ne <anything but null>` (RFC 7643 §2.5: unassigned and null are the
//!   same state, and null is not identical to any value); every other operator fails on it.
//! - `pr` needs a non-null value that is not an empty string, array or object (an object
//!   counts when one of its members does).
//! - Comparing a complex attribute without a sub-attribute compares its `value` sub-attribute
//!   (RFC 7644 §3.4.2.2's example `emails co "example.com"`).
//! - The attribute's type decides the comparison: strings (and references, binaries and
//!   unknown attributes) as strings, lowercased on both sides unless `caseExact`; dateTimes as
//!   instants when both sides parse as RFC 3339, else as strings; integers and decimals
//!   numerically; booleans only with `eq`/`ne`. `gt`/`ge`/`lt`/`le` on booleans and binaries,
//!   and `co`/`sw`/`ew` on numbers and booleans, match nothing ([`validate`] rejects the
//!   former with 400 as the RFC asks). Booleans and numbers also accept their string forms
//!   (`"True"`, `"42"`), which some clients send.
//! - Attribute names and schema URNs match JSON keys case-insensitively; attributes the
//!   schema does not know are still looked up and compared as case-insensitive strings.

use std::cmp::Ordering;

use serde_json::Value;

use super::ast::{AttrPath, CompValue, CompareOp, Filter};
use crate::schema::{AttrType, Attribute, GROUP, Resolved, USER};
use crate::{ScimError, ScimType};

/// Does one element of a multi-valued complex attribute match the filter written inside
/// `[…]`? Paths in `filter` name sub-attributes; `sub_attributes` gives their definitions.
pub fn matches_element(filter: &Filter, element: &Value, sub_attributes: &[Attribute]) -> bool {
    eval(filter, &|path| {
        locate_in_element(element, path, sub_attributes)
    })
}

/// Does the resource document match the filter? `resolve` maps a path to its schema
/// definition (normally `Schemas::resolve` for the resource type); it decides where the
/// attribute lives (extension attributes under the extension URN key) and how it compares.
pub fn matches_resource<'s>(
    filter: &Filter,
    resource: &Value,
    resolve: &dyn Fn(&AttrPath) -> Option<Resolved<'s>>,
) -> bool {
    eval(filter, &|path| locate_in_resource(resource, path, resolve))
}

/// Rejects what RFC 7644 §3.4.2.2 says SHALL fail with 400 `invalidFilter`: `gt`, `ge`, `lt`
/// or `le` on a boolean or binary attribute. Unknown attributes are left to the caller.
pub fn validate<'s>(
    filter: &Filter,
    resolve: &dyn Fn(&AttrPath) -> Option<Resolved<'s>>,
) -> Result<(), ScimError> {
    check_ordering(filter, Scope::Resource(resolve))
}

#[derive(Clone, Copy)]
enum Scope<'r, 's> {
    Resource(&'r dyn Fn(&AttrPath) -> Option<Resolved<'s>>),
    /// Inside `attr[…]`: the sub-attributes of `attr`.
    Element(&'r [Attribute]),
}

fn check_ordering(filter: &Filter, scope: Scope<'_, '_>) -> Result<(), ScimError> {
    match filter {
        Filter::Present(_) => Ok(()),
        Filter::Compare(path, op, _) => {
            let attr_type = match scope {
                Scope::Resource(resolve) => resolve(path).map(|r| r.leaf().attr_type),
                Scope::Element(subs) => find(subs, &path.attr).map(|a| a.attr_type),
            };
            let ordering = matches!(
                op,
                CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
            );
            let kind = match attr_type {
                Some(AttrType::Boolean) => "boolean",
                Some(AttrType::Binary) => "binary",
                _ => return Ok(()),
            };
            if ordering {
                return Err(ScimError::bad(
                    ScimType::InvalidFilter,
                    format!(
                        "\"{op}\" cannot compare {path}: it is a {kind} attribute (use eq or ne)"
                    ),
                ));
            }
            Ok(())
        }
        Filter::And(a, b) | Filter::Or(a, b) => {
            check_ordering(a, scope)?;
            check_ordering(b, scope)
        }
        Filter::Not(inner) => check_ordering(inner, scope),
        Filter::ValuePath { attr, filter } => match scope {
            Scope::Resource(resolve) => {
                let subs = resolve(attr).map(|r| r.attribute.sub_attributes.as_slice());
                check_ordering(filter, Scope::Element(subs.unwrap_or(&[])))
            }
            Scope::Element(subs) => {
                let inner = find(subs, &attr.attr).map(|a| a.sub_attributes.as_slice());
                check_ordering(filter, Scope::Element(inner.unwrap_or(&[])))
            }
        },
    }
}

/// Where a path points in one document: the attribute's JSON value and its definition.
struct Located<'a> {
    value: Option<&'a Value>,
    attribute: Option<&'a Attribute>,
}

fn locate_in_element<'a>(
    element: &'a Value,
    path: &AttrPath,
    subs: &'a [Attribute],
) -> Located<'a> {
    let value = match element {
        Value::Object(_) => get_ci(element, &path.attr),
        // A simple multi-valued attribute's elements are bare values; `value` names them.
        _ if path.attr.eq_ignore_ascii_case("value") => Some(element),
        _ => None,
    };
    Located {
        value,
        attribute: find(subs, &path.attr),
    }
}

fn locate_in_resource<'a, 's: 'a>(
    resource: &'a Value,
    path: &AttrPath,
    resolve: &dyn Fn(&AttrPath) -> Option<Resolved<'s>>,
) -> Located<'a> {
    let resolved = resolve(path);
    let schema = match &resolved {
        Some(r) => Some(r.schema),
        None => path.urn.as_deref(),
    };
    let container = match schema {
        Some(urn) if !urn.eq_ignore_ascii_case(USER) && !urn.eq_ignore_ascii_case(GROUP) => {
            get_ci(resource, urn)
        }
        _ => Some(resource),
    };
    Located {
        value: container.and_then(|c| get_ci(c, &path.attr)),
        attribute: resolved.map(|r| r.attribute),
    }
}

fn eval<'a>(filter: &'a Filter, locate: &dyn Fn(&'a AttrPath) -> Located<'a>) -> bool {
    match filter {
        Filter::Present(path) => {
            let (values, _) = leaves(locate(path), path, false);
            values.into_iter().any(non_empty)
        }
        Filter::Compare(path, op, comp) => {
            let (values, def) = leaves(locate(path), path, true);
            if values.is_empty() {
                return match op {
                    CompareOp::Eq => *comp == CompValue::Null,
                    CompareOp::Ne => *comp != CompValue::Null,
                    _ => false,
                };
            }
            if *comp == CompValue::Null {
                return *op == CompareOp::Ne;
            }
            values.into_iter().any(|v| compare(v, *op, comp, def))
        }
        Filter::And(a, b) => eval(a, locate) && eval(b, locate),
        Filter::Or(a, b) => eval(a, locate) || eval(b, locate),
        Filter::Not(inner) => !eval(inner, locate),
        Filter::ValuePath { attr, filter } => {
            let located = locate(attr);
            let subs = located
                .attribute
                .map(|a| a.sub_attributes.as_slice())
                .unwrap_or(&[]);
            let (elements, _) = leaves(located, attr, false);
            elements
                .into_iter()
                .any(|e| matches_element(filter, e, subs))
        }
    }
}

/// The non-null values a path reaches (arrays flattened, the sub-attribute followed into
/// every element) and the definition of what they are. With `compare`, a complex attribute
/// named without a sub-attribute stands for its `value` sub-attribute.
fn leaves<'a>(
    loc: Located<'a>,
    path: &AttrPath,
    compare: bool,
) -> (Vec<&'a Value>, Option<&'a Attribute>) {
    let mut values: Vec<&Value> = flatten(loc.value);
    let mut def = loc.attribute;
    let step = match &path.sub_attr {
        Some(sub) => Some(sub.as_str()),
        None => {
            let complex = match def {
                Some(d) => d.attr_type == AttrType::Complex,
                None => values.iter().any(|v| v.is_object()),
            };
            (compare && complex).then_some("value")
        }
    };
    if let Some(sub) = step {
        values = values
            .into_iter()
            .flat_map(|v| flatten(get_ci(v, sub)))
            .collect();
        def = def.and_then(|d| find(&d.sub_attributes, sub));
    }
    (values, def)
}

fn flatten(value: Option<&Value>) -> Vec<&Value> {
    match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().filter(|v| !v.is_null()).collect(),
        Some(v) => vec![v],
    }
}

fn non_empty(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => items.iter().any(non_empty),
        Value::Object(members) => members.values().any(non_empty),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

fn get_ci<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    let object = value.as_object()?;
    object.get(key).or_else(|| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

fn find<'a>(attributes: &'a [Attribute], name: &str) -> Option<&'a Attribute> {
    attributes
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case(name))
}

/// One non-null attribute value against a non-null operand.
fn compare(value: &Value, op: CompareOp, comp: &CompValue, def: Option<&Attribute>) -> bool {
    let attr_type = match def.map(|d| d.attr_type) {
        Some(AttrType::Complex) | None => match value {
            Value::Bool(_) => AttrType::Boolean,
            Value::Number(_) => AttrType::Decimal,
            Value::String(_) => AttrType::String,
            _ => return false,
        },
        Some(t) => t,
    };
    match attr_type {
        AttrType::Boolean => match (as_bool(value), comp_bool(comp)) {
            (Some(a), Some(b)) => apply_eq(op, a == b),
            _ => apply_eq(op, false),
        },
        AttrType::Integer | AttrType::Decimal => match (as_number(value), comp_number(comp)) {
            (Some(a), Some(b)) => apply_ord(op, a.compare(&b)),
            _ => apply_eq(op, false),
        },
        AttrType::String
        | AttrType::Reference
        | AttrType::DateTime
        | AttrType::Binary
        | AttrType::Complex => {
            let (Some(text), Some(operand)) = (as_text(value), comp_text(comp)) else {
                return apply_eq(op, false);
            };
            let case_exact = def.is_some_and(|d| d.case_exact) || attr_type == AttrType::Binary;
            if attr_type == AttrType::DateTime
                && !matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew)
                && let (Ok(a), Ok(b)) = (
                    text.parse::<jiff::Timestamp>(),
                    operand.parse::<jiff::Timestamp>(),
                )
            {
                return apply_ord(op, Some(a.cmp(&b)));
            }
            let (text, operand) = if case_exact {
                (text, operand)
            } else {
                (text.to_lowercase(), operand.to_lowercase())
            };
            match op {
                CompareOp::Co => text.contains(&operand),
                CompareOp::Sw => text.starts_with(&operand),
                CompareOp::Ew => text.ends_with(&operand),
                CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
                    if attr_type == AttrType::Binary =>
                {
                    false
                }
                _ => apply_ord(op, Some(text.cmp(&operand))),
            }
        }
    }
}

/// `eq`/`ne` from whether the two sides are identical; every other operator fails.
fn apply_eq(op: CompareOp, identical: bool) -> bool {
    match op {
        CompareOp::Eq => identical,
        CompareOp::Ne => !identical,
        _ => false,
    }
}

/// An ordering operator from the comparison of value to operand; substring operators fail
/// (callers that support them handle them first). `None` (NaN) is "not identical".
fn apply_ord(op: CompareOp, ordering: Option<Ordering>) -> bool {
    let Some(ord) = ordering else {
        return apply_eq(op, false);
    };
    match op {
        CompareOp::Eq => ord == Ordering::Equal,
        CompareOp::Ne => ord != Ordering::Equal,
        CompareOp::Gt => ord == Ordering::Greater,
        CompareOp::Ge => ord != Ordering::Less,
        CompareOp::Lt => ord == Ordering::Less,
        CompareOp::Le => ord != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

fn as_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) => parse_bool(s),
        _ => None,
    }
}

fn comp_bool(comp: &CompValue) -> Option<bool> {
    match comp {
        CompValue::Bool(b) => Some(*b),
        CompValue::String(s) => parse_bool(s),
        _ => None,
    }
}

/// A number compared exactly when both sides are integers, as `f64` otherwise.
enum Num {
    Int(i128),
    Float(f64),
}

impl Num {
    fn from_json(n: &serde_json::Number) -> Option<Num> {
        if let Some(i) = n.as_i64() {
            Some(Num::Int(i.into()))
        } else if let Some(u) = n.as_u64() {
            Some(Num::Int(u.into()))
        } else {
            n.as_f64().map(Num::Float)
        }
    }

    fn from_str(s: &str) -> Option<Num> {
        Num::from_json(&serde_json::from_str::<serde_json::Number>(s.trim()).ok()?)
    }

    fn as_f64(&self) -> f64 {
        match self {
            // i128 → f64 rounds only beyond 2^53, where f64 operands are already rounded.
            Num::Int(i) => *i as f64,
            Num::Float(f) => *f,
        }
    }

    fn compare(&self, other: &Num) -> Option<Ordering> {
        match (self, other) {
            (Num::Int(a), Num::Int(b)) => Some(a.cmp(b)),
            _ => self.as_f64().partial_cmp(&other.as_f64()),
        }
    }
}

fn as_number(value: &Value) -> Option<Num> {
    match value {
        Value::Number(n) => Num::from_json(n),
        Value::String(s) => Num::from_str(s),
        _ => None,
    }
}

fn comp_number(comp: &CompValue) -> Option<Num> {
    match comp {
        CompValue::Number(n) => Num::from_json(n),
        CompValue::String(s) => Num::from_str(s),
        _ => None,
    }
}

/// A value's text for string comparison; numbers and booleans by their JSON form, so that
/// `employeeNumber eq 42` finds `"42"`.
fn as_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn comp_text(comp: &CompValue) -> Option<String> {
    match comp {
        CompValue::String(s) => Some(s.clone()),
        CompValue::Number(n) => Some(n.to_string()),
        CompValue::Bool(b) => Some(b.to_string()),
        CompValue::Null => None,
    }
}
