//! The shape of generated SQL: index-friendly where it must be, and never holding a value.
//! (What the SQL matches is tested against both databases in `tests/scim.rs`.)

use proptest::prelude::*;
use roster_scim::schema::{ENTERPRISE_USER, ResourceType, Schemas};
use roster_scim::{AttrPath, CompValue, CompareOp, Filter};

use super::*;

fn schemas() -> Schemas {
    Schemas::standard(&["favouriteColour".to_string()])
}

fn translate(d: Dialect, rt: ResourceType, f: &Filter) -> Result<Sql, ScimWriteError> {
    let mut sql = Sql::new(d);
    push_filter(&mut sql, &schemas(), rt, f)?;
    Ok(sql)
}

fn path(p: &str) -> AttrPath {
    let (urn, rest) = match p.rfind(':') {
        Some(i) => (Some(p[..i].to_string()), &p[i + 1..]),
        None => (None, p),
    };
    let (attr, sub) = match rest.split_once('.') {
        Some((a, s)) => (a.to_string(), Some(s.to_string())),
        None => (rest.to_string(), None),
    };
    AttrPath {
        urn,
        attr,
        sub_attr: sub,
    }
}

fn eq(p: &str, v: &str) -> Filter {
    Filter::Compare(path(p), CompareOp::Eq, CompValue::String(v.into()))
}

#[test]
fn user_name_eq_is_a_lookup_of_the_lowered_column() {
    for d in [Dialect::Sqlite, Dialect::Postgres] {
        let sql = translate(d, ResourceType::User, &eq("USERNAME", "Bob@Example.com")).unwrap();
        let mark = if d == Dialect::Sqlite { "?" } else { "$1" };
        assert_eq!(sql.text, format!("((r.name_lower = {mark}))"));
        assert_eq!(sql.params, vec![SqlParam::Text("bob@example.com".into())]);
    }
}

#[test]
fn external_id_and_id_compare_exactly_on_their_columns() {
    let sql = translate(
        Dialect::Sqlite,
        ResourceType::User,
        &eq("externalId", "AbC"),
    )
    .unwrap();
    assert_eq!(
        sql.text,
        "(r.external_id IS NOT NULL AND (r.external_id = ?))"
    );
    assert_eq!(sql.params, vec![SqlParam::Text("AbC".into())]);
    let sql = translate(Dialect::Postgres, ResourceType::Group, &eq("id", "x")).unwrap();
    assert_eq!(sql.text, "((r.id = $1))");
}

#[test]
fn group_display_name_uses_the_name_column() {
    let sql = translate(
        Dialect::Sqlite,
        ResourceType::Group,
        &eq("displayName", "Eng"),
    )
    .unwrap();
    assert_eq!(sql.text, "((r.name_lower = ?))");
}

#[test]
fn like_and_glob_patterns_escape_their_metacharacters() {
    assert_eq!(like_pattern(r"50%_a\b", true, false), r"%50\%\_a\\b");
    assert_eq!(glob_pattern("a*b?[c]", false, true), "a[*]b[?][[]c]*");
}

#[test]
fn unknown_attributes_are_named_in_the_error() {
    let err = translate(Dialect::Sqlite, ResourceType::User, &eq("shoeSize", "9")).unwrap_err();
    assert_eq!(
        err,
        ScimWriteError::InvalidFilter("User has no attribute \"shoeSize\"".into())
    );
    let inner = eq("colour", "red");
    let f = Filter::ValuePath {
        attr: path("emails"),
        filter: Box::new(inner),
    };
    let err = translate(Dialect::Postgres, ResourceType::User, &f).unwrap_err();
    assert!(err.to_string().contains("colour"), "{err}");
    // Extension attributes must be qualified, as RFC 7644 §3.10 asks.
    let err = translate(
        Dialect::Sqlite,
        ResourceType::User,
        &eq("employeeNumber", "1"),
    )
    .unwrap_err();
    assert!(err.to_string().contains("employeeNumber"), "{err}");
    let qualified = format!("{ENTERPRISE_USER}:employeeNumber");
    assert!(translate(Dialect::Sqlite, ResourceType::User, &eq(&qualified, "1")).is_ok());
}

#[test]
fn ordering_a_boolean_is_an_invalid_filter() {
    let f = Filter::Compare(path("active"), CompareOp::Gt, CompValue::Bool(false));
    assert!(matches!(
        translate(Dialect::Sqlite, ResourceType::User, &f),
        Err(ScimWriteError::InvalidFilter(m)) if m.contains("active")
    ));
}

#[test]
fn meta_dates_need_instants() {
    let f = eq("meta.created", "yesterday");
    assert!(translate(Dialect::Sqlite, ResourceType::User, &f).is_err());
    let f = Filter::Compare(
        path("meta.lastModified"),
        CompareOp::Gt,
        CompValue::String("2024-05-01T00:00:00+02:00".into()),
    );
    let sql = translate(Dialect::Postgres, ResourceType::User, &f).unwrap();
    assert_eq!(sql.text, "(r.last_modified > $1)");
    assert_eq!(sql.params, vec![SqlParam::Int(1_714_514_400_000_000)]);
}

// ---------------------------------------------------------------------------------------------
// No value reaches the SQL text.

/// Every string value the generator makes is wrapped in these, which no SQL fragment uses.
const OPEN: char = '⟦';

fn value() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        any::<String>().prop_map(|s| CompValue::String(format!("{OPEN}{s}⟧"))),
        // Strings that look like the operand of another kind of attribute.
        prop::sample::select(vec![
            "True",
            "false",
            "42",
            "2024-05-01T00:00:00Z",
            "W/\"3\""
        ])
        .prop_map(|s| CompValue::String(s.to_string())),
        any::<bool>().prop_map(CompValue::Bool),
        any::<i64>().prop_map(|n| CompValue::Number(n.into())),
        Just(CompValue::Null),
    ]
}

fn op() -> impl Strategy<Value = CompareOp> {
    prop::sample::select(vec![
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Ge,
        CompareOp::Lt,
        CompareOp::Le,
    ])
}

const USER_PATHS: &[&str] = &[
    "userName",
    "UserName",
    "displayName",
    "name.familyName",
    "name",
    "emails",
    "emails.value",
    "emails.type",
    "emails.primary",
    "active",
    "id",
    "externalId",
    "meta.created",
    "meta.lastModified",
    "meta.version",
    "meta.resourceType",
    "meta",
    "groups",
    "groups.value",
    "groups.display",
    "x509Certificates.value",
    "urn:ietf:params:scim:schemas:core:2.0:User:title",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
    "urn:roster:params:scim:schemas:extension:roster:1.0:User:startDate",
    "urn:roster:params:scim:schemas:extension:roster:1.0:User:favouriteColour",
];

fn leaf(paths: &'static [&'static str]) -> impl Strategy<Value = Filter> {
    let attr = prop::sample::select(paths);
    prop_oneof![
        (attr.clone(), op(), value()).prop_map(|(p, o, v)| Filter::Compare(path(p), o, v)),
        attr.prop_map(|p| Filter::Present(path(p))),
    ]
}

fn user_filter() -> impl Strategy<Value = Filter> {
    let value_path = (
        prop::sample::select(vec!["emails", "phoneNumbers", "addresses", "groups"]),
        leaf(&["value", "type", "primary", "display", "postalCode"]),
    )
        .prop_map(|(attr, inner)| Filter::ValuePath {
            attr: path(attr),
            filter: Box::new(inner),
        });
    let base = prop_oneof![3 => leaf(USER_PATHS), 1 => value_path];
    base.prop_recursive(4, 16, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::And(a.into(), b.into())),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::Or(a.into(), b.into())),
            inner.prop_map(|f| Filter::Not(f.into())),
        ]
    })
}

fn group_filter() -> impl Strategy<Value = Filter> {
    let value_path = leaf(&["value", "type", "display"]).prop_map(|inner| Filter::ValuePath {
        attr: path("members"),
        filter: Box::new(inner),
    });
    let base = prop_oneof![
        3 => leaf(&["displayName", "members", "members.value", "members.display", "externalId"]),
        1 => value_path,
    ];
    base.prop_recursive(3, 8, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::And(a.into(), b.into())),
            inner.prop_map(|f| Filter::Not(f.into())),
        ]
    })
}

/// The text holds no value and exactly one placeholder per parameter, in order.
fn check_text(sql: &Sql, filter: &Filter) -> Result<(), TestCaseError> {
    prop_assert!(
        !sql.text.contains(OPEN),
        "a value reached the SQL text of {filter}: {}",
        sql.text
    );
    match sql.dialect {
        Dialect::Sqlite => {
            prop_assert_eq!(sql.text.matches('?').count(), sql.params.len());
            let numbered = sql
                .text
                .match_indices('$')
                .any(|(i, _)| sql.text[i + 1..].starts_with(|c: char| c.is_ascii_digit()));
            prop_assert!(!numbered, "{}", sql.text);
        }
        Dialect::Postgres => {
            let marks: Vec<usize> = sql
                .text
                .match_indices('$')
                .map(|(i, _)| {
                    let digits: String = sql.text[i + 1..]
                        .chars()
                        .take_while(char::is_ascii_digit)
                        .collect();
                    digits.parse().unwrap_or(0)
                })
                .filter(|n| *n > 0)
                .collect();
            let expected: Vec<usize> = (1..=sql.params.len()).collect();
            prop_assert_eq!(marks, expected);
        }
    }
    // JSON paths (quoted keys) are bound too; the only quoted identifier is the collation.
    prop_assert!(
        !sql.text.replace("\"C\"", "").contains('"'),
        "a JSON path reached the SQL text of {filter}: {}",
        sql.text
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn values_are_only_ever_bound(f in user_filter()) {
        for d in [Dialect::Sqlite, Dialect::Postgres] {
            match translate(d, ResourceType::User, &f) {
                Ok(sql) => check_text(&sql, &f)?,
                Err(ScimWriteError::InvalidFilter(m)) => prop_assert!(!m.is_empty()),
                Err(e) => prop_assert!(false, "unexpected error {e:?} for {f}"),
            }
        }
    }

    #[test]
    fn group_values_are_only_ever_bound(f in group_filter()) {
        for d in [Dialect::Sqlite, Dialect::Postgres] {
            match translate(d, ResourceType::Group, &f) {
                Ok(sql) => check_text(&sql, &f)?,
                Err(ScimWriteError::InvalidFilter(m)) => prop_assert!(!m.is_empty()),
                Err(e) => prop_assert!(false, "unexpected error {e:?} for {f}"),
            }
        }
    }

    #[test]
    fn sort_keys_bind_their_paths(p in prop::sample::select(USER_PATHS)) {
        for d in [Dialect::Sqlite, Dialect::Postgres] {
            if let Ok(SortKey::Json { .. }) = sort_key(&schemas(), ResourceType::User, &path(p)) {
                let mut sql = Sql::new(d);
                sort_key(&schemas(), ResourceType::User, &path(p)).unwrap().push_expr(&mut sql).unwrap();
                prop_assert!(!sql.text.replace("\"C\"", "").contains('"'), "{}", sql.text);
                prop_assert!(!sql.params.is_empty());
            }
        }
    }
}
