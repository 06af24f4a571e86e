//! Property tests of the PATCH engine: random valid operations on random users never panic,
//! keep the document valid (what POST/PUT would store), apply atomically, and are idempotent
//! for `add` and `replace`; arbitrary request bodies never panic.

use proptest::prelude::*;
use roster_scim::patch::{PATCH_OP, apply_patch};
use roster_scim::resource::validate_for_write;
use roster_scim::schema::{ENTERPRISE_USER, ResourceType, Schemas, USER};
use serde_json::{Map, Value, json};

fn schemas() -> Schemas {
    Schemas::standard(&["badge".to_string()])
}

fn word() -> impl Strategy<Value = String> {
    "[a-zA-Z]{1,6}"
}

fn email_type() -> impl Strategy<Value = String> {
    prop_oneof![Just("work"), Just("home"), Just("other")].prop_map(str::to_string)
}

fn email() -> impl Strategy<Value = Value> {
    (word(), email_type(), proptest::option::of(any::<bool>())).prop_map(|(v, t, primary)| {
        let mut e = json!({"value": format!("{v}@x.org"), "type": t});
        if let Some(p) = primary {
            e["primary"] = json!(p);
        }
        e
    })
}

fn boolish() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        Just(json!("True")),
        Just(json!("False")),
        Just(json!("true")),
        Just(json!("FALSE")),
    ]
}

/// A stored user: a random valid body as POST would store it, plus `id` and `meta`.
fn stored_user() -> impl Strategy<Value = Value> {
    (
        word(),
        proptest::option::of(word()),
        proptest::option::of(boolish()),
        proptest::option::of((proptest::option::of(word()), proptest::option::of(word()))),
        proptest::collection::vec(email(), 0..4),
        proptest::option::of((proptest::option::of(word()), proptest::option::of(word()))),
    )
        .prop_map(|(user_name, display, active, name, mut emails, ext)| {
            let mut doc = json!({"schemas": [USER, ENTERPRISE_USER], "userName": user_name});
            if let Some(d) = display {
                doc["displayName"] = json!(d);
            }
            if let Some(a) = active {
                doc["active"] = a;
            }
            if let Some((given, family)) = name {
                doc["name"] = json!({"givenName": given, "familyName": family});
            }
            let mut seen_primary = false;
            for e in &mut emails {
                if e["primary"] == true {
                    if seen_primary {
                        e["primary"] = json!(false);
                    }
                    seen_primary = true;
                }
            }
            doc["emails"] = json!(emails);
            if let Some((dept, manager)) = ext {
                doc[ENTERPRISE_USER] = json!({"department": dept, "manager": manager});
            }
            let mut stored = validate_for_write(&schemas(), ResourceType::User, doc, None)
                .expect("generated users are valid");
            stored["id"] = json!("0b7c1a52-0000-4000-8000-000000000001");
            stored["meta"] = json!({"resourceType": "User", "version": "W/\"1\""});
            stored
        })
}

fn op_name(op: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![
        Just(op.to_string()),
        Just(op.to_uppercase()),
        Just(format!("{}{}", op[..1].to_uppercase(), &op[1..])),
    ]
}

fn simple_path() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("displayName"),
        Just("title"),
        Just("nickName"),
        Just("name.givenName"),
        Just("name.familyName"),
        Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"),
        Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"),
    ]
    .prop_map(str::to_string)
}

/// One valid operation (it may still fail, e.g. `noTarget` when a filter matches nothing).
fn operation() -> impl Strategy<Value = Value> {
    let emails_filter = || email_type().prop_map(|t| format!("emails[type eq \"{t}\"]"));
    prop_oneof![
        (op_name("replace"), simple_path(), word()).prop_map(|(op, p, v)| json!({"op": op, "path": p, "value": v})),
        (op_name("add"), simple_path(), word()).prop_map(|(op, p, v)| json!({"op": op, "path": p, "value": v})),
        (op_name("remove"), simple_path()).prop_map(|(op, p)| json!({"op": op, "path": p})),
        (op_name("replace"), simple_path()).prop_map(|(op, p)| json!({"op": op, "path": p, "value": null})),
        (op_name("replace"), boolish()).prop_map(|(op, v)| json!({"op": op, "path": "active", "value": v})),
        (op_name("replace"), boolish()).prop_map(|(op, v)| json!({"op": op, "value": {"active": v}})),
        (op_name("replace"), word()).prop_map(|(op, v)| json!({"op": op, "path": "userName", "value": v})),
        (op_name("add"), proptest::collection::vec(email(), 1..3))
            .prop_map(|(op, v)| json!({"op": op, "path": "emails", "value": v})),
        (op_name("replace"), proptest::collection::vec(email(), 0..3))
            .prop_map(|(op, v)| json!({"op": op, "path": "emails", "value": v})),
        (op_name("replace"), emails_filter(), word())
            .prop_map(|(op, f, v)| json!({"op": op, "path": format!("{f}.value"), "value": format!("{v}@y.org")})),
        (op_name("add"), emails_filter(), boolish())
            .prop_map(|(op, f, v)| json!({"op": op, "path": format!("{f}.primary"), "value": v})),
        (op_name("remove"), emails_filter()).prop_map(|(op, f)| json!({"op": op, "path": f})),
        (op_name("replace"), word(), word()).prop_map(|(op, g, d)| json!({"op": op, "value": {
            "name.givenName": g,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": d,
        }})),
        (op_name("add"), word()).prop_map(|(op, m)| json!({"op": op,
            "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": m})),
        (op_name("add"), word()).prop_map(|(op, d)| json!({"op": op,
            "value": {ENTERPRISE_USER: {"division": d}}})),
        op_name("remove").prop_map(|op| json!({"op": op, "path": ENTERPRISE_USER})),
        (op_name("remove"), email_type()).prop_map(|(op, t)| json!({"op": op, "path": "emails",
            "value": [{"type": t}]})),
    ]
}

fn request(ops: &[Value]) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": ops})
}

/// The document as POST/PUT would store it: what a PATCH result must equal, `id` and `meta`
/// aside.
fn assert_valid(doc: &Value) {
    let mut without_server_fields: Map<String, Value> = doc.as_object().unwrap().clone();
    without_server_fields.remove("id");
    without_server_fields.remove("meta");
    let revalidated = validate_for_write(&schemas(), ResourceType::User, doc.clone(), None)
        .unwrap_or_else(|e| panic!("patched document is invalid: {e}\n{doc:#}"));
    assert_eq!(
        revalidated,
        Value::Object(without_server_fields),
        "PATCH stored a form POST would not"
    );
    if let Some(emails) = doc.get("emails").and_then(Value::as_array) {
        assert!(emails.iter().filter(|e| e["primary"] == true).count() <= 1);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn valid_operations_keep_the_document_valid(mut doc in stored_user(), ops in proptest::collection::vec(operation(), 1..8)) {
        let s = schemas();
        for op in ops {
            let before = doc.clone();
            match apply_patch(&s, ResourceType::User, &mut doc, &request(std::slice::from_ref(&op))) {
                Ok(outcome) => {
                    prop_assert_eq!(outcome.changed, doc != before, "changed flag wrong for {}", op);
                    prop_assert_eq!(&doc["id"], &before["id"]);
                    prop_assert_eq!(&doc["meta"], &before["meta"]);
                    assert_valid(&doc);
                }
                Err(e) => {
                    prop_assert_eq!(e.status, 400);
                    prop_assert!(e.scim_type.is_some());
                    prop_assert_eq!(&doc, &before, "failed PATCH changed the document: {}", op);
                }
            }
        }
    }

    #[test]
    fn add_and_replace_are_idempotent(mut doc in stored_user(), op in operation()) {
        let s = schemas();
        prop_assume!(!op["op"].as_str().unwrap().eq_ignore_ascii_case("remove"));
        if apply_patch(&s, ResourceType::User, &mut doc, &request(std::slice::from_ref(&op))).is_ok() {
            let once = doc.clone();
            let again = apply_patch(&s, ResourceType::User, &mut doc, &request(std::slice::from_ref(&op)))
                .expect("an operation that applied once applies again");
            prop_assert!(!again.changed, "second apply of {} changed {:#} into {:#}", op, once, doc);
            prop_assert_eq!(&doc, &once);
        }
    }

    #[test]
    fn a_request_applies_as_a_whole(mut doc in stored_user(), ops in proptest::collection::vec(operation(), 1..6)) {
        let s = schemas();
        let before = doc.clone();
        let mut one_by_one = doc.clone();
        let stepwise: Result<(), _> = ops.iter().try_for_each(|op| {
            apply_patch(&s, ResourceType::User, &mut one_by_one, &request(std::slice::from_ref(op))).map(|_| ())
        });
        let whole = apply_patch(&s, ResourceType::User, &mut doc, &request(&ops));
        match whole {
            Ok(_) => {
                prop_assert!(stepwise.is_ok());
                prop_assert_eq!(&doc, &one_by_one);
            }
            Err(_) => prop_assert_eq!(&doc, &before),
        }
    }
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("op"),
        Just("path"),
        Just("value"),
        Just("Operations"),
        Just("schemas"),
        Just("emails"),
        Just("members"),
        Just("name.givenName"),
        Just("active"),
        Just("userName"),
        Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"),
        Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"),
        Just("primary"),
        Just("type"),
        Just("id"),
        Just("meta"),
        Just("x"),
    ]
    .prop_map(str::to_string);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        prop_oneof![
            Just("add"),
            Just("Replace"),
            Just("REMOVE"),
            Just("True"),
            Just(PATCH_OP),
            Just("emails[type eq \"work\"].value"),
            Just("members[value eq \"u1\"]"),
            Just("name.givenName"),
            Just("emails[primary eq true]"),
            Just("userName"),
            Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"),
            Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"),
            Just("emails[type eq \"work\" and not (value pr)].primary"),
            Just(""),
            Just("]["),
        ]
        .prop_map(|s| Value::String(s.to_string())),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn arbitrary_requests_never_panic(mut doc in stored_user(), ops in proptest::collection::vec(arbitrary_json(), 0..4), wrap in any::<bool>()) {
        let s = schemas();
        let body = if wrap { request(&ops) } else { ops.first().cloned().unwrap_or(Value::Null) };
        let before = doc.clone();
        let mut group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g", "displayName": "G", "members": [{"value": "u1"}]});
        let group_before = group.clone();
        match apply_patch(&s, ResourceType::User, &mut doc, &body) {
            Ok(_) => assert_valid(&doc),
            Err(e) => {
                prop_assert!(e.status == 400);
                prop_assert_eq!(&doc, &before);
            }
        }
        if apply_patch(&s, ResourceType::Group, &mut group, &body).is_err() {
            prop_assert_eq!(&group, &group_before);
        }
    }
}
