//! A hand-written recursive-descent parser for RFC 7644 §8 figure 1 (filters) and figure 2
//! (PATCH paths). Hand-written so that every error can say where it happened and what was
//! expected, and so that hostile input is bounded: the length, the nesting (which is the
//! parser's recursion) and the number of expressions (which bounds the depth of the `and`/`or`
//! chains every consumer recurses over) all have limits.
//!
//! Deliberately lenient where real clients differ from the ABNF and nothing becomes ambiguous:
//! keywords in any case (`EQ`, `And`, `True`), any run of whitespace where the RFC says one
//! space, `not(` without a space.

use super::ast::{AttrPath, CompValue, CompareOp, Filter, PatchPath};
use crate::{ScimError, ScimType};

/// Longest accepted `filter`, in bytes. IdP filters are a few dozen bytes.
pub const MAX_FILTER_LEN: usize = 8 * 1024;
/// Longest accepted PATCH `path`, in bytes.
pub const MAX_PATH_LEN: usize = 2 * 1024;
/// Deepest nesting of parentheses, `not (…)` and `[…]`.
pub const MAX_NESTING: usize = 64;
/// Most attribute expressions (`attrPath op value`, `attrPath pr`, `attr[…]`) in one filter.
pub const MAX_TERMS: usize = 256;

/// Parses a `filter` query parameter or `/.search` body filter. Errors are 400 `invalidFilter`
/// naming the position and what was expected.
pub fn parse_filter(input: &str) -> Result<Filter, ScimError> {
    let mut p = Parser::new(input, Kind::Filter);
    if input.len() > MAX_FILTER_LEN {
        return Err(p.fail(
            0,
            format!(
                "the filter is {} bytes long; at most {MAX_FILTER_LEN} are accepted",
                input.len()
            ),
        ));
    }
    let filter = p.or_expr()?;
    p.skip_ws();
    if p.pos < input.len() {
        return Err(p.expected(p.pos, "\"and\", \"or\" or the end of the filter"));
    }
    Ok(filter)
}

/// Parses a PATCH operation's `path`: `attrPath`, or `valuePath ["." subAttr]`. Errors are 400
/// `invalidPath`.
pub fn parse_path(input: &str) -> Result<PatchPath, ScimError> {
    let mut p = Parser::new(input, Kind::Path);
    if input.len() > MAX_PATH_LEN {
        return Err(p.fail(
            0,
            format!(
                "the path is {} bytes long; at most {MAX_PATH_LEN} are accepted",
                input.len()
            ),
        ));
    }
    p.skip_ws();
    let attr = p.attr_path(false)?;
    let mut value_filter = None;
    let mut sub_attr_after_filter = None;
    if p.peek() == Some('[') {
        let filter = p.bracket_filter(&attr)?;
        value_filter = Some(filter);
        if p.peek() == Some('.') {
            p.pos += 1;
            let start = p.pos;
            let rest = &input[start..];
            // Only name characters: what follows a complete sub-attribute is reported as
            // trailing input rather than as part of a bad name.
            let end = start
                + rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || "-_$".contains(c)))
                    .unwrap_or(rest.len());
            let name = &input[start..end];
            p.check_name(start, name, "a sub-attribute name after \"].\"")?;
            p.pos = end;
            sub_attr_after_filter = Some(name.to_string());
        }
    }
    p.skip_ws();
    if p.pos < input.len() {
        let what = if value_filter.is_some() || attr.sub_attr.is_some() {
            "the end of the path"
        } else {
            "\"[\", \".\" or the end of the path"
        };
        return Err(p.expected(p.pos, what));
    }
    Ok(PatchPath {
        attr,
        value_filter,
        sub_attr_after_filter,
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Filter,
    Path,
}

pub(super) struct Parser<'a> {
    pub(super) src: &'a str,
    pub(super) pos: usize,
    kind: Kind,
    nesting: usize,
    terms: usize,
    /// Inside `attr[…]`, where paths name sub-attributes of `attr`.
    in_brackets: bool,
}

/// Characters an attribute path token may contain: attribute names, `.`, and the URI
/// characters a schema URN can carry. Brackets, parentheses, quotes and whitespace end it.
pub(super) fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-_.:$/?#@!&'*+,;=%~".contains(c)
}

/// `ATTRNAME = ALPHA *(nameChar)`, plus `$ref` (RFC 7643 §2.1 names it with a `$`).
fn is_attr_name(name: &str) -> bool {
    let rest = name.strip_prefix('$').unwrap_or(name);
    let mut chars = rest.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl<'a> Parser<'a> {
    fn new(src: &'a str, kind: Kind) -> Self {
        Parser {
            src,
            pos: 0,
            kind,
            nesting: 0,
            terms: 0,
            in_brackets: false,
        }
    }

    pub(super) fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn skip_ws(&mut self) {
        let rest = &self.src[self.pos..];
        self.pos += rest.len() - rest.trim_start_matches([' ', '\t', '\r', '\n']).len();
    }

    /// End of the path token starting at `self.pos`.
    fn token_end(&self) -> usize {
        let rest = &self.src[self.pos..];
        self.pos + rest.find(|c| !is_token_char(c)).unwrap_or(rest.len())
    }

    fn word(&self) -> &'a str {
        &self.src[self.pos..self.token_end()]
    }

    /// Consumes `keyword` (any case) when it is the whole next token.
    fn keyword(&mut self, keyword: &str) -> bool {
        let end = self.token_end();
        if self.src[self.pos..end].eq_ignore_ascii_case(keyword) {
            self.pos = end;
            true
        } else {
            false
        }
    }

    pub(super) fn fail(&self, pos: usize, message: impl std::fmt::Display) -> ScimError {
        let (what, scim_type) = match self.kind {
            Kind::Filter => ("filter", ScimType::InvalidFilter),
            Kind::Path => ("path", ScimType::InvalidPath),
        };
        let column = self.src[..pos].chars().count() + 1;
        ScimError::bad(
            scim_type,
            format!("invalid {what} at column {column}: {message}"),
        )
    }

    pub(super) fn expected(&self, pos: usize, what: &str) -> ScimError {
        let rest = &self.src[pos..];
        let found = match rest.chars().next() {
            None => "the end of the input".to_string(),
            Some(c) if is_token_char(c) => {
                let token = &rest[..rest.find(|c| !is_token_char(c)).unwrap_or(rest.len())];
                format!("{:?}", truncate(token))
            }
            Some(c) => format!("{c:?}"),
        };
        self.fail(pos, format!("expected {what}, found {found}"))
    }

    fn enter(&mut self) -> Result<(), ScimError> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(self.fail(
                self.pos,
                format!("parentheses, \"not\" and \"[\" nest deeper than {MAX_NESTING} levels"),
            ));
        }
        Ok(())
    }

    fn expect_char(&mut self, c: char, what: &str) -> Result<(), ScimError> {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            Ok(())
        } else {
            Err(self.expected(self.pos, what))
        }
    }

    /// `or` binds loosest; chains associate to the left.
    fn or_expr(&mut self) -> Result<Filter, ScimError> {
        let mut left = self.and_expr()?;
        loop {
            let save = self.pos;
            self.skip_ws();
            if self.keyword("or") {
                let right = self.and_expr()?;
                left = Filter::Or(Box::new(left), Box::new(right));
            } else {
                self.pos = save;
                return Ok(left);
            }
        }
    }

    fn and_expr(&mut self) -> Result<Filter, ScimError> {
        let mut left = self.unary()?;
        loop {
            let save = self.pos;
            self.skip_ws();
            if self.keyword("and") {
                let right = self.unary()?;
                left = Filter::And(Box::new(left), Box::new(right));
            } else {
                self.pos = save;
                return Ok(left);
            }
        }
    }

    /// `"(" FILTER ")"`, `not "(" FILTER ")"`, or an attribute expression.
    fn unary(&mut self) -> Result<Filter, ScimError> {
        self.skip_ws();
        if self.peek() == Some('(') {
            self.pos += 1;
            self.enter()?;
            let inner = self.or_expr()?;
            self.expect_char(')', "\")\" or \"and\"/\"or\"")?;
            self.nesting -= 1;
            return Ok(inner);
        }
        if self.word().eq_ignore_ascii_case("not") {
            let save = self.pos;
            self.pos = self.token_end();
            self.skip_ws();
            if self.peek() == Some('(') {
                self.pos += 1;
                self.enter()?;
                let inner = self.or_expr()?;
                self.expect_char(')', "\")\" or \"and\"/\"or\"")?;
                self.nesting -= 1;
                return Ok(Filter::Not(Box::new(inner)));
            }
            // `not` is also a legal attribute name (`not pr`); only `not (` negates. Say so
            // when the next token cannot continue an attribute expression.
            let next = self.word();
            let continues =
                next.eq_ignore_ascii_case("pr") || CompareOp::from_keyword(next).is_some();
            if !continues && !next.is_empty() {
                return Err(self.expected(self.pos, "\"(\" after \"not\""));
            }
            self.pos = save;
        }
        self.attr_expr()
    }

    /// `attrPath "pr"`, `attrPath compareOp compValue`, or `attrPath "[" valFilter "]"`.
    fn attr_expr(&mut self) -> Result<Filter, ScimError> {
        let start = self.pos;
        self.terms += 1;
        if self.terms > MAX_TERMS {
            return Err(self.fail(
                start,
                format!("more than {MAX_TERMS} attribute expressions in one filter"),
            ));
        }
        let path = self.attr_path(self.in_brackets)?;
        if self.peek() == Some('[') {
            let filter = self.bracket_filter(&path)?;
            if self.peek() == Some('.') {
                return Err(self.fail(
                    self.pos,
                    "\"].subAttribute\" is only valid in a PATCH path; in a filter write \
                     attr[subAttribute op value]",
                ));
            }
            return Ok(Filter::ValuePath {
                attr: path,
                filter: Box::new(filter),
            });
        }
        self.skip_ws();
        let op_pos = self.pos;
        let word = self.word();
        if word.eq_ignore_ascii_case("pr") {
            self.pos = self.token_end();
            return Ok(Filter::Present(path));
        }
        let Some(op) = CompareOp::from_keyword(word) else {
            return Err(self.expected(
                op_pos,
                "an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) or \"[\"",
            ));
        };
        self.pos = self.token_end();
        self.skip_ws();
        let value = self.comp_value()?;
        Ok(Filter::Compare(path, op, value))
    }

    /// `"[" valFilter "]"` after `attr`, leaving the position after `]`.
    fn bracket_filter(&mut self, attr: &AttrPath) -> Result<Filter, ScimError> {
        if self.in_brackets {
            return Err(self.fail(self.pos, "a \"[…]\" filter cannot contain another \"[…]\""));
        }
        if attr.sub_attr.is_some() {
            return Err(self.fail(
                self.pos,
                format!(
                    "\"[…]\" must follow a multi-valued attribute, not the sub-attribute {attr}"
                ),
            ));
        }
        self.pos += 1;
        self.enter()?;
        self.in_brackets = true;
        let filter = self.or_expr()?;
        self.expect_char(']', "\"]\" or \"and\"/\"or\"")?;
        self.in_brackets = false;
        self.nesting -= 1;
        Ok(filter)
    }

    /// `[URI ":"] ATTRNAME *1subAttr`. A URN holds colons and dots (`…:enterprise:2.0:User`),
    /// so the attribute is what follows the last colon. Inside brackets only a bare
    /// sub-attribute name is allowed.
    fn attr_path(&mut self, bare_name_only: bool) -> Result<AttrPath, ScimError> {
        let start = self.pos;
        let end = self.token_end();
        let token = &self.src[start..end];
        if token.is_empty() {
            return Err(self.expected(start, "an attribute name"));
        }
        let (urn, name_start) = match token.rfind(':') {
            Some(colon) => {
                let urn = &token[..colon];
                if urn.is_empty() {
                    return Err(self.expected(start, "a schema URN before \":\""));
                }
                (Some(urn.to_string()), start + colon + 1)
            }
            None => (None, start),
        };
        let names = &self.src[name_start..end];
        let (attr, sub_attr) = match names.split_once('.') {
            Some((attr, sub)) => (attr, Some(sub)),
            None => (names, None),
        };
        self.check_name(name_start, attr, "an attribute name")?;
        if let Some(sub) = sub_attr {
            let sub_start = name_start + attr.len() + 1;
            if let Some(dot) = sub.find('.') {
                return Err(self.fail(
                    sub_start + dot,
                    "an attribute path has at most one sub-attribute (attr.subAttr)",
                ));
            }
            self.check_name(sub_start, sub, "a sub-attribute name")?;
        }
        if bare_name_only && (urn.is_some() || sub_attr.is_some()) {
            return Err(self.fail(
                start,
                format!("inside \"[…]\" name a sub-attribute alone (e.g. \"type\"), not {token:?}"),
            ));
        }
        self.pos = end;
        Ok(AttrPath {
            urn,
            attr: attr.to_string(),
            sub_attr: sub_attr.map(str::to_string),
        })
    }

    fn check_name(&self, pos: usize, name: &str, what: &str) -> Result<(), ScimError> {
        if is_attr_name(name) {
            return Ok(());
        }
        if name.is_empty() {
            return Err(self.expected(pos, what));
        }
        Err(self.fail(
            pos,
            format!(
                "expected {what}, found {:?}; names start with a letter and hold only letters, \
                 digits, \"-\" and \"_\"",
                truncate(name)
            ),
        ))
    }

    /// `compValue = false / null / true / number / string`.
    fn comp_value(&mut self) -> Result<CompValue, ScimError> {
        let start = self.pos;
        let value = match self.peek() {
            Some('"') => CompValue::String(self.string()?),
            Some(c) if c == '-' || c.is_ascii_digit() => CompValue::Number(self.number()?),
            _ => {
                let word = self.word();
                let value = if word.eq_ignore_ascii_case("true") {
                    CompValue::Bool(true)
                } else if word.eq_ignore_ascii_case("false") {
                    CompValue::Bool(false)
                } else if word.eq_ignore_ascii_case("null") {
                    CompValue::Null
                } else {
                    return Err(self.expected(
                        start,
                        "a value (a string in double quotes, a number, true, false or null)",
                    ));
                };
                self.pos = self.token_end();
                value
            }
        };
        if self.peek().is_some_and(is_token_char) {
            return Err(self.expected(self.pos, "whitespace, \")\" or \"]\" after the value"));
        }
        Ok(value)
    }
}

fn truncate(s: &str) -> String {
    const MAX: usize = 40;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}
