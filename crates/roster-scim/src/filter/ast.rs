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
