//! One value against one operand: the SQL for each comparison, per attribute kind and dialect.

use roster_scim::{AttrPath, CompValue, CompareOp};

use super::filter::{Kind, invalid};
use super::{Dialect, Sql, SqlParam, glob_pattern, like_pattern};
use crate::ScimWriteError;

type R = Result<(), ScimWriteError>;

/// What one value must satisfy.
#[derive(Debug, Clone)]
pub(super) enum Pred {
    /// `pr`: not null and not empty (strings, arrays, objects).
    Present,
    /// Known without looking at the value.
    Const(bool),
    Text {
        op: CompareOp,
        case_exact: bool,
        lowered: bool,
        operand: String,
    },
    /// A dateTime operand that is an instant: values that are instants compare as instants,
    /// others as text.
    Instant {
        op: CompareOp,
        case_exact: bool,
        operand: String,
        normalised: String,
    },
    Number {
        op: CompareOp,
        operand: Num,
    },
    Boolean {
        op: CompareOp,
        operand: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Num {
    Int(i64),
    Float(f64),
}

impl Pred {
    /// The predicate for a non-null operand (`eq`/`ne` keep their own operator: the caller
    /// adds the absent case of `ne`).
    pub fn new(kind: Kind, op: CompareOp, value: &CompValue) -> Pred {
        let substring = matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew);
        // Operand type does not fit the attribute: nothing is identical to it.
        let mismatch = Pred::Const(op == CompareOp::Ne);
        match kind {
            Kind::Boolean => {
                let operand = match value {
                    CompValue::Bool(b) => Some(*b),
                    CompValue::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
                    CompValue::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
                    _ => None,
                };
                match operand {
                    Some(operand) if !substring => Pred::Boolean { op, operand },
                    Some(_) => Pred::Const(false),
                    None => mismatch,
                }
            }
            Kind::Number => {
                let number = match value {
                    CompValue::Number(n) => Some(n.clone()),
                    CompValue::String(s) => s.trim().parse::<serde_json::Number>().ok(),
                    _ => None,
                };
                let operand = number.and_then(|n| match n.as_i64() {
                    Some(i) => Some(Num::Int(i)),
                    None => n.as_f64().map(Num::Float),
                });
                match operand {
                    Some(operand) if !substring => Pred::Number { op, operand },
                    Some(_) => Pred::Const(false),
                    None => mismatch,
                }
            }
            Kind::Text { .. } | Kind::DateTime { .. } | Kind::Binary => {
                let operand = match value {
                    CompValue::String(s) => s.clone(),
                    CompValue::Number(n) => n.to_string(),
                    CompValue::Bool(b) => b.to_string(),
                    CompValue::Null => return Pred::Const(false),
                };
                let (case_exact, lowered) = match kind {
                    Kind::Text {
                        case_exact,
                        lowered,
                    } => (case_exact, lowered),
                    Kind::DateTime { case_exact } => (case_exact, false),
                    _ => (true, false),
                };
                if let Kind::DateTime { .. } = kind
                    && !substring
                    && let Ok(instant) = operand.parse::<jiff::Timestamp>()
                {
                    return Pred::Instant {
                        op,
                        case_exact,
                        normalised: instant.to_string(),
                        operand,
                    };
                }
                Pred::Text {
                    op,
                    case_exact,
                    lowered,
                    operand,
                }
            }
        }
    }

    /// The predicate evaluated on a constant value.
    pub fn on_constant(&self, value: &str) -> bool {
        match self {
            Pred::Present => !value.is_empty(),
            Pred::Const(b) => *b,
            Pred::Text {
                op,
                case_exact,
                operand,
                ..
            }
            | Pred::Instant {
                op,
                case_exact,
                operand,
                ..
            } => {
                let (v, o) = if *case_exact {
                    (value.to_string(), operand.clone())
                } else {
                    (value.to_lowercase(), operand.to_lowercase())
                };
                match op {
                    CompareOp::Eq => v == o,
                    CompareOp::Ne => v != o,
                    CompareOp::Co => v.contains(&o),
                    CompareOp::Sw => v.starts_with(&o),
                    CompareOp::Ew => v.ends_with(&o),
                    CompareOp::Gt => v > o,
                    CompareOp::Ge => v >= o,
                    CompareOp::Lt => v < o,
                    CompareOp::Le => v <= o,
                }
            }
            Pred::Number { op, .. } | Pred::Boolean { op, .. } => *op == CompareOp::Ne,
        }
    }
}

/// One value of a source, as SQL.
pub(super) enum Leaf<'a> {
    /// A `json_each` row (SQLite) or a `jsonb` column `v` (PostgreSQL) of this alias.
    Json(&'a str),
    Column(&'a str),
}

fn op_sql(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Eq => "=",
        CompareOp::Ne => "<>",
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
        // Substring operators are written with LIKE/GLOB, never through here.
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => "=",
    }
}

/// The value's text, as the in-memory evaluation reads it (numbers and booleans by their JSON
/// form); NULL for arrays and objects.
fn text(dialect: Dialect, leaf: &Leaf<'_>) -> String {
    match (leaf, dialect) {
        (Leaf::Column(c), _) => (*c).to_string(),
        (Leaf::Json(a), Dialect::Sqlite) => format!(
            "CASE {a}.type WHEN 'text' THEN {a}.atom WHEN 'integer' THEN CAST({a}.atom AS TEXT) \
             WHEN 'real' THEN CAST({a}.atom AS TEXT) WHEN 'true' THEN 'true' \
             WHEN 'false' THEN 'false' END"
        ),
        (Leaf::Json(a), Dialect::Postgres) => format!(
            "CASE WHEN jsonb_typeof({a}.v) IN ('string', 'number', 'boolean') \
             THEN {a}.v #>> '{{}}' END"
        ),
    }
}

/// The value if it is a JSON string, else NULL (dateTimes are only instants when strings).
fn string(dialect: Dialect, leaf: &Leaf<'_>) -> String {
    match (leaf, dialect) {
        (Leaf::Column(c), _) => (*c).to_string(),
        (Leaf::Json(a), Dialect::Sqlite) => {
            format!("CASE WHEN {a}.type = 'text' THEN {a}.atom END")
        }
        (Leaf::Json(a), Dialect::Postgres) => {
            format!("CASE WHEN jsonb_typeof({a}.v) = 'string' THEN {a}.v #>> '{{}}' END")
        }
    }
}

fn number(dialect: Dialect, leaf: &Leaf<'_>) -> String {
    match (leaf, dialect) {
        (Leaf::Column(c), _) => (*c).to_string(),
        (Leaf::Json(a), Dialect::Sqlite) => {
            format!("CASE WHEN {a}.type IN ('integer', 'real') THEN {a}.atom END")
        }
        (Leaf::Json(a), Dialect::Postgres) => {
            format!("CASE WHEN jsonb_typeof({a}.v) = 'number' THEN ({a}.v)::numeric END")
        }
    }
}

/// JSON booleans, and the strings "true"/"false" in any case (Entra sends those).
fn boolean(dialect: Dialect, leaf: &Leaf<'_>) -> String {
    match (leaf, dialect) {
        (Leaf::Column(c), _) => (*c).to_string(),
        (Leaf::Json(a), Dialect::Sqlite) => format!(
            "CASE {a}.type WHEN 'true' THEN 1 WHEN 'false' THEN 0 WHEN 'text' THEN \
             CASE lower({a}.atom) WHEN 'true' THEN 1 WHEN 'false' THEN 0 END END"
        ),
        (Leaf::Json(a), Dialect::Postgres) => format!(
            "CASE jsonb_typeof({a}.v) WHEN 'boolean' THEN ({a}.v)::boolean WHEN 'string' THEN \
             CASE lower({a}.v #>> '{{}}') WHEN 'true' THEN TRUE WHEN 'false' THEN FALSE END END"
        ),
    }
}

/// `pr`: not an empty string, array or object; an object or array counts when one of its
/// members does (one level down, which is as deep as SCIM attributes go).
fn non_empty(dialect: Dialect, leaf: &Leaf<'_>) -> String {
    let a = match leaf {
        Leaf::Column(c) => return format!("{c} <> ''"),
        Leaf::Json(a) => a,
    };
    let b = format!("{a}m");
    match dialect {
        Dialect::Sqlite => {
            let scalar = |x: &str| {
                format!(
                    "{x}.type IN ('true', 'false', 'integer', 'real') \
                     OR ({x}.type = 'text' AND {x}.atom <> '')"
                )
            };
            format!(
                "({} OR ({a}.type IN ('array', 'object') AND EXISTS (SELECT 1 FROM \
                 json_each(CASE WHEN {a}.type IN ('array', 'object') THEN {a}.value END) AS {b} \
                 WHERE {} OR ({b}.type IN ('array', 'object') AND {b}.value NOT IN ('[]', '{{}}')))))",
                scalar(a),
                scalar(&b)
            )
        }
        Dialect::Postgres => {
            let scalar = |x: &str| {
                format!(
                    "jsonb_typeof({x}.v) IN ('boolean', 'number') \
                     OR (jsonb_typeof({x}.v) = 'string' AND {x}.v #>> '{{}}' <> '')"
                )
            };
            let inner = format!(
                "{} OR (jsonb_typeof({b}.v) IN ('array', 'object') \
                 AND {b}.v NOT IN ('[]'::jsonb, '{{}}'::jsonb))",
                scalar(&b)
            );
            format!(
                "({} OR (jsonb_typeof({a}.v) = 'array' AND EXISTS (SELECT 1 FROM \
                 jsonb_array_elements(CASE WHEN jsonb_typeof({a}.v) = 'array' THEN {a}.v \
                 ELSE '[]'::jsonb END) AS {b}(v) WHERE {inner})) \
                 OR (jsonb_typeof({a}.v) = 'object' AND EXISTS (SELECT 1 FROM \
                 jsonb_each(CASE WHEN jsonb_typeof({a}.v) = 'object' THEN {a}.v \
                 ELSE '{{}}'::jsonb END) AS {b}(k, v) WHERE {inner})))",
                scalar(a)
            )
        }
    }
}

/// Writes `pred` applied to one value. The result is never NULL for a non-null value.
pub(super) fn emit_pred(sql: &mut Sql, leaf: &Leaf<'_>, pred: &Pred) -> R {
    let d = sql.dialect;
    match pred {
        Pred::Present => {
            sql.push(&non_empty(d, leaf));
        }
        Pred::Const(b) => {
            sql.push(if *b { "TRUE" } else { "FALSE" });
        }
        Pred::Text {
            op,
            case_exact,
            lowered,
            operand,
        } => text_pred(sql, &text(d, leaf), *op, *case_exact, *lowered, operand),
        Pred::Instant {
            op: CompareOp::Ne,
            case_exact,
            operand,
            normalised,
        } => {
            let eq = Pred::Instant {
                op: CompareOp::Eq,
                case_exact: *case_exact,
                operand: operand.clone(),
                normalised: normalised.clone(),
            };
            sql.push("(");
            emit_pred(sql, leaf, &eq)?;
            sql.push(") IS NOT TRUE");
        }
        Pred::Instant {
            op,
            case_exact,
            operand,
            normalised,
        } => {
            let s = string(d, leaf);
            let o = op_sql(*op);
            match d {
                Dialect::Sqlite => {
                    // julianday() keeps milliseconds; both sides go through it alike.
                    sql.push(&format!(
                        "(CASE WHEN {s} GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][Tt]\
                         [0-9][0-9]:[0-9][0-9]:[0-9][0-9]*' AND ({s} GLOB '*[Zz]' \
                         OR {s} GLOB '*[+-][0-9][0-9]:[0-9][0-9]') AND julianday({s}) IS NOT NULL \
                         THEN round(julianday({s}) * 86400000.0) {o} round(julianday("
                    ))
                    .text_param(normalised.clone())
                    .push(") * 86400000.0) ELSE ");
                }
                Dialect::Postgres => {
                    sql.push(&format!(
                        "(CASE WHEN scim_timestamp({s}) IS NOT NULL \
                         THEN scim_timestamp({s}) {o} CAST("
                    ))
                    .text_param(normalised.clone())
                    .push(" AS timestamptz) ELSE ");
                }
            }
            text_pred(sql, &text(d, leaf), *op, *case_exact, false, operand);
            sql.push(" END)");
        }
        Pred::Number { op, operand } => {
            let n = number(d, leaf);
            let o = if *op == CompareOp::Ne {
                "="
            } else {
                op_sql(*op)
            };
            sql.push(&format!("({n} {o} "));
            match (d, operand) {
                (Dialect::Sqlite, Num::Int(i)) => sql.param(SqlParam::Int(*i)),
                (Dialect::Sqlite, Num::Float(f)) => sql.param(SqlParam::Float(*f)),
                (Dialect::Postgres, Num::Int(i)) => sql
                    .push("CAST(")
                    .text_param(i.to_string())
                    .push(" AS numeric)"),
                (Dialect::Postgres, Num::Float(f)) => sql
                    .push("CAST(")
                    .text_param(f.to_string())
                    .push(" AS numeric)"),
            };
            sql.push(if *op == CompareOp::Ne {
                ") IS NOT TRUE"
            } else {
                ") IS TRUE"
            });
        }
        Pred::Boolean { op, operand } => {
            sql.push(&format!("({} = ", boolean(d, leaf)));
            match d {
                Dialect::Sqlite => sql.param(SqlParam::Int(i64::from(*operand))),
                Dialect::Postgres => sql.param(SqlParam::Bool(*operand)),
            };
            sql.push(if *op == CompareOp::Ne {
                ") IS NOT TRUE"
            } else {
                ") IS TRUE"
            });
        }
    }
    Ok(())
}

/// A string comparison of `t`. `lowered`: `t` already holds Rust-lowercased text, so the
/// operand is lowercased here the same way (full Unicode folding, and index-friendly).
fn text_pred(
    sql: &mut Sql,
    t: &str,
    op: CompareOp,
    case_exact: bool,
    lowered: bool,
    operand: &str,
) {
    if op == CompareOp::Ne {
        sql.push("(");
        text_pred(sql, t, CompareOp::Eq, case_exact, lowered, operand);
        sql.push(") IS NOT TRUE");
        return;
    }
    let (lhs, fold_operand, operand) = if lowered {
        (t.to_string(), false, operand.to_lowercase())
    } else if case_exact {
        (t.to_string(), false, operand.to_string())
    } else {
        (format!("lower({t})"), true, operand.to_string())
    };
    let (before, after) = match op {
        CompareOp::Co => (true, true),
        CompareOp::Sw => (false, true),
        CompareOp::Ew => (true, false),
        _ => {
            sql.push("(").push(&lhs);
            if sql.dialect == Dialect::Postgres && op != CompareOp::Eq {
                // Code point order, as Rust compares strings.
                sql.push(" COLLATE \"C\"");
            }
            sql.push(" ").push(op_sql(op)).push(" ");
            if fold_operand {
                sql.push("lower(").text_param(operand).push("))");
            } else {
                sql.text_param(operand).push(")");
            }
            return;
        }
    };
    if sql.dialect == Dialect::Sqlite && case_exact && !lowered {
        // SQLite's LIKE ignores ASCII case; GLOB does not.
        sql.push("(")
            .push(t)
            .push(" GLOB ")
            .text_param(glob_pattern(&operand, before, after))
            .push(")");
        return;
    }
    sql.push("(").push(&lhs).push(" LIKE ");
    let pattern = like_pattern(&operand, before, after);
    if fold_operand {
        sql.push("lower(").text_param(pattern).push(")");
    } else {
        sql.text_param(pattern);
    }
    sql.push(" ESCAPE '\\')");
}

/// `meta.created` / `meta.lastModified` (epoch-µs columns) against an RFC 3339 instant.
pub(super) fn compare_micros(
    sql: &mut Sql,
    column: &str,
    path: &AttrPath,
    op: CompareOp,
    value: &CompValue,
) -> R {
    if *value == CompValue::Null {
        // Always present: equal to null never, different from it always.
        sql.push(if op == CompareOp::Ne { "TRUE" } else { "FALSE" });
        return Ok(());
    }
    if matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew) {
        return Err(invalid(format!(
            "{path} is a dateTime: compare it with eq, ne, gt, ge, lt or le"
        )));
    }
    let instant = match value {
        CompValue::String(s) => s.parse::<jiff::Timestamp>().ok(),
        _ => None,
    }
    .ok_or_else(|| {
        invalid(format!(
            "{path} compares with an RFC 3339 date-time such as \"2024-05-01T00:00:00Z\", \
             not {value}"
        ))
    })?;
    sql.push("(")
        .push(column)
        .push(" ")
        .push(op_sql(op))
        .push(" ")
        .param(SqlParam::Int(instant.as_microsecond()))
        .push(")");
    Ok(())
}

/// `meta.version` against `W/"N"` (or `"N"`): only `eq` and `ne` make sense for an ETag.
pub(super) fn compare_version(
    sql: &mut Sql,
    path: &AttrPath,
    op: CompareOp,
    value: &CompValue,
) -> R {
    if !matches!(op, CompareOp::Eq | CompareOp::Ne) {
        return Err(invalid(format!(
            "{path} is an entity tag: compare it with eq or ne"
        )));
    }
    let version = match value {
        CompValue::String(s) => {
            let s = s.strip_prefix("W/").unwrap_or(s);
            s.trim_matches('"').parse::<i64>().ok()
        }
        _ => None,
    };
    match version {
        Some(v) => {
            sql.push(if op == CompareOp::Eq {
                "r.version = "
            } else {
                "r.version <> "
            });
            sql.param(SqlParam::Int(v));
        }
        // Every resource has a version, and none equals a value that is not one.
        None => {
            sql.push(if (op == CompareOp::Eq) == (*value == CompValue::Null) {
                "TRUE"
            } else {
                "FALSE"
            });
        }
    }
    Ok(())
}
