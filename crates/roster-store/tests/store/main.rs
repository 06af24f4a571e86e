//! The store's behaviour, each case written once and run on every backend: SQLite in a temporary
//! file always, PostgreSQL when `ROSTER_TEST_DATABASE_URL` is set (each test in a fresh schema,
//! dropped when the test passes). Test names carry the backend: `sqlite_…`, `postgres_…`.
//!
//! The tamper tests edit the audit table behind the store's back. On PostgreSQL a trigger
//! rejects `UPDATE`/`DELETE` on `audit_event`, so they first run
//! `ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only` (allowed to the table owner),
//! as an attacker with owner rights could.

mod access;
mod audit;
mod people;
mod plans;
mod tasks;

use access::*;
use audit::*;
use people::*;
use plans::*;
use tasks::*;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use jiff::Timestamp;
use roster_core::audit::{ChainBreak, NewAuditEvent};
use roster_core::intake::Quarantined;
use roster_core::plan::{AccountRef, Action, Change, Plan, PlanSummary};
use roster_core::reason::{FieldValue, LeaverCause};
use roster_core::state::GroupSpacePermission;
use roster_core::{Account, ActualState, Entitlement, Grant, Person, PersonStatus, Reason};
use roster_store::postgres::PgStore;
use roster_store::sqlite::SqliteStore;
use roster_store::{
    AccessFilter, AccessRecord, CompletedStep, PlanStatus, StepState, Store, StoreError,
    VerifyError, verify_audit,
};

// ---------------------------------------------------------------------------------------------
// Backends.

/// A store under test, with raw SQL access to its database for the tamper tests.
struct Db {
    store: Box<dyn Store>,
    raw: Raw,
    _dir: Option<tempfile::TempDir>,
}

enum Raw {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl Db {
    async fn sqlite() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("roster.db").display());
        let store = SqliteStore::open(&url).await.unwrap();
        Db {
            store: Box::new(store.clone()),
            raw: Raw::Sqlite(store),
            _dir: Some(dir),
        }
    }

    async fn postgres() -> Option<Db> {
        let url = std::env::var("ROSTER_TEST_DATABASE_URL").ok()?;
        let schema = format!("roster_test_{}", uuid::Uuid::new_v4().simple());
        let store = PgStore::open_in_schema(&url, &schema).await.unwrap();
        Some(Db {
            store: Box::new(store.clone()),
            raw: Raw::Postgres(store),
            _dir: None,
        })
    }

    /// Runs SQL directly, bypassing the store; returns the rows it touched.
    async fn exec(&self, sql: &'static str) -> Result<u64, sqlx::Error> {
        match &self.raw {
            Raw::Sqlite(s) => Ok(sqlx::query(sql).execute(s.pool()).await?.rows_affected()),
            Raw::Postgres(s) => Ok(sqlx::query(sql).execute(s.pool()).await?.rows_affected()),
        }
    }

    /// Runs SQL against the audit table as someone bent on hiding a change would.
    async fn tamper(&self, sql: &'static str) -> u64 {
        if let Raw::Postgres(_) = self.raw {
            self.exec("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
                .await
                .unwrap();
        }
        self.exec(sql).await.unwrap()
    }

    async fn count(&self, sql: &'static str) -> i64 {
        match &self.raw {
            Raw::Sqlite(s) => sqlx::query_scalar(sql).fetch_one(s.pool()).await.unwrap(),
            Raw::Postgres(s) => sqlx::query_scalar(sql).fetch_one(s.pool()).await.unwrap(),
        }
    }

    async fn finish(self) {
        if let Raw::Postgres(pg) = self.raw {
            drop(self.store);
            pg.drop_schema().await.unwrap();
        }
    }
}

/// One `#[tokio::test]` per case and backend. `store:` cases take `&dyn Store`; `raw:` cases
/// take the whole [`Db`] because they also read or edit tables directly.
macro_rules! on_every_backend {
    (store: [$($case:ident),* $(,)?], raw: [$($raw:ident),* $(,)?] $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let db = super::Db::sqlite().await;
                    super::$case(db.store.as_ref()).await;
                    db.finish().await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $raw() {
                    let db = super::Db::sqlite().await;
                    super::$raw(&db).await;
                    db.finish().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(db) = super::Db::postgres().await else {
                        eprintln!("skipped: set ROSTER_TEST_DATABASE_URL to run the PostgreSQL tests");
                        return;
                    };
                    super::$case(db.store.as_ref()).await;
                    db.finish().await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $raw() {
                    let Some(db) = super::Db::postgres().await else {
                        eprintln!("skipped: set ROSTER_TEST_DATABASE_URL to run the PostgreSQL tests");
                        return;
                    };
                    super::$raw(&db).await;
                    db.finish().await;
                }
            )*
        }
    };
}

on_every_backend!(
    store: [
        import_versions,
        import_absence_and_quarantine,
        people_at_a_past_instant,
        grants_are_upserted,
        racing_imports_of_one_source_both_land,
        plan_save_load_status,
        journal_started_failed_done,
        complete_steps_replayed_logs_once,
        audit_append_page_and_verify,
        audit_bulk_append,
        concurrent_appends_keep_one_chain,
        observation_opens_and_closes_access,
        manual_tasks_open_once_and_complete_with_audit,
    ],
    raw: [
        tamper_edited_body_is_named,
        tamper_deleted_middle_event_is_named,
        tamper_deleted_last_event_is_detected,
        access_at_for_person_and_space_through_group,
    ],
);

// ---------------------------------------------------------------------------------------------
// Data.

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn person(id: &str, department: &str) -> Person {
    Person {
        employee_id: id.into(),
        email: format!("{}@acme.example", id.to_lowercase()),
        first_name: id.into(),
        last_name: "Example".into(),
        department: department.into(),
        team: String::new(),
        title: String::new(),
        manager_id: None,
        location: "Paris".into(),
        employment_type: "full_time".into(),
        status: PersonStatus::Active,
        start_date: Some(jiff::civil::date(2024, 1, 1)),
        end_date: None,
        custom: BTreeMap::from([("cost_center".to_string(), "42".to_string())]),
    }
}

fn ids(set: &[&str]) -> BTreeSet<String> {
    set.iter().map(|s| s.to_string()).collect()
}

fn event(n: usize, at: Timestamp) -> NewAuditEvent {
    NewAuditEvent {
        at,
        actor: "test".into(),
        action: "add to group".into(),
        system: Some("wiki".into()),
        subject: format!("p{n}@acme.example"),
        detail: serde_json::json!({"group": "eng", "n": n}),
    }
}

fn account(id: &str, name: &str) -> AccountRef {
    AccountRef {
        employee_id: id.into(),
        email: format!("{}@acme.example", name.to_lowercase()),
        display_name: name.into(),
        external_id: None,
    }
}

fn rule(name: &str) -> Reason {
    Reason::Rule {
        rule: name.into(),
        role: name.into(),
        fields: vec![FieldValue {
            name: "department".into(),
            value: "Engineering".into(),
            previous: None,
        }],
    }
}

fn plan_of(system: &str, computed_at: Timestamp, changes: Vec<Change>) -> Plan {
    Plan {
        system: system.into(),
        computed_at,
        changes,
        people: BTreeMap::new(),
        conflicts: Vec::new(),
        summary: PlanSummary::default(),
        hold: None,
    }
}

fn sample_changes() -> Vec<Change> {
    let bob = account("E2", "Bob");
    vec![
        Change {
            action: Action::CreateAccount {
                account: bob.clone(),
                active: true,
            },
            reason: Reason::Employed {
                status: PersonStatus::Active,
            },
        },
        Change {
            action: Action::Add {
                account: bob.clone(),
                entitlement: Entitlement::group("eng"),
            },
            reason: rule("engineers"),
        },
        Change {
            action: Action::Add {
                account: bob,
                entitlement: Entitlement::licence("confluence"),
            },
            reason: rule("all staff"),
        },
    ]
}

/// What the apply engine passes for a carried-out step.
fn completed(plan_id: &str, plan: &Plan, step: u32, at: Timestamp) -> CompletedStep {
    let change = plan.changes[step as usize].clone();
    CompletedStep {
        step,
        event: NewAuditEvent {
            at,
            actor: "roster apply".into(),
            action: change.action.kind().into(),
            system: Some(plan.system.clone()),
            subject: change
                .action
                .account()
                .map(|a| a.email.clone())
                .unwrap_or_default(),
            detail: serde_json::json!({"plan_id": plan_id, "step": step, "why": change.reason.to_string()}),
        },
        change,
    }
}

async fn all_events(store: &dyn Store) -> Vec<roster_core::audit::StoredAuditEvent> {
    let mut out = Vec::new();
    loop {
        let page = store
            .audit_page(
                out.last()
                    .map_or(0, |e: &roster_core::audit::StoredAuditEvent| e.seq),
                3,
            )
            .await
            .unwrap();
        if page.is_empty() {
            return out;
        }
        out.extend(page);
    }
}
