//! In-memory filter evaluation: RFC 7644 §3.4.2.2 semantics against User documents resolved by
//! the standard schemas, and element matching for value-filtered PATCH paths.

use roster_scim::filter::eval::{matches_element, matches_resource, validate};
use roster_scim::schema::{
    AttrType, Attribute, Mutability, ResourceType, Returned, Schemas, Uniqueness,
};
use roster_scim::{ScimType, parse_filter};
use serde_json::{Value, json};

fn user() -> Value {
    json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "BJensen-Ext",
        "userName": "Bjensen@Example.com",
        "name": { "familyName": "Jensen", "givenName": "Barbara" },
        "displayName": "Babs Jensen",
        "title": "",
        "active": true,
        "emails": [
            { "value": "bjensen@example.com", "type": "work", "primary": true },
            { "value": "babs@jensen.org", "type": "home" }
        ],
        "meta": {
            "resourceType": "User",
            "created": "2010-01-23T04:56:22Z",
            "lastModified": "2011-05-13T04:42:34Z",
            "version": "W/\"3694e05e9dff591\""
        },
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "701984",
            "costCenter": "4130",
            "manager": { "value": "26118915-6090-4610-87e4-49d8ca9f808d" }
        },
        "x-unknown": "Mixed Case",
        "x-score": 7
    })
}

/// Does the standard User schema's evaluation of `filter` on `doc` give `expected`?
fn check(doc: &Value, filter: &str, expected: bool) {
    let schemas = Schemas::standard(&[]);
    let parsed = parse_filter(filter).unwrap_or_else(|e| panic!("{filter}: {}", e.detail));
    let resolve = |p: &roster_scim::AttrPath| schemas.resolve(ResourceType::User, p);
    assert_eq!(
        matches_resource(&parsed, doc, &resolve),
        expected,
        "{filter}"
    );
}

#[test]
fn string_operators_follow_case_exactness() {
    let u = user();
    // userName is caseExact=false; id and externalId are caseExact=true.
    for (filter, expected) in [
        (r#"userName eq "bjensen@example.com""#, true),
        (r#"USERNAME EQ "BJENSEN@EXAMPLE.COM""#, true),
        (r#"userName ne "bjensen@example.com""#, false),
        (r#"userName co "JENSEN@""#, true),
        (r#"userName sw "bj""#, true),
        (r#"userName sw "jensen""#, false),
        (r#"userName ew ".COM""#, true),
        (r#"userName ew "example""#, false),
        (r#"externalId eq "BJensen-Ext""#, true),
        (r#"externalId eq "bjensen-ext""#, false),
        (r#"externalId co "jensen""#, false),
        (r#"externalId ne "bjensen-ext""#, true),
        (r#"userName gt "bjensen""#, true),
        (r#"userName lt "bjensen""#, false),
        (r#"userName ge "BJENSEN@EXAMPLE.COM""#, true),
        (r#"userName le "bjensen@example.com""#, true),
        (r#"x-unknown eq "mixed case""#, true),
        (r#"name.familyName co "ens""#, true),
        (
            r#"name.familyName eq "Jensen" and name.givenName sw "bar""#,
            true,
        ),
    ] {
        check(&u, filter, expected);
    }
}

#[test]
fn multi_valued_attributes_match_if_any_value_matches() {
    let u = user();
    for (filter, expected) in [
        (r#"emails.value eq "babs@jensen.org""#, true),
        (r#"emails.type eq "home""#, true),
        (r#"emails.type eq "other""#, false),
        // Any value: one email is not "work".
        (r#"emails.type ne "work""#, true),
        // A complex attribute without a sub-attribute compares its `value`.
        (r#"emails co "jensen.org""#, true),
        (r#"emails eq "nobody@example.com""#, false),
        (
            r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
            true,
        ),
        // The value filter binds both conditions to the same element.
        (
            r#"emails[type eq "work" and value co "@example.com"]"#,
            true,
        ),
        (
            r#"emails[type eq "home" and value co "@example.com"]"#,
            false,
        ),
        (
            r#"emails.type eq "home" and emails.value co "@example.com""#,
            true,
        ),
        (r#"emails[primary eq true]"#, true),
        (r#"emails[type eq "home" and primary eq true]"#, false),
        (r#"emails[not (type eq "work")]"#, true),
        (
            r#"emails[type eq "home"] and not (emails[type eq "other"])"#,
            true,
        ),
        (r#"addresses[type eq "work"]"#, false),
    ] {
        check(&u, filter, expected);
    }
}

#[test]
fn presence_and_absent_values() {
    let u = user();
    for (filter, expected) in [
        ("displayName pr", true),
        // An empty string is not a value.
        ("title pr", false),
        ("nickName pr", false),
        ("name pr", true),
        ("emails pr", true),
        ("emails.primary pr", true),
        ("addresses pr", false),
        ("meta.lastModified pr", true),
        // Absent is null: it equals null and differs from every value.
        ("nickName eq null", true),
        ("nickName ne null", false),
        (r#"nickName ne "x""#, true),
        (r#"nickName eq "x""#, false),
        (r#"nickName co "x""#, false),
        (r#"nickName gt "a""#, false),
        ("displayName eq null", false),
        ("displayName ne null", true),
        (r#"not (nickName eq "x")"#, true),
    ] {
        check(&u, filter, expected);
    }
    check(
        &json!({"emails": [], "name": {"givenName": null}}),
        "emails pr or name pr",
        false,
    );
    check(
        &json!({"emails": [{"value": ""}]}),
        "emails.value pr",
        false,
    );
}

#[test]
fn booleans_numbers_and_date_times() {
    let u = user();
    for (filter, expected) in [
        ("active eq true", true),
        ("active eq TRUE", true),
        ("active ne true", false),
        ("active eq false", false),
        // Entra sends booleans as strings.
        (r#"active eq "True""#, true),
        // Ordering a boolean matches nothing (validate() rejects it with 400).
        ("active gt false", false),
        ("active co true", false),
        // dateTime compares as an instant, whatever the offset says.
        (r#"meta.lastModified gt "2011-05-13T04:42:33Z""#, true),
        (r#"meta.lastModified gt "2011-05-13T06:42:33+02:00""#, true),
        (r#"meta.lastModified eq "2011-05-13T06:42:34+02:00""#, true),
        (r#"meta.lastModified lt "2011-05-13T04:42:34Z""#, false),
        (r#"meta.lastModified le "2011-05-13T04:42:34Z""#, true),
        (r#"meta.lastModified ge "2012-01-01T00:00:00Z""#, false),
        // Unparseable dates fall back to string comparison.
        (r#"meta.lastModified sw "2011-05""#, true),
        (r#"meta.lastModified gt "2011""#, true),
        // Numbers of unknown attributes compare numerically.
        ("x-score gt 6.5", true),
        ("x-score eq 7.0", true),
        ("x-score lt 7", false),
        ("x-score le 7", true),
        ("x-score eq 70", false),
        ("x-score co 7", false),
    ] {
        check(&u, filter, expected);
    }
}

#[test]
fn enterprise_extension_under_its_urn() {
    let u = user();
    let urn = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    for (filter, expected) in [
        (format!("{urn}:employeeNumber eq \"701984\""), true),
        (format!("{urn}:employeeNumber eq \"701985\""), false),
        (format!("{urn}:costCenter sw \"41\""), true),
        (
            format!("{urn}:manager.value eq \"26118915-6090-4610-87e4-49d8ca9f808d\""),
            true,
        ),
        (format!("{urn}:manager pr"), true),
        (format!("{urn}:division pr"), false),
        (
            format!("{}:employeeNumber eq \"701984\"", urn.to_uppercase()),
            true,
        ),
        // Core attributes qualified by the core URN stay at the top.
        (
            "urn:ietf:params:scim:schemas:core:2.0:User:userName sw \"bjensen\"".to_string(),
            true,
        ),
        // An unqualified employeeNumber is not a core attribute and not at the top.
        ("employeeNumber eq \"701984\"".to_string(), false),
    ] {
        check(&u, &filter, expected);
    }
    // An extension the schemas do not know is still looked up under its URN key.
    let doc = json!({"urn:example:ext:1.0:User": {"badge": "A-17"}});
    check(&doc, "urn:example:ext:1.0:User:badge eq \"a-17\"", true);
    check(&doc, "badge pr", false);
}

#[test]
fn logical_operators_combine() {
    let u = user();
    for (filter, expected) in [
        (r#"userName pr and active eq false"#, false),
        (r#"userName pr or active eq false"#, true),
        (r#"not (active eq false)"#, true),
        (r#"nickName pr or title pr or displayName sw "babs""#, true),
        (
            r#"(nickName pr or title pr) and displayName sw "babs""#,
            false,
        ),
        (
            r#"nickName pr or title pr and displayName sw "babs""#,
            false,
        ),
        (r#"displayName sw "babs" or title pr and nickName pr"#, true),
    ] {
        check(&u, filter, expected);
    }
}

fn attr(name: &'static str, attr_type: AttrType, case_exact: bool) -> Attribute {
    Attribute {
        name,
        attr_type,
        multi_valued: false,
        description: "",
        required: false,
        case_exact,
        mutability: Mutability::ReadWrite,
        returned: Returned::Default,
        uniqueness: Uniqueness::None,
        canonical_values: &[],
        reference_types: &[],
        sub_attributes: Vec::new(),
    }
}

#[test]
fn element_matching_for_patch_value_paths() {
    let subs = vec![
        attr("value", AttrType::String, true),
        attr("type", AttrType::String, false),
        attr("primary", AttrType::Boolean, false),
    ];
    let element = json!({"Value": "ABC-1", "type": "Work", "primary": true, "extra": "Zed"});
    let inner = |filter: &str| {
        let f = parse_filter(filter).unwrap();
        let roster_scim::Filter::ValuePath { filter, .. } = f else {
            panic!("{filter}")
        };
        matches_element(&filter, &element, &subs)
    };
    // Keys match case-insensitively; values by each sub-attribute's caseExact.
    assert!(inner(r#"x[type eq "work"]"#));
    assert!(inner(r#"x[value eq "ABC-1"]"#));
    assert!(!inner(r#"x[value eq "abc-1"]"#));
    assert!(inner(r#"x[primary eq true and type sw "W"]"#));
    // Unknown sub-attributes compare as case-insensitive strings.
    assert!(inner(r#"x[extra eq "zed"]"#));
    assert!(!inner(r#"x[missing pr]"#));
    assert!(inner(r#"x[missing ne "a"]"#));
    // A simple multi-valued attribute's element is the value itself.
    let f = parse_filter(r#"value eq "admin""#).unwrap();
    assert!(matches_element(&f, &json!("Admin"), &[]));
    assert!(!matches_element(&f, &json!("root"), &[]));
}

#[test]
fn members_filter_as_entra_sends_it() {
    let schemas = Schemas::standard(&[]);
    let group = json!({
        "displayName": "Engineering",
        "members": [
            {"value": "2819c223-7f76-453a-919d-413861904646", "display": "Babs"},
            {"value": "902c246b-6245-4190-8e05-00816be7344a"}
        ]
    });
    let resolve = |p: &roster_scim::AttrPath| schemas.resolve(ResourceType::Group, p);
    let hit = parse_filter(r#"members[value eq "902c246b-6245-4190-8e05-00816be7344a"]"#).unwrap();
    let miss = parse_filter(r#"members[value eq "902C246B-6245-4190-8E05-00816BE7344A"]"#).unwrap();
    assert!(matches_resource(&hit, &group, &resolve));
    // members.value is caseExact in the Group schema only if the schema says so; check it
    // agrees with the definition rather than assuming.
    let case_exact = schemas
        .resolve(
            ResourceType::Group,
            &roster_scim::AttrPath {
                urn: None,
                attr: "members".into(),
                sub_attr: Some("value".into()),
            },
        )
        .expect("members.value resolves")
        .leaf()
        .case_exact;
    assert_eq!(matches_resource(&miss, &group, &resolve), !case_exact);
}

#[test]
fn validate_rejects_ordering_booleans() {
    let schemas = Schemas::standard(&[]);
    let resolve = |p: &roster_scim::AttrPath| schemas.resolve(ResourceType::User, p);
    for bad in [
        "active gt true",
        "userName pr and not (active le false)",
        "emails[primary lt true]",
    ] {
        let err = validate(&parse_filter(bad).unwrap(), &resolve).expect_err(bad);
        assert_eq!(
            (err.status, err.scim_type),
            (400, Some(ScimType::InvalidFilter)),
            "{bad}"
        );
        assert!(err.detail.contains("boolean"), "{}", err.detail);
    }
    for good in [
        "active eq true",
        "userName gt \"a\"",
        "emails[primary eq true]",
        "x-unknown gt 1",
    ] {
        validate(&parse_filter(good).unwrap(), &resolve).expect(good);
    }
}
