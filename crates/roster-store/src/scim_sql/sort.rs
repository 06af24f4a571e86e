//! `sortBy` as an SQL sort key (RFC 7644 §3.4.2.3).

use roster_scim::AttrPath;
use roster_scim::schema::{ResourceType, Schemas};

use super::filter::{Kind, Source, Target, Translator, invalid};
use super::{Dialect, Sql, json_path};
use crate::ScimWriteError;

/// What a page is ordered by before the stable `(created, id)`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SortKey {
    /// Nothing (no `sortBy`, or one that is the same for every resource).
    None,
    /// A column, written in the ORDER BY itself so an index can serve it.
    Column { expr: String, nullable: bool },
    /// A JSON value; written once in the select list (see [`SortKey::push_expr`]).
    Json {
        keys: Vec<&'static str>,
        /// For a multi-valued attribute: where its elements are entered; the key is the
        /// primary element's value, or the first element's.
        split: Option<usize>,
        kind: Kind,
    },
}

/// Resolves `sortBy`. Single-valued attributes sort by their value; multi-valued ones by the
/// primary (or else the first) value; membership attributes cannot be sorted by.
pub(crate) fn sort_key(
    schemas: &Schemas,
    rt: ResourceType,
    path: &AttrPath,
) -> Result<SortKey, ScimWriteError> {
    let t = Translator { schemas, rt };
    let target = t
        .target(path, true)
        .map_err(|_| invalid(format!("sortBy: {} has no attribute \"{path}\"", rt.name())))?;
    Ok(match target {
        Target::Micros(column) => SortKey::Column {
            expr: column.to_string(),
            nullable: false,
        },
        Target::Version => SortKey::Column {
            expr: "r.version".into(),
            nullable: false,
        },
        Target::Meta => SortKey::None,
        Target::Values { source, kind } => match source {
            Source::Column { expr, nullable } => SortKey::Column { expr, nullable },
            Source::Const(_) => SortKey::None,
            Source::Relation { .. } => {
                return Err(invalid(format!(
                    "sortBy: {path} is a list of memberships and cannot be sorted by"
                )));
            }
            Source::Json { keys, split, .. } => SortKey::Json { keys, split, kind },
        },
    })
}

impl SortKey {
    /// Writes the key's expression (JSON keys only; columns are written by the caller).
    pub fn push_expr(&self, sql: &mut Sql) -> Result<(), ScimWriteError> {
        let SortKey::Json { keys, split, kind } = self else {
            sql.push("NULL");
            return Ok(());
        };
        let fold = matches!(
            kind,
            Kind::Text {
                case_exact: false,
                ..
            } | Kind::DateTime { case_exact: false }
        );
        let textual = matches!(
            kind,
            Kind::Text { .. } | Kind::DateTime { .. } | Kind::Binary
        );
        match sql.dialect {
            Dialect::Sqlite => {
                if fold {
                    sql.push("lower(");
                }
                match split {
                    None => {
                        sql.push("json_extract(r.doc, ")
                            .text_param(json_path(keys)?)
                            .push(")");
                    }
                    Some(at) => {
                        let e = sql.alias();
                        let first = format!(
                            "{}[0]{}",
                            json_path(&keys[..*at])?,
                            &json_path(&keys[*at..])?[1..]
                        );
                        sql.push("COALESCE((SELECT json_extract(")
                            .push(&e)
                            .push(".value, ")
                            .text_param(json_path(&keys[*at..])?)
                            .push(") FROM json_each(r.doc, ")
                            .text_param(json_path(&keys[..*at])?)
                            .push(&format!(
                                ") AS {e} WHERE {e}.type = 'object' \
                                 AND json_extract({e}.value, '$.primary') = 1 \
                                 ORDER BY {e}.key LIMIT 1), json_extract(r.doc, "
                            ))
                            .text_param(first)
                            .push("))");
                    }
                }
                if fold {
                    sql.push(")");
                }
            }
            Dialect::Postgres => {
                if textual {
                    sql.push(if fold { "lower((" } else { "((" });
                }
                match split {
                    None => {
                        sql.push("jsonb_path_query_first(r.doc, CAST(")
                            .text_param(json_path(keys)?)
                            .push(" AS jsonpath))");
                    }
                    Some(at) => {
                        let elements = json_path(&keys[..*at])?;
                        let sub = &json_path(&keys[*at..])?[1..];
                        sql.push("COALESCE(jsonb_path_query_first(r.doc, CAST(")
                            .text_param(format!("{elements}[*] ? (@.\"primary\" == true){sub}"))
                            .push(" AS jsonpath)), jsonb_path_query_first(r.doc, CAST(")
                            .text_param(format!("{elements}[0]{sub}"))
                            .push(" AS jsonpath)))");
                    }
                }
                if textual {
                    sql.push(" #>> '{}')) COLLATE \"C\"");
                }
            }
        }
        Ok(())
    }
}
