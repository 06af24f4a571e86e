//! Store-level SCIM throughput on SQLite, without HTTP: what the server's hot paths cost in the
//! store. Seeds N users (raw SQL, one transaction), then runs each operation from 16 tasks for a
//! few seconds.
//!
//! ```sh
//! cargo run --release -p roster-store --example scim_store_bench -- 100000
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use roster_core::audit::NewAuditEvent;
use roster_scim::schema::{ResourceType, Schemas};
use roster_scim::{AttrPath, CompValue, CompareOp, Filter};
use roster_store::sqlite::SqliteStore;
use roster_store::{ScimConnection, ScimListQuery, ScimResource, ScimStore};
use serde_json::json;

const TASKS: usize = 16;
const SECONDS: u64 = 4;

fn doc(i: u64) -> serde_json::Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": format!("user{i}@example.com"),
        "name": {"givenName": format!("Given{i}"), "familyName": format!("Family{i}")},
        "displayName": format!("Given{i} Family{i}"),
        "active": true,
        "emails": [{"value": format!("user{i}@example.com"), "type": "work", "primary": true}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": format!("{i}"), "department": "Engineering"
        }
    })
}

fn event(subject: &str) -> NewAuditEvent {
    NewAuditEvent {
        at: Timestamp::now(),
        actor: "scim:bench".into(),
        action: "scim.user.write".into(),
        system: None,
        subject: subject.into(),
        detail: json!({}),
    }
}

async fn run<F, Fut>(name: &str, op: F)
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(SECONDS);
    let mut handles = Vec::new();
    for _ in 0..TASKS {
        let (op, next) = (op.clone(), next.clone());
        handles.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let start = Instant::now();
                op(n).await;
                latencies.push(start.elapsed());
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    all.sort();
    let p = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
    println!(
        "{name:<36} {:>8.0}/s  p50 {:>7.2?}  p99 {:>7.2?}",
        all.len() as f64 / SECONDS as f64,
        p(0.5),
        p(0.99)
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store = Arc::new(SqliteStore::open(&url).await.unwrap());
    store
        .put_scim_connection(&ScimConnection {
            name: "bench".into(),
            token_hash: "x".into(),
            created_at: Timestamp::now(),
        })
        .await
        .unwrap();
    let started = Instant::now();
    let mut tx = store.pool().begin().await.unwrap();
    for i in 0..n {
        let name = format!("user{i}@example.com");
        sqlx::query(
            "INSERT INTO scim_resources (connection, resource_type, id, external_id, name, \
             name_lower, version, created, last_modified, doc) \
             VALUES ('bench', 'User', $1, $2, $3, $3, 1, $4, $4, $5)",
        )
        .bind(format!("id-{i:08}"))
        .bind(format!("ext-{i}"))
        .bind(&name)
        .bind(1_700_000_000_000_000_i64 + i as i64)
        .bind(doc(i).to_string())
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    sqlx::query("INSERT INTO scim_counts VALUES ('bench', 'User', $1, 1)")
        .bind(n as i64)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    sqlx::query("ANALYZE").execute(store.pool()).await.unwrap();
    println!("seeded {n} users in {:.1?}", started.elapsed());
    let schemas: &'static Schemas = Box::leak(Box::new(Schemas::standard(&[])));

    let s = store.clone();
    run("userName eq (scim_list)", move |k| {
        let s = s.clone();
        async move {
            let i = k.wrapping_mul(2_654_435_761) % n;
            let f = Filter::Compare(
                AttrPath::new("userName"),
                CompareOp::Eq,
                CompValue::String(format!("USER{i}@example.com")),
            );
            let q = ScimListQuery {
                schemas,
                filter: Some(&f),
                sort_by: None,
                descending: false,
                start_index: 1,
                count: 100,
            };
            let (total, found) = s.scim_list("bench", ResourceType::User, &q).await.unwrap();
            assert_eq!((total, found.len()), (1, 1));
        }
    })
    .await;

    let s = store.clone();
    run("scim_groups_of", move |k| {
        let s = s.clone();
        async move {
            let i = k.wrapping_mul(2_654_435_761) % n;
            let groups = s
                .scim_groups_of("bench", &format!("id-{i:08}"))
                .await
                .unwrap();
            assert!(groups.is_empty());
        }
    })
    .await;

    let s = store.clone();
    run("scim_get", move |k| {
        let s = s.clone();
        async move {
            let i = k.wrapping_mul(2_654_435_761) % n;
            let got = s
                .scim_get("bench", ResourceType::User, &format!("id-{i:08}"))
                .await
                .unwrap();
            assert!(got.is_some());
        }
    })
    .await;

    let s = store.clone();
    run("page of 100 at a random startIndex", move |k| {
        let s = s.clone();
        async move {
            let start = k.wrapping_mul(2_654_435_761) % n + 1;
            let q = ScimListQuery {
                schemas,
                filter: None,
                sort_by: None,
                descending: false,
                start_index: start,
                count: 100,
            };
            let (total, _) = s.scim_list("bench", ResourceType::User, &q).await.unwrap();
            assert_eq!(total, n);
        }
    })
    .await;

    let s = store.clone();
    run("scim_create", move |k| {
        let s = s.clone();
        async move {
            let i = n + k;
            let r = ScimResource {
                connection: "bench".into(),
                resource_type: ResourceType::User,
                id: format!("new-{k}"),
                external_id: None,
                name: format!("user{i}@example.com"),
                version: 1,
                created: Timestamp::now(),
                last_modified: Timestamp::now(),
                doc: doc(i),
            };
            s.scim_create(&r, &[], &event(&r.id)).await.unwrap();
        }
    })
    .await;

    let s = store.clone();
    run("scim_update (read, then write)", move |k| {
        let s = s.clone();
        async move {
            let i = k.wrapping_mul(2_654_435_761) % n;
            let id = format!("id-{i:08}");
            loop {
                let mut r = s
                    .scim_get("bench", ResourceType::User, &id)
                    .await
                    .unwrap()
                    .unwrap();
                r.doc["title"] = format!("t{k}").into();
                r.last_modified = Timestamp::now();
                match s.scim_update(&r, r.version, &[], &[], &event(&id)).await {
                    Ok(()) => break,
                    Err(roster_store::ScimWriteError::VersionMismatch { .. }) => continue,
                    Err(e) => panic!("{e}"),
                }
            }
        }
    })
    .await;
}
