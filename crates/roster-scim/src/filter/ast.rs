use serde_json::Number;

/// `[URN ":"] attrName ["." subAttr]`. Names keep the case the client used; SCIM attribute
/// names are case-insensitive, so compare them with [`AttrPath::is`] / the schema resolver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    /// The schema URN when the path was qualified (`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`).
    pub urn: Option<String>,
    pub attr: String,
    pub sub_attr: Option<String>,
}

impl AttrPath {
    pub fn new(attr: impl Into<String>) -> Self {
        AttrPath {
            urn: None,
            attr: attr.into(),
            sub_attr: None,
        }
    }

    /// Is this the unqualified top-level attribute `name` (case-insensitively)?
    pub fn is(&self, name: &str) -> bool {
        self.urn.is_none() && self.sub_attr.is_none() && self.attr.eq_ignore_ascii_case(name)
    }

    /// The whole path read back as one URN (`urn:…:enterprise:2.0` + `User`), for PATCH paths
    /// that name an extension object rather than one of its attributes: the grammar cannot tell
    /// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User` from attribute `User` of
    /// schema `urn:…:enterprise:2.0`, so the caller checks this against its schema ids.
    pub fn as_schema_urn(&self) -> Option<String> {
        match (&self.urn, &self.sub_attr) {
            (Some(urn), None) => Some(format!("{urn}:{}", self.attr)),
            _ => None,
        }
    }
}

impl std::fmt::Display for AttrPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        write!(f, "{}", self.attr)?;
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

/// `compValue = false / null / true / number / string` (RFC 7644 §8).
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `attrPath pr`
    Present(AttrPath),
    /// `attrPath compareOp compValue`
    Compare(AttrPath, CompareOp, CompValue),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `attrPath "[" valFilter "]"`: some value of the multi-valued complex attribute `attr`
    /// matches `filter`, whose paths name sub-attributes of `attr` (their `attr` field is the
    /// sub-attribute name, `urn` and `sub_attr` are `None`).
    ValuePath {
        attr: AttrPath,
        filter: Box<Filter>,
    },
}

/// A PATCH `path` (RFC 7644 §3.5.2): `attrPath`, or `valuePath ["." subAttr]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    /// The attribute, possibly with a sub-attribute (`name.givenName`).
    pub attr: AttrPath,
    /// The value filter of `emails[type eq "work"]` (relative to `attr`'s sub-attributes).
    pub value_filter: Option<Filter>,
    /// The sub-attribute after a value filter: `emails[type eq "work"].value`.
    pub sub_attr_after_filter: Option<String>,
}

impl CompareOp {
    /// The lowercase keyword, as canonical filters print it.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }

    /// The operator for a keyword, ignoring case (`EQ`, `Eq` and `eq` are the same operator).
    pub fn from_keyword(word: &str) -> Option<Self> {
        const ALL: [CompareOp; 9] = [
            CompareOp::Eq,
            CompareOp::Ne,
            CompareOp::Co,
            CompareOp::Sw,
            CompareOp::Ew,
            CompareOp::Gt,
            CompareOp::Ge,
            CompareOp::Lt,
            CompareOp::Le,
        ];
        ALL.into_iter()
            .find(|op| op.as_str().eq_ignore_ascii_case(word))
    }
}

impl std::fmt::Display for CompareOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for CompValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CompValue::Null => f.write_str("null"),
            CompValue::Bool(b) => write!(f, "{b}"),
            CompValue::Number(n) => write!(f, "{n}"),
            // serde_json's escaping is exactly the JSON string grammar the filter uses.
            CompValue::String(s) => match serde_json::to_string(s) {
                Ok(quoted) => f.write_str(&quoted),
                Err(_) => Err(std::fmt::Error),
            },
        }
    }
}

impl Filter {
    /// Binding strength: `or` < `and` < everything else. Printing parenthesises by it.
    fn precedence(&self) -> u8 {
        match self {
            Filter::Or(..) => 1,
            Filter::And(..) => 2,
            _ => 3,
        }
    }

    /// Nesting depth of the tree (an expression alone is 1). Consumers that recurse over a
    /// filter can rely on the parser keeping this small (see [`super::MAX_TERMS`]).
    pub fn depth(&self) -> usize {
        match self {
            Filter::Present(_) | Filter::Compare(..) => 1,
            Filter::And(a, b) | Filter::Or(a, b) => 1 + a.depth().max(b.depth()),
            Filter::Not(inner) => 1 + inner.depth(),
            Filter::ValuePath { filter, .. } => 1 + filter.depth(),
        }
    }

    fn fmt_operand(&self, f: &mut std::fmt::Formatter<'_>, parens: bool) -> std::fmt::Result {
        if parens {
            write!(f, "({self})")
        } else {
            write!(f, "{self}")
        }
    }
}

/// Canonical SCIM syntax: lowercase keywords, single spaces, JSON-escaped strings, and only
/// the parentheses the tree needs (`and`/`or` associate to the left), so that parsing the
/// output gives back the same tree.
impl std::fmt::Display for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Filter::Present(path) => write!(f, "{path} pr"),
            Filter::Compare(path, op, value) => write!(f, "{path} {op} {value}"),
            Filter::And(a, b) | Filter::Or(a, b) => {
                let (keyword, own) = match self {
                    Filter::And(..) => ("and", 2),
                    _ => ("or", 1),
                };
                a.fmt_operand(f, a.precedence() < own)?;
                write!(f, " {keyword} ")?;
                b.fmt_operand(f, b.precedence() <= own)
            }
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::ValuePath { attr, filter } => write!(f, "{attr}[{filter}]"),
        }
    }
}

impl std::fmt::Display for PatchPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.attr)?;
        if let Some(filter) = &self.value_filter {
            write!(f, "[{filter}]")?;
        }
        if let Some(sub) = &self.sub_attr_after_filter {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}
