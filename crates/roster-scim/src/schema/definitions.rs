//! The attribute definitions of the schemas Roster serves: core User and Group (RFC 7643 §4),
//! EnterpriseUser (§4.3), Roster's extension, and the common attributes (§3.1), with the
//! builders that keep each definition to what differs from the default.

use super::{
    AttrType, Attribute, ENTERPRISE_USER, GROUP, Mutability, ROSTER_USER, Returned, Schema, USER,
    Uniqueness,
};

/// The shape most attributes share: a single-valued, optional, read-write, case-insensitive
/// string returned by default. Builders below change what differs.
const fn base(name: &'static str, description: &'static str) -> Attribute {
    Attribute {
        name,
        attr_type: AttrType::String,
        multi_valued: false,
        description,
        required: false,
        case_exact: false,
        mutability: Mutability::ReadWrite,
        returned: Returned::Default,
        uniqueness: Uniqueness::None,
        canonical_values: &[],
        reference_types: &[],
        sub_attributes: Vec::new(),
    }
}

fn string(name: &'static str, description: &'static str) -> Attribute {
    base(name, description)
}

fn typed(name: &'static str, attr_type: AttrType, description: &'static str) -> Attribute {
    Attribute {
        attr_type,
        ..base(name, description)
    }
}

fn complex(name: &'static str, description: &'static str, subs: Vec<Attribute>) -> Attribute {
    Attribute {
        attr_type: AttrType::Complex,
        sub_attributes: subs,
        ..base(name, description)
    }
}

fn multi(mut attribute: Attribute) -> Attribute {
    attribute.multi_valued = true;
    attribute
}

fn read_only(mut attribute: Attribute) -> Attribute {
    attribute.mutability = Mutability::ReadOnly;
    attribute
}

fn reference(name: &'static str, types: &'static [&'static str], d: &'static str) -> Attribute {
    Attribute {
        attr_type: AttrType::Reference,
        reference_types: types,
        ..base(name, d)
    }
}

/// `value`, `display`, `type`, `primary` of the plural attributes in RFC 7643 §4.1.2. `type`
/// has canonical values in the RFC but they are advisory: Okta, Entra and scim2-tester send
/// others, so none are enforced (and none are advertised as a closed list).
fn plural(
    name: &'static str,
    value_type: AttrType,
    description: &'static str,
    extra: Vec<Attribute>,
) -> Attribute {
    let mut subs = vec![
        typed("value", value_type, "The attribute's value."),
        string(
            "display",
            "A human-readable name, primarily used for display purposes.",
        ),
        string("type", "A label indicating the attribute's function."),
        typed(
            "primary",
            AttrType::Boolean,
            "Whether this is the primary value; at most one value is primary.",
        ),
    ];
    subs.extend(extra);
    multi(complex(name, description, subs))
}

fn member_ref(name: &'static str, description: &'static str) -> Attribute {
    read_only(multi(complex(
        name,
        description,
        vec![
            read_only(string("value", "The identifier of the group.")),
            read_only(reference(
                "$ref",
                &["User", "Group"],
                "The URI of the group.",
            )),
            read_only(string("display", "A human-readable name.")),
            read_only(Attribute {
                canonical_values: &["direct", "indirect"],
                ..string(
                    "type",
                    "How the membership was derived: direct or indirect.",
                )
            }),
        ],
    )))
}

pub(super) fn user_schema() -> Schema {
    let name = complex(
        "name",
        "The components of the user's real name.",
        vec![
            string("formatted", "The full name, formatted for display."),
            string("familyName", "The family name (last name)."),
            string("givenName", "The given name (first name)."),
            string("middleName", "The middle name(s)."),
            string("honorificPrefix", "The honorific prefix(es), e.g. 'Ms.'."),
            string("honorificSuffix", "The honorific suffix(es), e.g. 'III'."),
        ],
    );
    let address = multi(complex(
        "addresses",
        "A physical mailing address for this user.",
        vec![
            string(
                "formatted",
                "The full mailing address, formatted for display.",
            ),
            string("streetAddress", "The full street address component."),
            string("locality", "The city or locality component."),
            string("region", "The state or region component."),
            string("postalCode", "The zip code or postal code component."),
            string(
                "country",
                "The country name component (ISO 3166-1 alpha-2).",
            ),
            string("type", "A label indicating the attribute's function."),
            typed(
                "primary",
                AttrType::Boolean,
                "Whether this is the primary address.",
            ),
        ],
    ));
    Schema {
        id: USER,
        name: "User",
        description: "User Account",
        attributes: vec![
            Attribute {
                required: true,
                uniqueness: Uniqueness::Server,
                ..string(
                    "userName",
                    "Unique identifier for the user, typically used to sign in; unique case-insensitively.",
                )
            },
            name,
            string("displayName", "The name of the user, suitable for display."),
            string("nickName", "The casual way to address the user."),
            reference(
                "profileUrl",
                &["external"],
                "A URI of the user's online profile.",
            ),
            string("title", "The user's title, such as 'Vice President'."),
            string(
                "userType",
                "The relationship between the organization and the user.",
            ),
            string(
                "preferredLanguage",
                "The user's preferred written or spoken language.",
            ),
            string("locale", "The user's default location for localisation."),
            string("timezone", "The user's time zone in IANA format."),
            typed(
                "active",
                AttrType::Boolean,
                "The user's administrative status.",
            ),
            Attribute {
                mutability: Mutability::WriteOnly,
                returned: Returned::Never,
                case_exact: true,
                ..string("password", "The user's cleartext password; never returned.")
            },
            plural(
                "emails",
                AttrType::String,
                "Email addresses for the user.",
                vec![],
            ),
            plural(
                "phoneNumbers",
                AttrType::String,
                "Phone numbers for the user.",
                vec![],
            ),
            plural(
                "ims",
                AttrType::String,
                "Instant messaging addresses.",
                vec![],
            ),
            plural(
                "photos",
                AttrType::Reference,
                "URLs of photos of the user.",
                vec![],
            ),
            address,
            member_ref(
                "groups",
                "The groups the user belongs to, direct or indirect; read-only (change membership through the Group).",
            ),
            plural(
                "entitlements",
                AttrType::String,
                "Entitlements of the user.",
                vec![],
            ),
            plural("roles", AttrType::String, "Roles of the user.", vec![]),
            plural(
                "x509Certificates",
                AttrType::Binary,
                "X.509 certificates issued to the user.",
                vec![],
            ),
        ],
    }
}

pub(super) fn group_schema() -> Schema {
    Schema {
        id: GROUP,
        name: "Group",
        description: "Group",
        attributes: vec![
            Attribute {
                required: true,
                ..string("displayName", "A human-readable name for the group.")
            },
            multi(complex(
                "members",
                "The members of the group.",
                vec![
                    Attribute {
                        mutability: Mutability::Immutable,
                        ..string("value", "The identifier of the member.")
                    },
                    Attribute {
                        mutability: Mutability::Immutable,
                        ..reference("$ref", &["User", "Group"], "The URI of the member.")
                    },
                    read_only(string("display", "A human-readable name for the member.")),
                    Attribute {
                        mutability: Mutability::Immutable,
                        canonical_values: &["User", "Group"],
                        ..string("type", "The type of the member: User or Group.")
                    },
                ],
            )),
        ],
    }
}

pub(super) fn enterprise_user_schema() -> Schema {
    Schema {
        id: ENTERPRISE_USER,
        name: "EnterpriseUser",
        description: "Enterprise User",
        attributes: vec![
            string(
                "employeeNumber",
                "A string identifier, typically numeric or alphanumeric, assigned to a person.",
            ),
            string("costCenter", "The name of a cost center."),
            string("organization", "The name of an organization."),
            string("division", "The name of a division."),
            string("department", "The name of a department."),
            complex(
                "manager",
                "The user's manager.",
                vec![
                    string(
                        "value",
                        "The id of the SCIM resource representing the user's manager.",
                    ),
                    reference("$ref", &["User"], "The URI of the manager's SCIM resource."),
                    read_only(string(
                        "displayName",
                        "The displayName of the user's manager.",
                    )),
                ],
            ),
        ],
    }
}

/// Person attributes that policies read and that EnterpriseUser or the core schema do not
/// already carry. Custom attributes from the policy are added as strings.
pub(super) fn roster_user_schema(custom_attributes: &[String]) -> Schema {
    let mut attributes = vec![
        string("team", "The person's team inside the department."),
        string("location", "Where the person works (office or Remote)."),
        Attribute {
            canonical_values: &["full_time", "part_time", "contractor", "intern"],
            ..string("employmentType", "The kind of employment.")
        },
        // Calendar days, not instants: HR systems and Okta (whose profiles have no date type)
        // send "2026-01-05", and a start date with a time zone shifts by a day somewhere. A
        // value that is not a day (or an RFC 3339 date-time, whose day is taken) is kept as
        // sent and quarantines the person at import, naming the field.
        string("startDate", "The first working day, as YYYY-MM-DD."),
        string("endDate", "The last working day, if known, as YYYY-MM-DD."),
    ];
    for name in custom_attributes {
        // Leaked once per distinct name when the schemas are built at start.
        let name: &'static str = Box::leak(name.clone().into_boxed_str());
        attributes.push(string(
            name,
            "A custom person attribute declared by the policy.",
        ));
    }
    Schema {
        id: ROSTER_USER,
        name: "RosterUser",
        description: "Person attributes Roster's access policies use",
        attributes,
    }
}

/// `id`, `externalId` and `meta` (RFC 7643 §3.1), common to every resource.
pub(super) fn common_attribute(name: &str) -> Option<&'static Attribute> {
    use std::sync::OnceLock;
    static COMMON: OnceLock<Vec<Attribute>> = OnceLock::new();
    let common = COMMON.get_or_init(|| {
        vec![
            Attribute {
                case_exact: true,
                mutability: Mutability::ReadOnly,
                returned: Returned::Always,
                uniqueness: Uniqueness::Server,
                ..string(
                    "id",
                    "The service provider's unique identifier for the resource.",
                )
            },
            Attribute {
                case_exact: true,
                ..string(
                    "externalId",
                    "The provisioning client's identifier for the resource.",
                )
            },
            read_only(complex(
                "meta",
                "Resource metadata.",
                vec![
                    read_only(Attribute {
                        case_exact: true,
                        ..string("resourceType", "The name of the resource type.")
                    }),
                    read_only(typed(
                        "created",
                        AttrType::DateTime,
                        "When the resource was added.",
                    )),
                    read_only(typed(
                        "lastModified",
                        AttrType::DateTime,
                        "When the resource was last changed.",
                    )),
                    read_only(reference("location", &["uri"], "The URI of the resource.")),
                    read_only(Attribute {
                        case_exact: true,
                        ..string("version", "The version (weak ETag) of the resource.")
                    }),
                ],
            )),
        ]
    });
    common.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}
