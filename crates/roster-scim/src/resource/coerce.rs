//! One value checked against its attribute definition (RFC 7643 §2.3, §2.4) and brought to the
//! form Roster stores: sub-attribute names in the schema's case, booleans for Entra's
//! `"True"`/`"False"` strings, `{"value": …}` for a bare value where a complex attribute with a
//! `value` sub-attribute is expected (Entra's manager), and nothing for null (RFC 7643 §2.5:
//! null, an empty array and an absent attribute are the same state).

use serde_json::{Map, Value};

use crate::schema::{AttrType, Attribute, Mutability};
use crate::{ScimError, ScimType};

/// How strictly the shape of a multi-valued attribute is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// POST and PUT bodies: a multi-valued attribute must be an array (RFC 7643 §2.4).
    Strict,
    /// PATCH values: one element where an array is expected is a one-element array, as
    /// several IdPs send `"value": {"value": "…"}` for a member or an email.
    Lenient,
}

/// Checks and normalises the value of `attr`. `Ok(None)` means the value leaves the attribute
/// unassigned: null, an empty array, or a complex value with no writable sub-attribute.
/// `label` names the attribute in errors (`emails[1].primary`).
pub(crate) fn coerce(
    attr: &Attribute,
    value: Value,
    label: &str,
    shape: Shape,
) -> Result<Option<Value>, ScimError> {
    if value.is_null() {
        return Ok(None);
    }
    if !attr.multi_valued {
        return coerce_one(attr, value, label);
    }
    let items = match value {
        Value::Array(items) => items,
        other if shape == Shape::Lenient => vec![other],
        other => {
            return Err(invalid(format!(
                "{label} is multi-valued: expected an array, got {}",
                kind(&other)
            )));
        }
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        if let Some(v) = coerce_one(attr, item, &format!("{label}[{i}]"))? {
            out.push(v);
        }
    }
    if out.iter().filter(|v| is_primary(v)).count() > 1 {
        // RFC 7643 §2.4: the primary value "true" MUST appear no more than once.
        return Err(invalid(format!(
            "{label}: at most one value can have \"primary\": true"
        )));
    }
    Ok((!out.is_empty()).then_some(Value::Array(out)))
}

/// Checks one value of `attr` (one element when `attr` is multi-valued).
pub(crate) fn coerce_one(
    attr: &Attribute,
    value: Value,
    label: &str,
) -> Result<Option<Value>, ScimError> {
    let value = match value {
        Value::Null => return Ok(None),
        // Older Entra payloads send the manager as `[{"$ref": …, "value": …}]`.
        Value::Array(items)
            if !attr.multi_valued && attr.attr_type == AttrType::Complex && items.len() <= 1 =>
        {
            return match items.into_iter().next() {
                Some(item) => coerce_one(attr, item, label),
                None => Ok(None),
            };
        }
        v => v,
    };
    let ok = |v: Value| Ok(Some(v));
    match (attr.attr_type, value) {
        (AttrType::String | AttrType::Reference, v @ Value::String(_)) => ok(v),
        (AttrType::Binary, Value::String(s)) if is_base64(&s) => ok(Value::String(s)),
        (AttrType::Boolean, v @ Value::Bool(_)) => ok(v),
        // Entra sends `"True"`/`"False"` unless the tenant URL carries `aadOptscim062020`.
        (AttrType::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("true") => {
            ok(Value::Bool(true))
        }
        (AttrType::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("false") => {
            ok(Value::Bool(false))
        }
        (AttrType::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => ok(Value::Number(n)),
        (AttrType::Decimal, v @ Value::Number(_)) => ok(v),
        (AttrType::DateTime, Value::String(s)) if is_datetime(&s) => ok(Value::String(s)),
        (AttrType::Complex, v) => complex(attr, v, label),
        (t, other) => Err(invalid(format!(
            "{label}: expected {}, got {}",
            expectation(t),
            kind(&other)
        ))),
    }
}

fn complex(attr: &Attribute, value: Value, label: &str) -> Result<Option<Value>, ScimError> {
    let fields = match value {
        Value::Object(fields) => fields,
        scalar @ (Value::String(_) | Value::Number(_) | Value::Bool(_))
            if find_sub(attr, "value").is_some() =>
        {
            Map::from_iter([("value".to_string(), scalar)])
        }
        other => {
            return Err(invalid(format!(
                "{label}: expected an object, got {}",
                kind(&other)
            )));
        }
    };
    let mut out = Map::new();
    for (key, v) in fields {
        // Unknown sub-attributes are dropped like unknown attributes; read-only ones are
        // ignored on input (RFC 7643 §7); write-only ones are not kept (see `password`).
        let Some(sub) = find_sub(attr, &key) else {
            continue;
        };
        if matches!(sub.mutability, Mutability::ReadOnly | Mutability::WriteOnly) {
            continue;
        }
        let sub_label = format!("{label}.{}", sub.name);
        if let Some(v) = coerce(sub, v, &sub_label, Shape::Strict)? {
            out.insert(sub.name.to_string(), v);
        }
    }
    Ok((!out.is_empty()).then_some(Value::Object(out)))
}

/// The sub-attribute of `attr` called `name`, ignoring case (RFC 7643 §2.1).
pub(crate) fn find_sub<'a>(attr: &'a Attribute, name: &str) -> Option<&'a Attribute> {
    attr.sub_attributes
        .iter()
        .find(|s| s.name.eq_ignore_ascii_case(name))
}

pub(crate) fn is_primary(element: &Value) -> bool {
    element.get("primary") == Some(&Value::Bool(true))
}

pub(crate) fn invalid(detail: String) -> ScimError {
    ScimError::bad(ScimType::InvalidValue, detail)
}

/// What a JSON value is, for error messages (values themselves are not echoed: they may be
/// personal data or long).
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn expectation(t: AttrType) -> &'static str {
    match t {
        AttrType::String => "a string",
        AttrType::Reference => "a URI string",
        AttrType::Binary => "a base64 string",
        AttrType::Boolean => "a boolean (true or false)",
        AttrType::Integer => "an integer",
        AttrType::Decimal => "a number",
        AttrType::DateTime => "an RFC 3339 date-time such as \"2026-01-05T09:00:00Z\"",
        AttrType::Complex => "an object",
    }
}

fn is_base64(s: &str) -> bool {
    // Standard and URL-safe alphabets, with the line breaks PEM-style encoders insert.
    s.bytes()
        .all(|c| c.is_ascii_alphanumeric() || b"+/=-_\r\n ".contains(&c))
}

/// `xsd:dateTime` as RFC 7643 §2.3.5 asks: `YYYY-MM-DDThh:mm:ss[.fff][Z|±hh:mm]`, with the
/// calendar checked (no 31 April) and the zone optional as XML Schema allows.
pub fn is_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 19 {
        return false;
    }
    let digits = |from: usize, to: usize| b[from..to].iter().all(u8::is_ascii_digit);
    let shape = digits(0, 4)
        && b[4] == b'-'
        && digits(5, 7)
        && b[7] == b'-'
        && digits(8, 10)
        && matches!(b[10], b'T' | b't')
        && digits(11, 13)
        && b[13] == b':'
        && digits(14, 16)
        && b[16] == b':'
        && digits(17, 19);
    if !shape {
        return false;
    }
    let num = |from: usize, to: usize| {
        b[from..to]
            .iter()
            .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'))
    };
    let (year, month, day) = (num(0, 4), num(5, 7), num(8, 10));
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    if day == 0 || day > days || num(11, 13) > 23 || num(14, 16) > 59 || num(17, 19) > 60 {
        return false;
    }
    let mut rest = &b[19..];
    if rest.first() == Some(&b'.') {
        let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return false;
        }
        rest = &rest[1 + n..];
    }
    match rest {
        [] | [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => {
            [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit())
                && (h1 - b'0') * 10 + (h2 - b'0') <= 23
                && (m1 - b'0') * 10 + (m2 - b'0') <= 59
        }
        _ => false,
    }
}
