//! The schemas Roster serves and enforces (RFC 7643 §2, §4, §7, §8.7): core User and Group,
//! the EnterpriseUser extension, and Roster's extension for the person attributes policies
//! use. `/Schemas` is rendered from these same definitions, so what is advertised is what is
//! enforced.

use serde::Serialize;

mod definitions;

use definitions::{
    common_attribute, enterprise_user_schema, group_schema, roster_user_schema, user_schema,
};

pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const ROSTER_USER: &str = "urn:roster:params:scim:schemas:extension:roster:1.0:User";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Reference,
    Complex,
    Binary,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Uniqueness {
    None,
    Server,
    Global,
}

/// One attribute definition with the characteristics of RFC 7643 §2.2 and §7.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    pub name: &'static str,
    pub attr_type: AttrType,
    pub multi_valued: bool,
    pub description: &'static str,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub uniqueness: Uniqueness,
    pub canonical_values: &'static [&'static str],
    pub reference_types: &'static [&'static str],
    pub sub_attributes: Vec<Attribute>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub attributes: Vec<Attribute>,
}

/// The two resource types Roster serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceType {
    User,
    Group,
}

impl ResourceType {
    pub fn name(self) -> &'static str {
        match self {
            ResourceType::User => "User",
            ResourceType::Group => "Group",
        }
    }

    pub fn endpoint(self) -> &'static str {
        match self {
            ResourceType::User => "/Users",
            ResourceType::Group => "/Groups",
        }
    }

    pub fn core_schema(self) -> &'static str {
        match self {
            ResourceType::User => USER,
            ResourceType::Group => GROUP,
        }
    }

    /// Extension schema URNs (none is required).
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            ResourceType::User => &[ENTERPRISE_USER, ROSTER_USER],
            ResourceType::Group => &[],
        }
    }
}

/// An attribute path resolved against the schemas: which schema, which attribute, and which
/// sub-attribute (for `name.givenName`, `emails.value`, `manager.value`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resolved<'a> {
    pub schema: &'static str,
    pub attribute: &'a Attribute,
    pub sub_attribute: Option<&'a Attribute>,
}

impl Resolved<'_> {
    /// The attribute the path ends at (the sub-attribute when there is one).
    pub fn leaf(&self) -> &Attribute {
        self.sub_attribute.unwrap_or(self.attribute)
    }
}

/// Every schema Roster serves, with lookups by path.
#[derive(Debug, Clone)]
pub struct Schemas {
    pub user: Schema,
    pub group: Schema,
    pub enterprise_user: Schema,
    /// Attributes from the policy's person attributes (custom attributes included).
    pub roster_user: Schema,
}

fn find<'a>(attributes: &'a [Attribute], name: &str) -> Option<&'a Attribute> {
    attributes
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case(name))
}

impl Schemas {
    /// The schemas with the policy's custom person attributes in Roster's extension.
    pub fn standard(custom_attributes: &[String]) -> Self {
        Schemas {
            user: user_schema(),
            group: group_schema(),
            enterprise_user: enterprise_user_schema(),
            roster_user: roster_user_schema(custom_attributes),
        }
    }

    /// Every schema, in the order `/Schemas` lists them.
    pub fn all(&self) -> [&Schema; 4] {
        [
            &self.user,
            &self.group,
            &self.enterprise_user,
            &self.roster_user,
        ]
    }

    /// The schema with this URN (case-insensitively), if served.
    pub fn by_id(&self, urn: &str) -> Option<&Schema> {
        self.all()
            .into_iter()
            .find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    pub fn core(&self, rt: ResourceType) -> &Schema {
        match rt {
            ResourceType::User => &self.user,
            ResourceType::Group => &self.group,
        }
    }

    /// The extension schemas a resource type allows.
    pub fn extensions(&self, rt: ResourceType) -> Vec<&Schema> {
        match rt {
            ResourceType::User => vec![&self.enterprise_user, &self.roster_user],
            ResourceType::Group => Vec::new(),
        }
    }

    /// Resolves an attribute path for a resource type. An unqualified name is looked up in
    /// the common attributes (`id`, `externalId`, `meta`), then the core schema; a URN names
    /// the core or an extension schema (the URN comparison ignores case, as URNs do).
    /// `None` when the attribute or sub-attribute does not exist, or the path goes below a
    /// simple attribute.
    pub fn resolve(&self, rt: ResourceType, path: &crate::AttrPath) -> Option<Resolved<'_>> {
        let (schema, attribute): (&'static str, &Attribute) = match &path.urn {
            None => match common_attribute(&path.attr) {
                Some(a) => (self.core(rt).id, a),
                None => {
                    let core = self.core(rt);
                    (core.id, find(&core.attributes, &path.attr)?)
                }
            },
            Some(urn) => {
                let schema = std::iter::once(self.core(rt))
                    .chain(self.extensions(rt))
                    .find(|s| s.id.eq_ignore_ascii_case(urn))?;
                let attribute = find(&schema.attributes, &path.attr).or_else(|| {
                    common_attribute(&path.attr).filter(|_| schema.id == self.core(rt).id)
                })?;
                (schema.id, attribute)
            }
        };
        let sub_attribute = match &path.sub_attr {
            None => None,
            Some(sub) => Some(find(&attribute.sub_attributes, sub)?),
        };
        Some(Resolved {
            schema,
            attribute,
            sub_attribute,
        })
    }

    /// Where an attribute of `schema` lives in a resource document: extension attributes sit
    /// under the extension's URN key, core and common ones at the top.
    pub fn is_extension(&self, schema: &str) -> bool {
        schema != USER && schema != GROUP
    }
}

impl Attribute {
    /// The RFC 7643 §7 JSON form, as `/Schemas` serves it.
    pub fn to_json(&self) -> serde_json::Value {
        let mut out = serde_json::json!({
            "name": self.name,
            "type": self.attr_type,
            "multiValued": self.multi_valued,
            "description": self.description,
            "required": self.required,
            "mutability": self.mutability,
            "returned": self.returned,
        });
        if self.attr_type != AttrType::Complex {
            out["caseExact"] = self.case_exact.into();
            out["uniqueness"] = serde_json::to_value(self.uniqueness).unwrap_or_default();
        }
        if !self.canonical_values.is_empty() {
            out["canonicalValues"] = self.canonical_values.into();
        }
        if !self.reference_types.is_empty() {
            out["referenceTypes"] = self.reference_types.into();
        }
        if !self.sub_attributes.is_empty() {
            out["subAttributes"] = self
                .sub_attributes
                .iter()
                .map(Attribute::to_json)
                .collect::<Vec<_>>()
                .into();
        }
        out
    }
}

impl Schema {
    /// The RFC 7643 §7 schema resource; `location` is the absolute URL of `/Schemas/{id}`.
    pub fn to_json(&self, location: &str) -> serde_json::Value {
        serde_json::json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": self.attributes.iter().map(Attribute::to_json).collect::<Vec<_>>(),
            "meta": {"resourceType": "Schema", "location": location},
        })
    }
}

impl ResourceType {
    pub const ALL: [ResourceType; 2] = [ResourceType::User, ResourceType::Group];

    /// Case-insensitive lookup by name (`User`, `Group`).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|rt| rt.name().eq_ignore_ascii_case(name))
    }

    /// The RFC 7643 §6 resource type resource; `location` is the absolute URL of
    /// `/ResourceTypes/{name}`.
    pub fn to_json(self, location: &str) -> serde_json::Value {
        serde_json::json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": self.name(),
            "name": self.name(),
            "endpoint": self.endpoint(),
            "description": match self {
                ResourceType::User => "User Account",
                ResourceType::Group => "Group",
            },
            "schema": self.core_schema(),
            "schemaExtensions": self
                .extensions()
                .iter()
                .map(|urn| serde_json::json!({"schema": urn, "required": false}))
                .collect::<Vec<_>>(),
            "meta": {"resourceType": "ResourceType", "location": location},
        })
    }
}
