//! Rule conditions: a small expression language over person attributes.
//!
//! ```text
//! expr       := or
//! or         := and ("or" and)*
//! and        := unary ("and" unary)*
//! unary      := "not" unary | primary
//! primary    := "(" expr ")" | "true" | "false" | comparison
//! comparison := attribute ( ("==" | "!=") string
//!                         | "in" list | "not" "in" list
//!                         | "starts_with" string | "ends_with" string
//!                         | "is_set" | "is_unset" )
//! list       := "[" (string ("," string)* ","?)? "]"
//! string     := '"' chars with \" and \\ escapes '"'
//! attribute  := [A-Za-z_][A-Za-z0-9_]*
//! ```
//!
//! Comparisons are exact and case-sensitive: HR values are codes, and guessing
//! that "sales" means "Sales" is how access leaks. An unset attribute is never
//! equal to anything, and `!=` on an unset attribute is true.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::person::Person;

/// Nesting deeper than this is refused; no real policy needs it and it bounds recursion.
const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Condition {
    Const(bool),
    Eq(String, String),
    Ne(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    StartsWith(String, String),
    EndsWith(String, String),
    IsSet(String),
    IsUnset(String),
    Not(Box<Condition>),
    And(Vec<Condition>),
    Or(Vec<Condition>),
}

/// A syntax error at a byte offset inside the condition text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at character {})", offset + 1)]
pub struct ConditionError {
    pub offset: usize,
    pub message: String,
}

/// An attribute name as it appears in the text, with its byte offset (for "unknown attribute" errors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeUse {
    pub name: String,
    pub offset: usize,
}

impl Condition {
    pub fn parse(text: &str) -> Result<Condition, ConditionError> {
        Self::parse_with_attributes(text).map(|(c, _)| c)
    }

    /// Parses and also returns every attribute the condition mentions, with its position.
    pub fn parse_with_attributes(
        text: &str,
    ) -> Result<(Condition, Vec<AttributeUse>), ConditionError> {
        let tokens = tokenize(text)?;
        let mut parser = Parser {
            tokens,
            pos: 0,
            end: text.len(),
            attributes: Vec::new(),
        };
        let cond = parser.expr(0)?;
        if let Some(tok) = parser.tokens.get(parser.pos) {
            return Err(ConditionError {
                offset: tok.offset,
                message: format!("unexpected {} after a complete condition", tok.kind),
            });
        }
        Ok((cond, parser.attributes))
    }

    pub fn evaluate(&self, person: &Person) -> bool {
        match self {
            Condition::Const(b) => *b,
            Condition::Eq(attr, v) => person.attribute(attr).is_some_and(|a| a == v.as_str()),
            Condition::Ne(attr, v) => person.attribute(attr).is_none_or(|a| a != v.as_str()),
            Condition::In(attr, list) => person
                .attribute(attr)
                .is_some_and(|a| list.iter().any(|x| x.as_str() == a)),
            Condition::NotIn(attr, list) => person
                .attribute(attr)
                .is_none_or(|a| !list.iter().any(|x| x.as_str() == a)),
            Condition::StartsWith(attr, p) => person
                .attribute(attr)
                .is_some_and(|a| a.starts_with(p.as_str())),
            Condition::EndsWith(attr, p) => person
                .attribute(attr)
                .is_some_and(|a| a.ends_with(p.as_str())),
            Condition::IsSet(attr) => person.attribute(attr).is_some(),
            Condition::IsUnset(attr) => person.attribute(attr).is_none(),
            Condition::Not(c) => !c.evaluate(person),
            Condition::And(cs) => cs.iter().all(|c| c.evaluate(person)),
            Condition::Or(cs) => cs.iter().any(|c| c.evaluate(person)),
        }
    }

    /// Attribute names this condition reads, for explaining why a rule matched.
    pub fn attributes(&self) -> BTreeSet<&str> {
        let mut out = BTreeSet::new();
        self.collect_attributes(&mut out);
        out
    }

    fn collect_attributes<'a>(&'a self, out: &mut BTreeSet<&'a str>) {
        match self {
            Condition::Const(_) => {}
            Condition::Eq(a, _)
            | Condition::Ne(a, _)
            | Condition::In(a, _)
            | Condition::NotIn(a, _)
            | Condition::StartsWith(a, _)
            | Condition::EndsWith(a, _)
            | Condition::IsSet(a)
            | Condition::IsUnset(a) => {
                out.insert(a.as_str());
            }
            Condition::Not(c) => c.collect_attributes(out),
            Condition::And(cs) | Condition::Or(cs) => {
                cs.iter().for_each(|c| c.collect_attributes(out))
            }
        }
    }
}

impl std::fmt::Display for Condition {
    /// Prints a form that parses back to the same condition.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fn quote(s: &str) -> String {
            format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
        }
        fn list(l: &[String]) -> String {
            format!(
                "[{}]",
                l.iter().map(|s| quote(s)).collect::<Vec<_>>().join(", ")
            )
        }
        match self {
            Condition::Const(b) => write!(f, "{b}"),
            Condition::Eq(a, v) => write!(f, "{a} == {}", quote(v)),
            Condition::Ne(a, v) => write!(f, "{a} != {}", quote(v)),
            Condition::In(a, l) => write!(f, "{a} in {}", list(l)),
            Condition::NotIn(a, l) => write!(f, "{a} not in {}", list(l)),
            Condition::StartsWith(a, v) => write!(f, "{a} starts_with {}", quote(v)),
            Condition::EndsWith(a, v) => write!(f, "{a} ends_with {}", quote(v)),
            Condition::IsSet(a) => write!(f, "{a} is_set"),
            Condition::IsUnset(a) => write!(f, "{a} is_unset"),
            Condition::Not(c) => write!(f, "not ({c})"),
            Condition::And(cs) | Condition::Or(cs) => {
                let sep = if matches!(self, Condition::And(_)) {
                    " and "
                } else {
                    " or "
                };
                let parts: Vec<String> = cs.iter().map(|c| format!("({c})")).collect();
                write!(f, "{}", parts.join(sep))
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum TokenKind {
    Ident(String),
    Str(String),
    EqEq,
    NotEq,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
}

impl std::fmt::Display for TokenKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenKind::Ident(s) => write!(f, "`{s}`"),
            TokenKind::Str(s) => write!(f, "string \"{s}\""),
            TokenKind::EqEq => write!(f, "`==`"),
            TokenKind::NotEq => write!(f, "`!=`"),
            TokenKind::LParen => write!(f, "`(`"),
            TokenKind::RParen => write!(f, "`)`"),
            TokenKind::LBracket => write!(f, "`[`"),
            TokenKind::RBracket => write!(f, "`]`"),
            TokenKind::Comma => write!(f, "`,`"),
        }
    }
}

#[derive(Debug, Clone)]
struct Token {
    kind: TokenKind,
    offset: usize,
}

fn tokenize(text: &str) -> Result<Vec<Token>, ConditionError> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        let err = |message: String| ConditionError { offset: i, message };
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | '[' | ']' | ',' => {
                chars.next();
                let kind = match c {
                    '(' => TokenKind::LParen,
                    ')' => TokenKind::RParen,
                    '[' => TokenKind::LBracket,
                    ']' => TokenKind::RBracket,
                    _ => TokenKind::Comma,
                };
                tokens.push(Token { kind, offset: i });
            }
            '=' | '!' => {
                chars.next();
                if chars.peek().map(|&(_, c)| c) == Some('=') {
                    chars.next();
                    let kind = if c == '=' {
                        TokenKind::EqEq
                    } else {
                        TokenKind::NotEq
                    };
                    tokens.push(Token { kind, offset: i });
                } else if c == '=' {
                    return Err(err("use `==` to compare, not `=`".into()));
                } else {
                    return Err(err("use `not` for negation, or `!=` to compare".into()));
                }
            }
            '"' => {
                chars.next();
                let mut value = String::new();
                loop {
                    match chars.next() {
                        None => return Err(err("string is not closed with `\"`".into())),
                        Some((_, '"')) => break,
                        Some((j, '\\')) => match chars.next() {
                            Some((_, '"')) => value.push('"'),
                            Some((_, '\\')) => value.push('\\'),
                            _ => {
                                return Err(ConditionError {
                                    offset: j,
                                    message: "only \\\" and \\\\ escapes are allowed in strings"
                                        .into(),
                                });
                            }
                        },
                        Some((_, ch)) => value.push(ch),
                    }
                }
                tokens.push(Token {
                    kind: TokenKind::Str(value),
                    offset: i,
                });
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut ident = String::new();
                while let Some(&(_, ch)) = chars.peek() {
                    if ch.is_ascii_alphanumeric() || ch == '_' {
                        ident.push(ch);
                        chars.next();
                    } else {
                        break;
                    }
                }
                tokens.push(Token {
                    kind: TokenKind::Ident(ident),
                    offset: i,
                });
            }
            '\'' => {
                return Err(err(
                    "strings in conditions use double quotes: \"Sales\" (write the TOML value with single quotes)".into(),
                ));
            }
            other => return Err(err(format!("unexpected character `{other}`"))),
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    end: usize,
    attributes: Vec<AttributeUse>,
}

const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "not",
    "in",
    "true",
    "false",
    "starts_with",
    "ends_with",
    "is_set",
    "is_unset",
];

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn offset(&self) -> usize {
        self.peek().map_or(self.end, |t| t.offset)
    }

    fn is_keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Token { kind: TokenKind::Ident(s), .. }) if s == kw)
    }

    fn error<T>(&self, expected: &str) -> Result<T, ConditionError> {
        let message = match self.peek() {
            Some(t) => format!("expected {expected}, found {}", t.kind),
            None => format!("expected {expected}, but the condition ends here"),
        };
        Err(ConditionError {
            offset: self.offset(),
            message,
        })
    }

    fn expr(&mut self, depth: usize) -> Result<Condition, ConditionError> {
        if depth > MAX_DEPTH {
            return Err(ConditionError {
                offset: self.offset(),
                message: format!("condition is nested more than {MAX_DEPTH} levels deep"),
            });
        }
        let mut parts = vec![self.and(depth)?];
        while self.is_keyword("or") {
            self.pos += 1;
            parts.push(self.and(depth)?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Condition::Or(parts)
        })
    }

    fn and(&mut self, depth: usize) -> Result<Condition, ConditionError> {
        let mut parts = vec![self.unary(depth)?];
        while self.is_keyword("and") {
            self.pos += 1;
            parts.push(self.unary(depth)?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Condition::And(parts)
        })
    }

    fn unary(&mut self, depth: usize) -> Result<Condition, ConditionError> {
        if self.is_keyword("not") {
            self.pos += 1;
            if depth + 1 > MAX_DEPTH {
                return self.error("a shallower condition");
            }
            return Ok(Condition::Not(Box::new(self.unary(depth + 1)?)));
        }
        self.primary(depth)
    }

    fn primary(&mut self, depth: usize) -> Result<Condition, ConditionError> {
        let Some(tok) = self.peek().cloned() else {
            return self.error("an attribute, `not` or `(`");
        };
        match tok.kind {
            TokenKind::LParen => {
                self.pos += 1;
                let inner = self.expr(depth + 1)?;
                match self.peek() {
                    Some(Token {
                        kind: TokenKind::RParen,
                        ..
                    }) => {
                        self.pos += 1;
                        Ok(inner)
                    }
                    _ => self.error("`)`"),
                }
            }
            TokenKind::Ident(ref s) if s == "true" || s == "false" => {
                self.pos += 1;
                Ok(Condition::Const(s == "true"))
            }
            TokenKind::Ident(ref s) if KEYWORDS.contains(&s.as_str()) => {
                self.error("an attribute name")
            }
            TokenKind::Ident(name) => {
                self.pos += 1;
                self.attributes.push(AttributeUse {
                    name: name.clone(),
                    offset: tok.offset,
                });
                self.comparison(name)
            }
            _ => self.error("an attribute, `not` or `(`"),
        }
    }

    fn comparison(&mut self, attr: String) -> Result<Condition, ConditionError> {
        let Some(tok) = self.peek().cloned() else {
            return self.error("an operator (==, !=, in, not in, starts_with, ends_with, is_set)");
        };
        self.pos += 1;
        match tok.kind {
            TokenKind::EqEq => Ok(Condition::Eq(attr, self.string()?)),
            TokenKind::NotEq => Ok(Condition::Ne(attr, self.string()?)),
            TokenKind::Ident(op) => match op.as_str() {
                "in" => Ok(Condition::In(attr, self.list()?)),
                "not" if self.is_keyword("in") => {
                    self.pos += 1;
                    Ok(Condition::NotIn(attr, self.list()?))
                }
                "starts_with" => Ok(Condition::StartsWith(attr, self.string()?)),
                "ends_with" => Ok(Condition::EndsWith(attr, self.string()?)),
                "is_set" => Ok(Condition::IsSet(attr)),
                "is_unset" => Ok(Condition::IsUnset(attr)),
                _ => {
                    self.pos -= 1;
                    self.error("an operator (==, !=, in, not in, starts_with, ends_with, is_set)")
                }
            },
            _ => {
                self.pos -= 1;
                self.error("an operator (==, !=, in, not in, starts_with, ends_with, is_set)")
            }
        }
    }

    fn string(&mut self) -> Result<String, ConditionError> {
        match self.peek().cloned() {
            Some(Token {
                kind: TokenKind::Str(s),
                ..
            }) => {
                self.pos += 1;
                Ok(s)
            }
            _ => self.error("a string in double quotes"),
        }
    }

    fn list(&mut self) -> Result<Vec<String>, ConditionError> {
        match self.peek() {
            Some(Token {
                kind: TokenKind::LBracket,
                ..
            }) => self.pos += 1,
            _ => return self.error("a list such as [\"Sales\", \"Marketing\"]"),
        }
        let mut items = Vec::new();
        loop {
            match self.peek().map(|t| t.kind.clone()) {
                Some(TokenKind::RBracket) => {
                    self.pos += 1;
                    return Ok(items);
                }
                Some(TokenKind::Str(_)) => {
                    items.push(self.string()?);
                    match self.peek().map(|t| t.kind.clone()) {
                        Some(TokenKind::Comma) => self.pos += 1,
                        Some(TokenKind::RBracket) => {}
                        _ => return self.error("`,` or `]`"),
                    }
                }
                _ => return self.error("a string or `]`"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_precedence_and_lists() {
        let c = Condition::parse(
            r#"department == "Sales" and not employment_type in ["contractor", "intern"] or title starts_with "VP""#,
        )
        .unwrap();
        match c {
            Condition::Or(parts) => {
                assert_eq!(parts.len(), 2);
                assert!(matches!(parts[0], Condition::And(_)));
            }
            other => panic!("expected or, got {other:?}"),
        }
    }

    #[test]
    fn reports_offsets() {
        let err = Condition::parse(r#"department = "Sales""#).unwrap_err();
        assert_eq!(err.offset, 11);
        assert!(err.message.contains("=="));
        let err = Condition::parse(r#"department == "Sales" and"#).unwrap_err();
        assert_eq!(err.offset, 25);
        let err = Condition::parse(r#"(department == "Sales""#).unwrap_err();
        assert!(err.message.contains("`)`"), "{}", err.message);
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let text = format!("{}true{}", "(".repeat(5000), ")".repeat(5000));
        assert!(Condition::parse(&text).is_err());
        let text = format!("{}true", "not ".repeat(5000));
        assert!(Condition::parse(&text).is_err());
    }

    #[test]
    fn display_round_trips() {
        let text = r#"not (a == "x\"y") and (b in ["1", "2"] or c not in []) and d is_set"#;
        let c = Condition::parse(text).unwrap();
        assert_eq!(Condition::parse(&c.to_string()).unwrap(), c);
    }
}
