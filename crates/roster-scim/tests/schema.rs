use roster_scim::AttrPath;
use roster_scim::schema::{
    AttrType, ENTERPRISE_USER, GROUP, Mutability, ROSTER_USER, ResourceType, Returned, Schemas,
    USER,
};

fn path(urn: Option<&str>, attr: &str, sub: Option<&str>) -> AttrPath {
    AttrPath {
        urn: urn.map(str::to_string),
        attr: attr.to_string(),
        sub_attr: sub.map(str::to_string),
    }
}

#[test]
fn resolves_core_common_sub_and_extension_paths_case_insensitively() {
    let s = Schemas::standard(&["cost_code".to_string()]);
    let user = ResourceType::User;
    let r = s.resolve(user, &path(None, "USERNAME", None)).unwrap();
    assert_eq!((r.schema, r.attribute.name), (USER, "userName"));
    assert!(!r.leaf().case_exact);

    let r = s.resolve(user, &path(None, "id", None)).unwrap();
    assert!(r.leaf().case_exact);
    assert_eq!(r.leaf().returned, Returned::Always);

    let r = s
        .resolve(user, &path(None, "meta", Some("lastModified")))
        .unwrap();
    assert_eq!(r.leaf().attr_type, AttrType::DateTime);

    let r = s
        .resolve(user, &path(None, "emails", Some("Value")))
        .unwrap();
    assert!(r.attribute.multi_valued);
    assert_eq!(r.leaf().name, "value");

    let r = s
        .resolve(
            user,
            &path(
                Some(&ENTERPRISE_USER.to_uppercase()),
                "manager",
                Some("value"),
            ),
        )
        .unwrap();
    assert_eq!(r.schema, ENTERPRISE_USER);

    let r = s
        .resolve(user, &path(Some(USER), "name", Some("familyName")))
        .unwrap();
    assert_eq!(r.schema, USER);

    let r = s
        .resolve(user, &path(Some(ROSTER_USER), "cost_code", None))
        .unwrap();
    assert_eq!(r.leaf().attr_type, AttrType::String);

    let r = s.resolve(user, &path(None, "groups", None)).unwrap();
    assert_eq!(r.attribute.mutability, Mutability::ReadOnly);
    assert_eq!(
        s.resolve(user, &path(None, "password", None))
            .unwrap()
            .leaf()
            .returned,
        Returned::Never
    );
}

#[test]
fn unknown_attributes_and_paths_below_simple_attributes_do_not_resolve() {
    let s = Schemas::standard(&[]);
    assert!(
        s.resolve(ResourceType::User, &path(None, "shoeSize", None))
            .is_none()
    );
    assert!(
        s.resolve(ResourceType::User, &path(None, "userName", Some("x")))
            .is_none()
    );
    assert!(
        s.resolve(ResourceType::Group, &path(None, "userName", None))
            .is_none()
    );
    // The enterprise extension belongs to User only.
    assert!(
        s.resolve(
            ResourceType::Group,
            &path(Some(ENTERPRISE_USER), "department", None)
        )
        .is_none()
    );
    let r = s
        .resolve(ResourceType::Group, &path(None, "members", Some("value")))
        .unwrap();
    assert_eq!(r.schema, GROUP);
}

#[test]
fn schema_json_carries_every_characteristic() {
    let s = Schemas::standard(&[]);
    let json = s.user.to_json("http://x/scim/v2/Schemas/u");
    let attrs = json["attributes"].as_array().unwrap();
    let user_name = attrs.iter().find(|a| a["name"] == "userName").unwrap();
    assert_eq!(user_name["required"], true);
    assert_eq!(user_name["uniqueness"], "server");
    assert_eq!(user_name["caseExact"], false);
    assert_eq!(user_name["mutability"], "readWrite");
    assert_eq!(user_name["returned"], "default");
    let emails = attrs.iter().find(|a| a["name"] == "emails").unwrap();
    assert_eq!(emails["multiValued"], true);
    assert_eq!(emails["type"], "complex");
    assert!(
        emails["subAttributes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["name"] == "primary")
    );
    let rt = ResourceType::User.to_json("http://x/scim/v2/ResourceTypes/User");
    assert_eq!(rt["endpoint"], "/Users");
    assert_eq!(rt["schemaExtensions"][0]["schema"], ENTERPRISE_USER);
    assert_eq!(rt["schemaExtensions"][0]["required"], false);
}
