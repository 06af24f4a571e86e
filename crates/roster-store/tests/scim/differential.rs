//! Random users and random filters: the store's SQL must select exactly the users that
//! `roster_scim`'s in-memory evaluator matches. Values come from a small alphabet full of LIKE
//! metacharacters, quotes and case variants, so that filters hit and miss often.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use roster_scim::filter::eval::{matches_resource, validate};
use roster_scim::schema::{ENTERPRISE_USER, ROSTER_USER, ResourceType};
use roster_scim::{AttrPath, CompValue, CompareOp, Filter};
use roster_store::{ScimListQuery, ScimResource, ScimWriteError, Store};
use serde_json::{Map, Value, json};

use crate::{connection, event, schemas, user, wire};

const ALPHABET: &[char] = &['a', 'A', 'b', '%', '_', '\'', '"', '\\', ' '];
const DATES: &[&str] = &[
    "2024-01-15T10:00:00Z",
    "2024-01-15T12:00:00+02:00",
    "2024-01-15T10:00:00.500Z",
    "2023-12-31T23:59:59Z",
    "2024-01-15",
    "not a date",
];

fn word() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(ALPHABET), 0..4).prop_map(String::from_iter)
}

fn maybe<T: std::fmt::Debug + Clone>(
    s: impl Strategy<Value = T>,
) -> impl Strategy<Value = Option<T>> {
    prop::option::weighted(0.7, s)
}

fn email() -> impl Strategy<Value = Value> {
    (
        word(),
        prop::sample::select(vec!["work", "home", "Work"]),
        maybe(any::<bool>()),
    )
        .prop_map(|(value, kind, primary)| {
            let mut e = json!({"value": value, "type": kind});
            if let Some(p) = primary {
                e["primary"] = p.into();
            }
            e
        })
}

fn doc() -> impl Strategy<Value = Value> {
    let active = prop::sample::select(vec![
        json!(true),
        json!(false),
        json!("True"),
        json!("false"),
        Value::Null,
    ]);
    let core = (
        maybe(word()),
        maybe(prop_oneof![word().prop_map(Value::from), Just(Value::Null)]),
        active,
        maybe((maybe(word()), maybe(word()))),
        prop::collection::vec(email(), 0..3),
        maybe(word()),
    );
    let extensions = (
        maybe((maybe(word()), maybe(word()), maybe(word()))),
        maybe(prop::sample::select(DATES)),
    );
    (core, extensions).prop_map(
        |((display, title, active, name, emails, external), (enterprise, start))| {
            let mut d = Map::new();
            if let Some(v) = display {
                d.insert("displayName".into(), v.into());
            }
            if let Some(v) = title {
                d.insert("title".into(), v);
            }
            if !active.is_null() {
                d.insert("active".into(), active);
            }
            if let Some((family, given)) = name {
                let mut n = Map::new();
                if let Some(f) = family {
                    n.insert("familyName".into(), f.into());
                }
                if let Some(g) = given {
                    n.insert("givenName".into(), g.into());
                }
                d.insert("name".into(), n.into());
            }
            d.insert("emails".into(), emails.into());
            if let Some(x) = external {
                d.insert("externalId".into(), x.into());
            }
            if let Some((number, department, manager)) = enterprise {
                let mut e = Map::new();
                if let Some(v) = number {
                    e.insert("employeeNumber".into(), v.into());
                }
                if let Some(v) = department {
                    e.insert("department".into(), v.into());
                }
                if let Some(v) = manager {
                    e.insert("manager".into(), json!({ "value": v }));
                }
                d.insert(ENTERPRISE_USER.into(), e.into());
            }
            if let Some(s) = start {
                d.insert(ROSTER_USER.into(), json!({ "startDate": s }));
            }
            Value::Object(d)
        },
    )
}

fn path(s: &str) -> AttrPath {
    let (urn, rest) = match s.rfind(':') {
        Some(i) => (Some(s[..i].to_string()), &s[i + 1..]),
        None => (None, s),
    };
    let (attr, sub_attr) = match rest.split_once('.') {
        Some((a, b)) => (a.to_string(), Some(b.to_string())),
        None => (rest.to_string(), None),
    };
    AttrPath {
        urn,
        attr,
        sub_attr,
    }
}

fn value() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        4 => word().prop_map(CompValue::String),
        1 => prop::sample::select(DATES).prop_map(|d| CompValue::String(d.into())),
        1 => prop::sample::select(vec!["True", "FALSE", "r3", "u1"]).prop_map(|s| CompValue::String(s.into())),
        1 => any::<bool>().prop_map(CompValue::Bool),
        1 => (0..3_i64).prop_map(|n| CompValue::Number(n.into())),
        1 => Just(CompValue::Null),
    ]
}

fn op() -> impl Strategy<Value = CompareOp> {
    use CompareOp::*;
    prop::sample::select(vec![Eq, Ne, Co, Sw, Ew, Gt, Ge, Lt, Le])
}

fn leaf(paths: Vec<String>) -> impl Strategy<Value = Filter> {
    let attr = prop::sample::select(paths);
    prop_oneof![
        4 => (attr.clone(), op(), value()).prop_map(|(p, o, v)| Filter::Compare(path(&p), o, v)),
        1 => attr.prop_map(|p| Filter::Present(path(&p))),
    ]
}

fn logic(
    base: impl Strategy<Value = Filter> + 'static,
    depth: u32,
) -> impl Strategy<Value = Filter> {
    base.prop_recursive(depth, 12, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::And(a.into(), b.into())),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::Or(a.into(), b.into())),
            inner.prop_map(|f| Filter::Not(f.into())),
        ]
    })
}

fn filter() -> impl Strategy<Value = Filter> {
    let mut paths: Vec<String> = [
        "userName",
        "displayName",
        "title",
        "name",
        "name.familyName",
        "name.givenName",
        "emails",
        "emails.value",
        "emails.type",
        "emails.primary",
        "active",
        "externalId",
        "id",
        "meta.resourceType",
    ]
    .map(String::from)
    .to_vec();
    for sub in ["employeeNumber", "department", "manager", "manager.value"] {
        paths.push(format!("{ENTERPRISE_USER}:{sub}"));
    }
    paths.push(format!("{ROSTER_USER}:startDate"));
    let emails = logic(
        leaf(vec!["value".into(), "type".into(), "primary".into()]),
        2,
    )
    .prop_map(|f| Filter::ValuePath {
        attr: path("emails"),
        filter: f.into(),
    });
    let name =
        leaf(vec!["givenName".into(), "familyName".into()]).prop_map(|f| Filter::ValuePath {
            attr: path("name"),
            filter: f.into(),
        });
    logic(prop_oneof![6 => leaf(paths), 2 => emails, 1 => name], 3)
}

async fn listed(store: &dyn Store, f: &Filter) -> Result<Vec<String>, ScimWriteError> {
    let query = ScimListQuery {
        schemas: schemas(),
        filter: Some(f),
        sort_by: None,
        descending: false,
        start_index: 1,
        count: 1000,
    };
    let (_, found) = store.scim_list("okta", ResourceType::User, &query).await?;
    let mut ids: Vec<String> = found.into_iter().map(|r| r.id).collect();
    ids.sort();
    Ok(ids)
}

pub async fn random_filters_match_the_evaluator(store: &dyn Store) {
    connection(store, "okta").await;
    let mut runner = TestRunner::deterministic();
    let docs = doc();
    let mut population: Vec<ScimResource> = Vec::new();
    for i in 0..40 {
        let d = docs.new_tree(&mut runner).unwrap().current();
        let prefix = word().new_tree(&mut runner).unwrap().current();
        let created = format!("2024-01-01T00:00:{i:02}Z");
        let u = user(
            "okta",
            &format!("r{i}"),
            &format!("{prefix}{i}"),
            &created,
            d,
        );
        store
            .scim_create(&u, &[], &event("c", &u.id))
            .await
            .unwrap();
        population.push(u);
    }
    let wires: Vec<(String, Value)> = population.iter().map(|u| (u.id.clone(), wire(u))).collect();
    let resolve = |p: &AttrPath| schemas().resolve(ResourceType::User, p);
    let handle = tokio::runtime::Handle::current();
    // SCIM_DIFFERENTIAL_CASES=20000 for a longer hunt.
    let cases = std::env::var("SCIM_DIFFERENTIAL_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(400);
    let partial = std::sync::atomic::AtomicU32::new(0);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let outcome = runner.run(&filter(), |f| {
        let got = tokio::task::block_in_place(|| handle.block_on(listed(store, &f)));
        let got = match got {
            Ok(ids) => ids,
            Err(ScimWriteError::InvalidFilter(m)) => {
                // Only what the RFC says must fail (ordering booleans) may fail here.
                prop_assert!(
                    validate(&f, &resolve).is_err(),
                    "{f}: store refused it: {m}"
                );
                return Ok(());
            }
            Err(e) => return Err(TestCaseError::fail(format!("{f}: {e}"))),
        };
        let mut expected: Vec<String> = wires
            .iter()
            .filter(|(_, w)| matches_resource(&f, w, &resolve))
            .map(|(id, _)| id.clone())
            .collect();
        expected.sort();
        if !expected.is_empty() && expected.len() < wires.len() {
            partial.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        prop_assert_eq!(got, expected, "filter: {}", f);
        Ok(())
    });
    if let Err(e) = outcome {
        let shown: Vec<String> = wires.iter().map(|(_, w)| w.to_string()).collect();
        panic!("{e}\nusers:\n{}", shown.join("\n"));
    }
    // The data and filters are only a test if filters often pick some users but not all.
    let partial = partial.into_inner();
    assert!(
        partial * 4 > cases,
        "only {partial} of {cases} filters selected a proper subset"
    );
}
