//! SCIM storage, each case written once and run on every backend: SQLite in a temporary file
//! always, PostgreSQL when `ROSTER_TEST_DATABASE_URL` is set (each test in a fresh schema).
//! Filters are checked three ways: a hand-written matrix of expected results
//! (`filters.rs`), the in-memory evaluator of `roster_scim` on the same data, and random
//! documents and filters compared with that evaluator (`differential.rs`).

mod concurrency;
mod crud;
mod differential;
mod filters;
mod paging;

use jiff::Timestamp;
use roster_core::audit::NewAuditEvent;
use roster_scim::schema::{ResourceType, Schemas};
use roster_store::postgres::PgStore;
use roster_store::sqlite::SqliteStore;
use roster_store::{ScimConnection, ScimMember, ScimResource, Store};
use serde_json::{Value, json};

pub struct Db {
    pub store: Box<dyn Store>,
    pg: Option<PgStore>,
    _dir: Option<tempfile::TempDir>,
}

impl Db {
    pub async fn sqlite() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("roster.db").display());
        let store = SqliteStore::open(&url).await.unwrap();
        Db {
            store: Box::new(store),
            pg: None,
            _dir: Some(dir),
        }
    }

    pub async fn postgres() -> Option<Db> {
        let url = std::env::var("ROSTER_TEST_DATABASE_URL").ok()?;
        let schema = format!("roster_test_{}", uuid::Uuid::new_v4().simple());
        let store = PgStore::open_in_schema(&url, &schema).await.unwrap();
        Some(Db {
            store: Box::new(store.clone()),
            pg: Some(store),
            _dir: None,
        })
    }

    pub async fn finish(self) {
        if let Some(pg) = self.pg {
            drop(self.store);
            pg.drop_schema().await.unwrap();
        }
    }
}

/// One `#[tokio::test]` per case and backend; each case takes `&dyn Store`.
macro_rules! on_every_backend {
    ($($case:path => $name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = super::Db::sqlite().await;
                    $case(db.store.as_ref()).await;
                    db.finish().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = super::Db::postgres().await else {
                        eprintln!("skipped: set ROSTER_TEST_DATABASE_URL to run the PostgreSQL tests");
                        return;
                    };
                    $case(db.store.as_ref()).await;
                    db.finish().await;
                }
            )*
        }
    };
}

on_every_backend!(
    crate::concurrency::concurrent_writes_stand_or_fall_alone => concurrent_writes_stand_or_fall_alone,
    crate::crud::connections_upsert_tokens => connections_upsert_tokens,
    crate::crud::create_read_update_delete => create_read_update_delete,
    crate::crud::user_name_is_unique_case_insensitively => user_name_is_unique_case_insensitively,
    crate::crud::updates_check_the_version => updates_check_the_version,
    crate::crud::members_are_added_and_removed => members_are_added_and_removed,
    crate::crud::deleting_removes_memberships => deleting_removes_memberships,
    crate::paging::request_log_is_trimmed_per_connection => request_log_is_trimmed_per_connection,
    crate::paging::pages_and_totals => pages_and_totals,
    crate::paging::far_pages_match_the_default_order => far_pages_match_the_default_order,
    crate::filters::user_filter_matrix => user_filter_matrix,
    crate::filters::group_filter_matrix => group_filter_matrix,
    crate::filters::sorting => sorting,
    crate::filters::invalid_filters_name_the_attribute => invalid_filters_name_the_attribute,
    crate::differential::random_filters_match_the_evaluator => random_filters_match_the_evaluator,
);

// ---------------------------------------------------------------------------------------------
// Data.

pub fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

pub fn schemas() -> &'static Schemas {
    static SCHEMAS: std::sync::OnceLock<Schemas> = std::sync::OnceLock::new();
    SCHEMAS.get_or_init(|| Schemas::standard(&[]))
}

pub fn event(action: &str, subject: &str) -> NewAuditEvent {
    NewAuditEvent {
        at: at("2024-06-01T00:00:00Z"),
        actor: "scim:okta".into(),
        action: action.into(),
        system: None,
        subject: subject.into(),
        detail: json!({}),
    }
}

pub async fn connection(store: &dyn Store, name: &str) {
    store
        .put_scim_connection(&ScimConnection {
            name: name.into(),
            token_hash: format!("hash-of-{name}"),
            created_at: at("2024-01-01T00:00:00Z"),
        })
        .await
        .unwrap();
}

/// A user whose document is `doc` plus its userName.
pub fn user(
    connection: &str,
    id: &str,
    user_name: &str,
    created: &str,
    mut doc: Value,
) -> ScimResource {
    doc["userName"] = user_name.into();
    let external_id = doc
        .get("externalId")
        .and_then(Value::as_str)
        .map(String::from);
    ScimResource {
        connection: connection.into(),
        resource_type: ResourceType::User,
        id: id.into(),
        external_id,
        name: user_name.into(),
        version: 1,
        created: at(created),
        last_modified: at(created),
        doc,
    }
}

pub fn group(connection: &str, id: &str, display_name: &str, created: &str) -> ScimResource {
    ScimResource {
        connection: connection.into(),
        resource_type: ResourceType::Group,
        id: id.into(),
        external_id: None,
        name: display_name.into(),
        version: 1,
        created: at(created),
        last_modified: at(created),
        doc: json!({ "displayName": display_name }),
    }
}

pub fn member(id: &str) -> ScimMember {
    ScimMember {
        value: id.into(),
        member_type: "User".into(),
        display: None,
    }
}

/// The resource as a client sees it (what `roster_scim`'s evaluator reads).
pub fn wire(r: &ScimResource) -> Value {
    let mut doc = r.doc.clone();
    doc["id"] = r.id.clone().into();
    if let Some(ext) = &r.external_id {
        doc["externalId"] = ext.clone().into();
    }
    doc["meta"] = json!({
        "resourceType": r.resource_type.name(),
        "created": r.created.to_string(),
        "lastModified": r.last_modified.to_string(),
        "version": format!("W/\"{}\"", r.version),
    });
    doc
}
