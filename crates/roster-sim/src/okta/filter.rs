//! Okta's `filter` and `search` expressions on `GET /api/v1/users` (reference §9.2):
//!
//! ```text
//! expr  := and ("or" and)*
//! and   := term ("and" term)*
//! term  := "(" expr ")" | ATTR OP VALUE | ATTR "pr"
//! VALUE := "quoted string" | true | false | number
//! ```
//!
//! `filter` allows only `status`, `lastUpdated`, `id`, `profile.login`, `profile.email`,
//! `profile.firstName` and `profile.lastName`, only `eq` except `lastUpdated` (`gt ge lt le`),
//! and compares case-sensitively. `search` allows any `profile.*` attribute and the top-level
//! `id, status, created, activated, statusChanged, lastUpdated`, `type.id`, with `eq sw co`
//! (`co` only on first name, last name, e-mail and login), `gt lt ge le` and `pr`; no `ne`.
//! Neither has `not`.

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Filter,
    Search,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Sw,
    Co,
    Gt,
    Ge,
    Lt,
    Le,
    Pr,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Cmp {
        attr: String,
        op: Op,
        value: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    Word(String),
    Text(String),
}

fn tokens(text: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push(Token::Open);
            }
            ')' => {
                chars.next();
                out.push(Token::Close);
            }
            '"' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        Some('\\') => match chars.next() {
                            Some(e) => s.push(e),
                            None => return Err("unterminated string".into()),
                        },
                        Some('"') => break,
                        Some(c) => s.push(c),
                        None => return Err("unterminated string".into()),
                    }
                }
                out.push(Token::Text(s));
            }
            _ => {
                let mut w = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || c == '(' || c == ')' || c == '"' {
                        break;
                    }
                    w.push(c);
                    chars.next();
                }
                out.push(Token::Word(w));
            }
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    mode: Mode,
}

fn keyword(t: Option<&Token>, k: &str) -> bool {
    matches!(t, Some(Token::Word(w)) if w.eq_ignore_ascii_case(k))
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn bump(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn expr(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while keyword(self.peek(), "or") {
            self.at += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.term()?;
        while keyword(self.peek(), "and") {
            self.at += 1;
            left = Expr::And(Box::new(left), Box::new(self.term()?));
        }
        Ok(left)
    }

    fn term(&mut self) -> Result<Expr, String> {
        match self.bump() {
            Some(Token::Open) => {
                let e = self.expr()?;
                match self.bump() {
                    Some(Token::Close) => Ok(e),
                    _ => Err("missing )".into()),
                }
            }
            Some(Token::Word(attr)) => {
                let op = match self.bump() {
                    Some(Token::Word(op)) => op.to_ascii_lowercase(),
                    _ => return Err(format!("an operator must follow {attr}")),
                };
                let op = match op.as_str() {
                    "eq" => Op::Eq,
                    "sw" => Op::Sw,
                    "co" => Op::Co,
                    "gt" => Op::Gt,
                    "ge" => Op::Ge,
                    "lt" => Op::Lt,
                    "le" => Op::Le,
                    "pr" => Op::Pr,
                    other => return Err(format!("unsupported operator {other}")),
                };
                let value = if op == Op::Pr {
                    None
                } else {
                    match self.bump() {
                        Some(Token::Text(v)) => Some(v),
                        Some(Token::Word(v))
                            if v == "true" || v == "false" || v.parse::<f64>().is_ok() =>
                        {
                            Some(v)
                        }
                        _ => return Err(format!("a value must follow {attr} {op:?}")),
                    }
                };
                self.allowed(&attr, op)?;
                Ok(Expr::Cmp { attr, op, value })
            }
            _ => Err("expected an attribute or (".into()),
        }
    }

    fn allowed(&self, attr: &str, op: Op) -> Result<(), String> {
        let name_like = matches!(
            attr,
            "profile.firstName" | "profile.lastName" | "profile.email" | "profile.login"
        );
        let ok = match self.mode {
            Mode::Filter => match attr {
                "lastUpdated" => matches!(op, Op::Eq | Op::Gt | Op::Ge | Op::Lt | Op::Le),
                "status" | "id" => op == Op::Eq,
                _ if name_like => op == Op::Eq,
                _ => false,
            },
            Mode::Search => {
                let attr_ok = attr.starts_with("profile.")
                    || matches!(
                        attr,
                        "id" | "status"
                            | "created"
                            | "activated"
                            | "statusChanged"
                            | "lastUpdated"
                            | "type.id"
                    );
                attr_ok && (op != Op::Co || name_like)
            }
        };
        if ok {
            Ok(())
        } else {
            Err(format!("{attr} cannot be used with {op:?} here"))
        }
    }
}

pub fn parse(text: &str, mode: Mode) -> Result<Expr, String> {
    let mut p = Parser {
        tokens: tokens(text)?,
        at: 0,
        mode,
    };
    let e = p.expr()?;
    if p.at != p.tokens.len() {
        return Err("unexpected text after the expression".into());
    }
    Ok(e)
}

fn lookup<'a>(user: &'a Value, attr: &str) -> Option<&'a Value> {
    attr.split('.').try_fold(user, |v, k| v.get(k))
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// Whether a user (in its JSON form) matches; `filter` compares case-sensitively.
pub fn matches(e: &Expr, user: &Value, mode: Mode) -> bool {
    match e {
        Expr::And(a, b) => matches(a, user, mode) && matches(b, user, mode),
        Expr::Or(a, b) => matches(a, user, mode) || matches(b, user, mode),
        Expr::Cmp { attr, op, value } => {
            let have = lookup(user, attr).and_then(text);
            let (Some(have), Some(want)) = (have.as_deref(), value.as_deref()) else {
                return *op == Op::Pr && lookup(user, attr).and_then(text).is_some();
            };
            let fold = |s: &str| {
                if mode == Mode::Search {
                    s.to_lowercase()
                } else {
                    s.to_string()
                }
            };
            let (have, want) = (fold(have), fold(want));
            // ISO instants of one format order as text.
            match op {
                Op::Eq => have == want,
                Op::Sw => have.starts_with(&want),
                Op::Co => have.contains(&want),
                Op::Gt => have > want,
                Op::Ge => have >= want,
                Op::Lt => have < want,
                Op::Le => have <= want,
                Op::Pr => true,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn filter_grammar_is_the_documented_subset() {
        let u = json!({"status": "DEPROVISIONED", "lastUpdated": "2026-11-20T10:00:00.000Z",
                       "profile": {"login": "a@x", "department": "Sales"}});
        let f = |t: &str| parse(t, Mode::Filter);
        assert!(matches(
            &f(r#"status eq "DEPROVISIONED""#).unwrap(),
            &u,
            Mode::Filter
        ));
        assert!(!matches(
            &f(r#"status eq "deprovisioned""#).unwrap(),
            &u,
            Mode::Filter
        ));
        assert!(matches(
            &f(r#"(status eq "ACTIVE" or status eq "DEPROVISIONED") and lastUpdated gt "2026-11-01T00:00:00.000Z""#).unwrap(),
            &u,
            Mode::Filter
        ));
        assert!(f(r#"status sw "DE""#).is_err());
        assert!(f(r#"profile.department eq "Sales""#).is_err());
        assert!(f(r#"status ne "ACTIVE""#).is_err());
        assert!(f(r#"status eq "ACTIVE" and"#).is_err());
        let s = |t: &str| parse(t, Mode::Search);
        assert!(matches(
            &s(r#"profile.department eq "sales""#).unwrap(),
            &u,
            Mode::Search
        ));
        assert!(matches(&s("profile.login pr").unwrap(), &u, Mode::Search));
        assert!(s(r#"profile.department co "al""#).is_err());
    }
}
