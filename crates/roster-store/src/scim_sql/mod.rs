//! SCIM filters and sort keys as SQL for SQLite and PostgreSQL.
//!
//! The SQL text is assembled only from fragments written in this module and its children.
//! Every value a client sent is a bound parameter, and so is every JSON path (built from the
//! attribute names the schema gives, never from the filter's spelling): what a filter changes in
//! the text is its shape (which operators, which kinds of attribute), never its content.
//!
//! Semantics follow `roster_scim::filter::eval`, the in-memory reference (a multi-valued
//! attribute matches when any value does; absent and null are the same state; `caseExact`
//! decides case folding; dateTimes compare as instants when both sides are RFC 3339 instants).
//! Known differences, all on data a schema-checked server does not store: SQLite folds case
//! for ASCII only in JSON values (`userName` and group `displayName` are folded in Rust, fully);
//! numeric strings in number attributes and numbers in string attributes are not converted.

mod filter;
mod pred;
mod sort;
#[cfg(test)]
mod tests;

use std::fmt::Write as _;

pub(crate) use filter::push_filter;
pub(crate) use sort::{SortKey, sort_key};

use crate::ScimWriteError;

/// Which SQL the translation writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// `json_each`, `json_extract`, `GLOB`, anonymous `?` placeholders.
    Sqlite,
    /// `jsonb_path_query` (lax mode unwraps arrays), `$N` placeholders, `COLLATE "C"`.
    Postgres,
}

/// A bound value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SqlParam {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

/// A statement being written: text, and the parameters in the order their placeholders appear.
#[derive(Debug, Clone)]
pub(crate) struct Sql {
    pub text: String,
    pub params: Vec<SqlParam>,
    pub dialect: Dialect,
    aliases: u32,
}

impl Sql {
    pub fn new(dialect: Dialect) -> Self {
        Sql {
            text: String::with_capacity(256),
            params: Vec::new(),
            dialect,
            aliases: 0,
        }
    }

    pub fn push(&mut self, fragment: &str) -> &mut Self {
        self.text.push_str(fragment);
        self
    }

    /// Writes a placeholder for `param`.
    pub fn param(&mut self, param: SqlParam) -> &mut Self {
        self.params.push(param);
        match self.dialect {
            Dialect::Sqlite => self.text.push('?'),
            Dialect::Postgres => {
                let _ = write!(self.text, "${}", self.params.len());
            }
        }
        self
    }

    pub fn text_param(&mut self, value: impl Into<String>) -> &mut Self {
        self.param(SqlParam::Text(value.into()))
    }

    /// A fresh table alias (`a0`, `a1`, ...), so nested subqueries never shadow each other.
    fn alias(&mut self) -> String {
        let n = self.aliases;
        self.aliases += 1;
        format!("a{n}")
    }

    /// The literal for a resource type. Written into the text (it comes from the enum, not
    /// from a client) so that the partial indexes on `resource_type` apply.
    pub fn resource_type(&mut self, rt: roster_scim::schema::ResourceType) -> &mut Self {
        self.push(match rt {
            roster_scim::schema::ResourceType::User => "'User'",
            roster_scim::schema::ResourceType::Group => "'Group'",
        })
    }
}

/// A JSON object key from the schema, checked to be writable inside a quoted path step.
fn path_key(key: &str) -> Result<&str, ScimWriteError> {
    if key.is_empty() || key.chars().any(|c| c == '"' || c == '\\' || c.is_control()) {
        return Err(ScimWriteError::InvalidFilter(format!(
            "attribute name \"{key}\" cannot be used in a filter or sortBy"
        )));
    }
    Ok(key)
}

/// `$."a"."b"` (SQLite JSON path; also PostgreSQL jsonpath without the wildcard).
fn json_path(keys: &[&str]) -> Result<String, ScimWriteError> {
    let mut path = String::from("$");
    for key in keys {
        let _ = write!(path, ".\"{}\"", path_key(key)?);
    }
    Ok(path)
}

/// The `LIKE` pattern matching `value` literally, with `%` on the sides asked for.
/// The escape character is `\`.
fn like_pattern(value: &str, any_before: bool, any_after: bool) -> String {
    let mut out = String::with_capacity(value.len() + 4);
    if any_before {
        out.push('%');
    }
    for c in value.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    if any_after {
        out.push('%');
    }
    out
}

/// The SQLite `GLOB` pattern (case-sensitive, unlike SQLite's `LIKE`) matching `value`
/// literally: `*`, `?` and `[` are put in brackets, which is GLOB's only escape.
fn glob_pattern(value: &str, any_before: bool, any_after: bool) -> String {
    let mut out = String::with_capacity(value.len() + 4);
    if any_before {
        out.push('*');
    }
    for c in value.chars() {
        match c {
            '*' | '?' | '[' => {
                out.push('[');
                out.push(c);
                out.push(']');
            }
            _ => out.push(c),
        }
    }
    if any_after {
        out.push('*');
    }
    out
}
