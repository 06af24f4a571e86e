//! The store's behaviour, each case written once and run on every backend: SQLite in a temporary
//! file always, PostgreSQL when `ROSTER_TEST_DATABASE_URL` is set (each test in a fresh schema,
//! dropped when the test passes). Test names carry the backend: `sqlite_…`, `postgres_…`.
//!
//! The tamper tests edit the audit table behind the store's back. On PostgreSQL a trigger
//! rejects `UPDATE`/`DELETE` on `audit_event`, so they first run
//! `ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only` (allowed to the table owner),
//! as an attacker with owner rights could.

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

// ---------------------------------------------------------------------------------------------
// People.

async fn import_versions(store: &dyn Store) {
    let (t1, t2, t3, t4) = (
        at("2026-01-01T08:00:00Z"),
        at("2026-01-02T08:00:00Z"),
        at("2026-01-03T08:00:00Z"),
        at("2026-01-04T08:00:00Z"),
    );
    let none = BTreeSet::new();
    let s = store
        .import_people(
            "hr",
            &[person("A", "Engineering"), person("B", "Sales")],
            &none,
            t1,
        )
        .await
        .unwrap();
    assert_eq!(
        (
            s.listed,
            s.previously_listed,
            s.added,
            s.changed,
            s.unchanged
        ),
        (2, 0, 2, 0, 0)
    );

    let s = store
        .import_people(
            "hr",
            &[person("A", "Engineering"), person("B", "Sales")],
            &none,
            t2,
        )
        .await
        .unwrap();
    assert_eq!(
        (s.previously_listed, s.added, s.changed, s.unchanged),
        (2, 0, 0, 2),
        "same data: nothing new"
    );

    let s = store
        .import_people(
            "hr",
            &[person("A", "Sales"), person("B", "Sales")],
            &none,
            t3,
        )
        .await
        .unwrap();
    assert_eq!(
        (s.added, s.changed, s.unchanged, s.newly_absent),
        (0, 1, 1, 0)
    );
    store
        .import_people(
            "hr",
            &[person("A", "Finance"), person("B", "Sales")],
            &none,
            t4,
        )
        .await
        .unwrap();

    let people = store.people(t1).await.unwrap();
    assert_eq!(people.len(), 2);
    let a = &people[0];
    assert_eq!(a.person.employee_id, "A");
    assert_eq!(a.person.department, "Finance");
    assert_eq!(
        a.person.custom.get("cost_center").map(String::as_str),
        Some("42")
    );
    let history: Vec<(&str, Timestamp)> = a
        .previous
        .iter()
        .map(|v| (v.person.department.as_str(), v.superseded_at))
        .collect();
    assert_eq!(
        history,
        vec![("Sales", t4), ("Engineering", t3)],
        "newest first"
    );
    assert!(people[1].previous.is_empty(), "B never changed");
    assert_eq!(people[1].absent_since, None);

    // Only versions superseded after `history_since` are loaded.
    let recent = store.people(t3).await.unwrap();
    assert_eq!(recent[0].previous.len(), 1);
    assert_eq!(recent[0].previous[0].person.department, "Sales");
    assert!(store.people(t4).await.unwrap()[0].previous.is_empty());

    // A source listing one employee id twice is refused, and nothing is recorded.
    let err = store
        .import_people(
            "hr",
            &[person("C", "Sales"), person("C", "Sales")],
            &none,
            t4,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Invalid(ref m) if m.contains("\"C\" twice")),
        "{err}"
    );
    assert_eq!(store.people(t4).await.unwrap().len(), 2);
}

async fn import_absence_and_quarantine(store: &dyn Store) {
    let (t1, t2, t3) = (
        at("2026-02-01T08:00:00Z"),
        at("2026-02-02T08:00:00Z"),
        at("2026-02-03T08:00:00Z"),
    );
    let everyone: Vec<Person> = ["A", "B", "C", "D"]
        .iter()
        .map(|id| person(id, "Sales"))
        .collect();
    store
        .import_people("hr", &everyone, &BTreeSet::new(), t1)
        .await
        .unwrap();

    // The feed lists A; C's row was quarantined, so the source still has C.
    let s = store
        .import_people("hr", &everyone[..1], &ids(&["C"]), t2)
        .await
        .unwrap();
    assert_eq!((s.listed, s.previously_listed, s.newly_absent), (1, 4, 2));
    let people = store.people(t1).await.unwrap();
    let absent: Vec<(&str, Option<Timestamp>)> = people
        .iter()
        .map(|r| (r.person.employee_id.as_str(), r.absent_since))
        .collect();
    assert_eq!(
        absent,
        vec![("A", None), ("B", Some(t2)), ("C", None), ("D", Some(t2))],
        "absent people stay listed with their mark; the quarantined one is still listed, unmarked"
    );

    // B is back; C is gone from the source altogether; D's mark keeps its first instant.
    let s = store
        .import_people(
            "hr",
            &[everyone[0].clone(), everyone[1].clone()],
            &BTreeSet::new(),
            t3,
        )
        .await
        .unwrap();
    assert_eq!(
        (s.previously_listed, s.unchanged, s.newly_absent),
        (1, 2, 1)
    );
    let marks: Vec<Option<Timestamp>> = store
        .people(t1)
        .await
        .unwrap()
        .iter()
        .map(|r| r.absent_since)
        .collect();
    assert_eq!(marks, vec![None, None, Some(t3), Some(t2)]);

    // Another source is independent.
    let s = store
        .import_people("contractors", &[person("X", "Ops")], &BTreeSet::new(), t3)
        .await
        .unwrap();
    assert_eq!((s.added, s.previously_listed, s.newly_absent), (1, 0, 0));
    assert_eq!(store.people(t1).await.unwrap().len(), 5);

    // Quarantine is replaced per source.
    let q = |source: &str, row: usize| Quarantined {
        source: source.into(),
        row,
        employee_id: Some("C".into()),
        email: Some("c@acme.example".into()),
        field: "start_date".into(),
        reason: "\"31/02\" is not a date".into(),
    };
    store
        .replace_quarantine("hr", &[q("hr", 7), q("hr", 3)], t2)
        .await
        .unwrap();
    store
        .replace_quarantine("contractors", &[q("contractors", 1)], t2)
        .await
        .unwrap();
    let rows: Vec<(String, usize)> = store
        .quarantine()
        .await
        .unwrap()
        .into_iter()
        .map(|q| (q.source, q.row))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("contractors".into(), 1),
            ("hr".into(), 3),
            ("hr".into(), 7)
        ]
    );
    assert_eq!(store.quarantine().await.unwrap()[1], q("hr", 3));
    store.replace_quarantine("hr", &[], t3).await.unwrap();
    assert_eq!(store.quarantine().await.unwrap(), vec![q("contractors", 1)]);
}

async fn people_at_a_past_instant(store: &dyn Store) {
    let (t0, t1, t2, t3) = (
        at("2026-03-01T00:00:00Z"),
        at("2026-03-02T00:00:00Z"),
        at("2026-03-03T00:00:00Z"),
        at("2026-03-04T00:00:00Z"),
    );
    let none = BTreeSet::new();
    store
        .import_people("hr", &[person("A", "Engineering")], &none, t1)
        .await
        .unwrap();
    store
        .import_people(
            "hr",
            &[person("A", "Sales"), person("B", "Sales")],
            &none,
            t3,
        )
        .await
        .unwrap();
    assert!(store.people_at(t0).await.unwrap().is_empty());
    assert_eq!(
        store.people_at(t1).await.unwrap(),
        vec![person("A", "Engineering")]
    );
    assert_eq!(
        store.people_at(t2).await.unwrap(),
        vec![person("A", "Engineering")]
    );
    assert_eq!(
        store.people_at(t3).await.unwrap(),
        vec![person("A", "Sales"), person("B", "Sales")],
        "a version is current from its instant on"
    );
}

async fn grants_are_upserted(store: &dyn Store) {
    let grant = |id: &str, reason: &str| Grant {
        id: id.into(),
        employee_id: "E1".into(),
        entitlement: Entitlement::space("FIN", "read"),
        owner: "cfo@acme.example".into(),
        reason: reason.into(),
        starts_at: None,
        expires_at: Some(at("2026-12-31T00:00:00Z")),
    };
    store.put_grant(&grant("g2", "audit")).await.unwrap();
    store
        .put_grant(&grant("g1", "quarter close"))
        .await
        .unwrap();
    store
        .put_grant(&grant("g2", "audit, extended"))
        .await
        .unwrap();
    assert_eq!(
        store.grants().await.unwrap(),
        vec![grant("g1", "quarter close"), grant("g2", "audit, extended")]
    );
}

// ---------------------------------------------------------------------------------------------
// Plans and the journal.

async fn plan_save_load_status(store: &dyn Store) {
    let now = at("2026-04-01T08:00:00Z");
    let plan = plan_of("wiki", now, sample_changes());
    let id = store.save_plan(&plan, PlanStatus::Held).await.unwrap();
    let stored = store.plan(&id).await.unwrap();
    assert_eq!(stored.id, id);
    assert_eq!(stored.plan, plan);
    assert_eq!(stored.status, PlanStatus::Held);
    assert_eq!(stored.created_at, now);
    assert_eq!(stored.confirmed_by, None);
    let steps = store.steps(&id).await.unwrap();
    assert_eq!(steps.len(), 3);
    assert!(steps.iter().enumerate().all(|(i, s)| s.step as usize == i
        && s.state == StepState::Pending
        && s.attempts == 0
        && s.last_error.is_none()));

    store
        .set_plan_status(&id, PlanStatus::Confirmed, Some("admin:it@acme.example"))
        .await
        .unwrap();
    store
        .set_plan_status(&id, PlanStatus::Applying, None)
        .await
        .unwrap();
    let stored = store.plan(&id).await.unwrap();
    assert_eq!(stored.status, PlanStatus::Applying);
    assert_eq!(
        stored.confirmed_by.as_deref(),
        Some("admin:it@acme.example"),
        "kept when no one is named"
    );

    // The newest plan wins even with the same computed_at.
    let second = store
        .save_plan(&plan_of("wiki", now, Vec::new()), PlanStatus::Pending)
        .await
        .unwrap();
    assert_eq!(store.latest_plan("wiki").await.unwrap().unwrap().id, second);
    assert!(store.steps(&second).await.unwrap().is_empty());
    assert!(store.latest_plan("okta").await.unwrap().is_none());

    assert!(matches!(
        store.plan("nope").await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.steps("nope").await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store
            .set_plan_status("nope", PlanStatus::Applied, None)
            .await,
        Err(StoreError::NotFound(_))
    ));
}

async fn journal_started_failed_done(store: &dyn Store) {
    let now = at("2026-04-02T08:00:00Z");
    let plan = plan_of("wiki", now, sample_changes());
    let id = store.save_plan(&plan, PlanStatus::Pending).await.unwrap();
    store.mark_steps_started(&id, &[0, 1], now).await.unwrap();
    store
        .fail_step(&id, 1, "503 Service Unavailable", now)
        .await
        .unwrap();
    store.mark_steps_started(&id, &[1], now).await.unwrap();
    let steps = store.steps(&id).await.unwrap();
    let view: Vec<(StepState, u32, Option<&str>)> = steps
        .iter()
        .map(|s| (s.state, s.attempts, s.last_error.as_deref()))
        .collect();
    assert_eq!(
        view,
        vec![
            (StepState::Started, 1, None),
            (StepState::Started, 2, Some("503 Service Unavailable")),
            (StepState::Pending, 0, None),
        ]
    );
    let seqs = store
        .complete_steps(
            &id,
            &[completed(&id, &plan, 0, now), completed(&id, &plan, 1, now)],
            now,
        )
        .await
        .unwrap();
    assert_eq!(seqs, vec![1, 2]);
    // A done step is never restarted or failed.
    store.mark_steps_started(&id, &[0], now).await.unwrap();
    store.fail_step(&id, 0, "late error", now).await.unwrap();
    let steps = store.steps(&id).await.unwrap();
    assert_eq!((steps[0].state, steps[0].attempts), (StepState::Done, 1));
    assert_eq!(steps[1].state, StepState::Done);
    assert_eq!(steps[2].state, StepState::Pending);
}

async fn complete_steps_replayed_logs_once(store: &dyn Store) {
    let now = at("2026-04-03T08:00:00Z");
    let plan = plan_of("wiki", now, sample_changes());
    let id = store.save_plan(&plan, PlanStatus::Pending).await.unwrap();
    let step = |n| completed(&id, &plan, n, now);
    assert_eq!(
        store
            .complete_steps(&id, &[step(0), step(1)], now)
            .await
            .unwrap(),
        vec![1, 2]
    );
    // A resumed apply sends the batch again, with one more step.
    assert_eq!(
        store
            .complete_steps(&id, &[step(0), step(1), step(2)], now)
            .await
            .unwrap(),
        vec![3],
        "only the new step is logged"
    );
    assert!(
        store
            .complete_steps(&id, &[step(2)], now)
            .await
            .unwrap()
            .is_empty()
    );
    let events = all_events(store).await;
    let logged: Vec<u64> = events
        .iter()
        .map(|e| e.parsed().unwrap().detail["step"].as_u64().unwrap())
        .collect();
    assert_eq!(logged, vec![0, 1, 2]);
    assert_eq!(verify_audit(store, |_| {}).await.unwrap(), 3);

    // An unknown step fails the whole call: nothing is marked or logged.
    let other = store.save_plan(&plan, PlanStatus::Pending).await.unwrap();
    let mut bad = completed(&other, &plan, 0, now);
    let good = bad.clone();
    bad.step = 9;
    let err = store
        .complete_steps(&other, &[good, bad], now)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::NotFound(ref m) if m.contains("step 9")),
        "{err}"
    );
    assert_eq!(
        store.steps(&other).await.unwrap()[0].state,
        StepState::Pending
    );
    assert_eq!(store.audit_head().await.unwrap().unwrap().0, 3);
    assert!(matches!(
        store.complete_steps("nope", &[step(0)], now).await,
        Err(StoreError::NotFound(_))
    ));
}

// ---------------------------------------------------------------------------------------------
// Audit chain.

async fn audit_append_page_and_verify(store: &dyn Store) {
    assert_eq!(store.audit_head().await.unwrap(), None);
    assert_eq!(
        verify_audit(store, |_| {}).await.unwrap(),
        0,
        "an empty log verifies"
    );
    let t0 = at("2026-05-01T00:00:00Z");
    let events: Vec<NewAuditEvent> = (1..=10)
        .map(|n| event(n, t0 + jiff::SignedDuration::from_mins(n as i64)))
        .collect();
    assert_eq!(
        store.append_audit(&events[..4]).await.unwrap(),
        vec![1, 2, 3, 4]
    );
    assert_eq!(
        store.append_audit(&events[4..]).await.unwrap(),
        (5..=10).collect::<Vec<u64>>()
    );
    assert!(store.append_audit(&[]).await.unwrap().is_empty());

    let all = all_events(store).await;
    assert_eq!(all.len(), 10);
    assert_eq!(all[0].prev_hash, "0".repeat(64));
    for pair in all.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
    }
    let body = all[6].parsed().unwrap();
    assert_eq!(
        (body.seq, body.subject.as_str(), body.at),
        (7, "p7@acme.example", events[6].at)
    );
    assert_eq!(
        store.audit_head().await.unwrap(),
        Some((10, all[9].hash.clone()))
    );

    let page: Vec<u64> = store
        .audit_page(8, 100)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(page, vec![9, 10]);
    let since: Vec<u64> = store
        .audit_since(events[5].at, 0, 3)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(since, vec![6, 7, 8]);
    let since: Vec<u64> = store
        .audit_since(events[5].at, 8, 3)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(since, vec![9, 10]);

    let mut reported = Vec::new();
    assert_eq!(verify_audit(store, |n| reported.push(n)).await.unwrap(), 10);
    assert_eq!(reported.last(), Some(&10));
}

async fn audit_bulk_append(store: &dyn Store) {
    let t0 = at("2026-05-02T00:00:00Z");
    let events: Vec<NewAuditEvent> = (1..=20_000).map(|n| event(n, t0)).collect();
    let started = Instant::now();
    let seqs = store.append_audit(&events).await.unwrap();
    let took = started.elapsed();
    eprintln!(
        "{}: appended 20,000 audit events in {took:?}",
        store.backend()
    );
    assert_eq!(seqs.len(), 20_000);
    assert_eq!((seqs[0], seqs[19_999]), (1, 20_000));
    // Generous: this is a debug build; the release target is well under a second.
    assert!(took.as_secs() < 10, "appending 20,000 events took {took:?}");

    let started = Instant::now();
    let mut pages = 0;
    assert_eq!(verify_audit(store, |_| pages += 1).await.unwrap(), 20_000);
    eprintln!(
        "{}: verified 20,000 events in {:?}",
        store.backend(),
        started.elapsed()
    );
    assert!(pages >= 2, "verification reads page by page");
}

async fn concurrent_appends_keep_one_chain(store: &dyn Store) {
    let t0 = at("2026-05-03T00:00:00Z");
    let batch =
        |k: usize| -> Vec<NewAuditEvent> { (0..50).map(|n| event(k * 100 + n, t0)).collect() };
    let (a, b, c, d) = (batch(1), batch(2), batch(3), batch(4));
    let (ra, rb, rc, rd) = tokio::join!(
        store.append_audit(&a),
        store.append_audit(&b),
        store.append_audit(&c),
        store.append_audit(&d)
    );
    let mut seqs: Vec<u64> = [ra, rb, rc, rd]
        .into_iter()
        .flat_map(|r| r.unwrap())
        .collect();
    for one in [&seqs[..50], &seqs[50..100], &seqs[100..150], &seqs[150..]] {
        assert!(
            one.windows(2).all(|w| w[1] == w[0] + 1),
            "one call's events are contiguous"
        );
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=200).collect::<Vec<u64>>());
    assert_eq!(verify_audit(store, |_| {}).await.unwrap(), 200);
}

async fn ten_events(db: &Db) {
    let t0 = at("2026-05-04T00:00:00Z");
    let events: Vec<NewAuditEvent> = (1..=10).map(|n| event(n, t0)).collect();
    db.store.append_audit(&events).await.unwrap();
    assert_eq!(verify_audit(db.store.as_ref(), |_| {}).await.unwrap(), 10);
}

async fn tamper_edited_body_is_named(db: &Db) {
    ten_events(db).await;
    if let Raw::Postgres(_) = db.raw {
        let refused = db
            .exec("UPDATE audit_event SET body = replace(body, 'eng', 'admins') WHERE seq = 5")
            .await;
        assert!(
            refused.is_err_and(|e| e.to_string().contains("append-only")),
            "the trigger refuses edits"
        );
        assert!(
            db.exec("DELETE FROM audit_event WHERE seq = 5")
                .await
                .is_err()
        );
    }
    let n = db
        .tamper("UPDATE audit_event SET body = replace(body, 'eng', 'admins') WHERE seq = 5")
        .await;
    assert_eq!(n, 1);
    let err = verify_audit(db.store.as_ref(), |_| {}).await.unwrap_err();
    assert!(
        matches!(err, VerifyError::Broken(ChainBreak::Altered { seq: 5 })),
        "{err}"
    );
    assert!(
        err.to_string().contains("audit event 5 was altered"),
        "{err}"
    );
}

async fn tamper_deleted_middle_event_is_named(db: &Db) {
    ten_events(db).await;
    assert_eq!(db.tamper("DELETE FROM audit_event WHERE seq = 5").await, 1);
    let err = verify_audit(db.store.as_ref(), |_| {}).await.unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Broken(ChainBreak::Missing {
                expected: 5,
                found: 6
            })
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("audit event 5 is missing"),
        "{err}"
    );
}

async fn tamper_deleted_last_event_is_detected(db: &Db) {
    ten_events(db).await;
    assert_eq!(db.tamper("DELETE FROM audit_event WHERE seq = 10").await, 1);
    let err = verify_audit(db.store.as_ref(), |_| {}).await.unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Broken(ChainBreak::Truncated { last: 9, head: 10 })
        ),
        "{err}"
    );
    // Cutting the head back too leaves a head that does not match the last event's hash.
    db.tamper("UPDATE audit_head SET seq = 9").await;
    let err = verify_audit(db.store.as_ref(), |_| {}).await.unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Broken(ChainBreak::HeadMismatch { last: 9 })
        ),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// Access history.

fn observed(accounts: Vec<Account>, perms: &[(&str, &str, &str)]) -> ActualState {
    ActualState {
        groups: accounts
            .iter()
            .flat_map(|a| a.entitlements.iter())
            .filter_map(|e| match e {
                Entitlement::Group { group } => Some(group.clone()),
                _ => None,
            })
            .collect(),
        accounts,
        group_space_permissions: perms
            .iter()
            .map(|(g, s, o)| GroupSpacePermission {
                group: g.to_string(),
                space: s.to_string(),
                operation: o.to_string(),
            })
            .collect(),
    }
}

fn alice(entitlements: &[Entitlement]) -> Account {
    Account {
        external_id: "acc-alice".into(),
        employee_id: Some("E1".into()),
        email: "alice@acme.example".into(),
        display_name: "Alice".into(),
        active: true,
        last_active: None,
        entitlements: entitlements.iter().cloned().collect(),
    }
}

fn lines(records: &[AccessRecord]) -> Vec<String> {
    records
        .iter()
        .map(|r| {
            format!(
                "{} | {} | {} | {:?}",
                r.email, r.entitlement, r.via, r.audit_events
            )
        })
        .collect()
}

async fn observation_opens_and_closes_access(store: &dyn Store) {
    let (t1, t2, t3) = (
        at("2026-06-01T08:00:00Z"),
        at("2026-06-02T08:00:00Z"),
        at("2026-06-03T08:00:00Z"),
    );
    let state = observed(
        vec![alice(&[
            Entitlement::group("eng"),
            Entitlement::licence("confluence"),
        ])],
        &[("eng", "ENG", "read")],
    );
    store.record_observation("wiki", &state, t1).await.unwrap();
    store.record_observation("wiki", &state, t2).await.unwrap();
    let all = AccessFilter::default();
    let seen = store.access_at(t2, &all).await.unwrap();
    assert_eq!(
        lines(&seen),
        vec![
            "alice@acme.example | group eng | direct | []",
            "alice@acme.example | licence confluence | direct | []",
            "alice@acme.example | space ENG: read | group eng | []",
        ],
        "reading the same state again opens nothing new"
    );
    assert!(
        seen.iter()
            .all(|r| r.reason == "observed in target" && r.since == t1)
    );
    assert_eq!(seen[0].employee_id.as_deref(), Some("E1"));
    assert!(
        store
            .access_at(at("2026-06-01T07:59:59Z"), &all)
            .await
            .unwrap()
            .is_empty()
    );

    // The licence was reclaimed outside Roster and the group lost its permission.
    store
        .record_observation(
            "wiki",
            &observed(vec![alice(&[Entitlement::group("eng")])], &[]),
            t3,
        )
        .await
        .unwrap();
    assert_eq!(
        lines(&store.access_at(t3, &all).await.unwrap()),
        vec!["alice@acme.example | group eng | direct | []"]
    );
    assert_eq!(
        store.access_at(t2, &all).await.unwrap().len(),
        3,
        "the past is kept"
    );
    let other_system = AccessFilter {
        system: Some("okta".into()),
        ..AccessFilter::default()
    };
    assert!(store.access_at(t2, &other_system).await.unwrap().is_empty());
}

async fn access_at_for_person_and_space_through_group(db: &Db) {
    let store = db.store.as_ref();
    let (t1, t2, t3) = (
        at("2026-07-01T08:00:00Z"),
        at("2026-07-02T08:00:00Z"),
        at("2026-07-03T08:00:00Z"),
    );
    // Alice was in eng before Roster, and eng can read ENG.
    store
        .record_observation(
            "wiki",
            &observed(
                vec![alice(&[Entitlement::group("eng")])],
                &[("eng", "ENG", "read")],
            ),
            t1,
        )
        .await
        .unwrap();

    // Roster creates Bob, puts him in eng, grants him FIN directly, and lets eng create pages.
    let bob = account("E2", "Bob");
    let grant = Reason::Grant {
        grant_id: "g1".into(),
        owner: "cfo@acme.example".into(),
        reason: "quarter close".into(),
        expires_at: None,
    };
    let joiner = plan_of(
        "wiki",
        t2,
        vec![
            Change {
                action: Action::GrantGroupSpacePermission {
                    group: "eng".into(),
                    space: "ENG".into(),
                    operation: "create:page".into(),
                },
                reason: Reason::SpacePolicy {
                    space: "ENG".into(),
                },
            },
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
                    account: bob.clone(),
                    entitlement: Entitlement::space("FIN", "read"),
                },
                reason: grant.clone(),
            },
        ],
    );
    let id = store.save_plan(&joiner, PlanStatus::Pending).await.unwrap();
    let steps: Vec<CompletedStep> = (0..4).map(|n| completed(&id, &joiner, n, t2)).collect();
    let seqs = store.complete_steps(&id, &steps, t2).await.unwrap();
    assert_eq!(seqs, vec![1, 2, 3, 4]);

    // The next read finds Bob (now with a target id) holding what Roster gave him.
    let bob_account = Account {
        external_id: "acc-bob".into(),
        employee_id: Some("E2".into()),
        email: "bob@acme.example".into(),
        display_name: "Bob".into(),
        active: true,
        last_active: None,
        entitlements: [Entitlement::group("eng"), Entitlement::space("FIN", "read")].into(),
    };
    let after_join = observed(
        vec![alice(&[Entitlement::group("eng")]), bob_account.clone()],
        &[("eng", "ENG", "read"), ("eng", "ENG", "create:page")],
    );
    store
        .record_observation("wiki", &after_join, t2 + jiff::SignedDuration::from_mins(5))
        .await
        .unwrap();

    let when = t2 + jiff::SignedDuration::from_hours(1);
    let bob_filter = AccessFilter {
        email: Some("BOB@acme.example".into()),
        ..AccessFilter::default()
    };
    let bobs = store.access_at(when, &bob_filter).await.unwrap();
    assert_eq!(
        lines(&bobs),
        vec![
            "bob@acme.example | group eng | direct | [3]",
            "bob@acme.example | space ENG: create:page | group eng | [3, 1]",
            "bob@acme.example | space ENG: read | group eng | [3]",
            "bob@acme.example | space FIN: read | direct | [4]",
        ]
    );
    assert_eq!(
        bobs[0].reason, "rule \"engineers\": department = Engineering",
        "not overwritten by the read"
    );
    assert_eq!(
        bobs[3].reason,
        "grant g1 by cfo@acme.example: quarter close"
    );
    assert_eq!(bobs[0].employee_id.as_deref(), Some("E2"));
    assert!(bobs.iter().all(|r| r.since == t2));

    let eng = AccessFilter {
        space: Some("ENG".into()),
        ..AccessFilter::default()
    };
    assert_eq!(
        lines(&store.access_at(when, &eng).await.unwrap()),
        vec![
            "alice@acme.example | space ENG: create:page | group eng | [1]",
            "alice@acme.example | space ENG: read | group eng | []",
            "bob@acme.example | space ENG: create:page | group eng | [3, 1]",
            "bob@acme.example | space ENG: read | group eng | [3]",
        ]
    );
    let fin = AccessFilter {
        space: Some("FIN".into()),
        ..AccessFilter::default()
    };
    assert_eq!(
        lines(&store.access_at(when, &fin).await.unwrap()),
        vec!["bob@acme.example | space FIN: read | direct | [4]"]
    );
    assert_eq!(
        lines(&store.access_at(t1, &eng).await.unwrap()),
        vec!["alice@acme.example | space ENG: read | group eng | []"],
        "before Roster's changes"
    );

    // Bob leaves: out of eng, FIN taken back, account deactivated.
    let leaver = Reason::Leaver {
        cause: LeaverCause::Terminated,
    };
    let bob = AccountRef {
        external_id: Some("acc-bob".into()),
        ..bob
    };
    let leave = plan_of(
        "wiki",
        t3,
        vec![
            Change {
                action: Action::Remove {
                    account: bob.clone(),
                    entitlement: Entitlement::space("FIN", "read"),
                },
                reason: leaver.clone(),
            },
            Change {
                action: Action::Remove {
                    account: bob.clone(),
                    entitlement: Entitlement::group("eng"),
                },
                reason: leaver.clone(),
            },
            Change {
                action: Action::DeactivateAccount { account: bob },
                reason: leaver,
            },
        ],
    );
    let id = store.save_plan(&leave, PlanStatus::Pending).await.unwrap();
    let steps: Vec<CompletedStep> = (0..3).map(|n| completed(&id, &leave, n, t3)).collect();
    assert_eq!(
        store.complete_steps(&id, &steps, t3).await.unwrap(),
        vec![5, 6, 7]
    );

    let later = t3 + jiff::SignedDuration::from_hours(1);
    assert!(
        store
            .access_at(later, &bob_filter)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        lines(&store.access_at(later, &eng).await.unwrap()),
        vec![
            "alice@acme.example | space ENG: create:page | group eng | [1]",
            "alice@acme.example | space ENG: read | group eng | []",
        ]
    );
    assert!(store.access_at(later, &fin).await.unwrap().is_empty());
    assert_eq!(
        store.access_at(when, &bob_filter).await.unwrap().len(),
        4,
        "history is kept"
    );
    assert_eq!(
        db.count("SELECT COUNT(*) FROM access_interval WHERE end_event_seq = 6")
            .await,
        1,
        "the removal's audit event closes the interval"
    );

    // Bob's account: created active, then deactivated; its target id learnt from the read.
    assert_eq!(
        db.count("SELECT COUNT(*) FROM account_history WHERE holder = 'employee:E2'")
            .await,
        2
    );
    assert_eq!(
        db.count(
            "SELECT COUNT(*) FROM account_history WHERE holder = 'employee:E2' \
             AND valid_to IS NULL AND active = FALSE AND external_id = 'acc-bob' AND event_seq = 7"
        )
        .await,
        1
    );
    assert_eq!(verify_audit(store, |_| {}).await.unwrap(), 7);
}

async fn manual_tasks_open_once_and_complete_with_audit(store: &dyn Store) {
    let now = at("2026-04-02T08:00:00Z");
    let action = Action::Add {
        account: AccountRef {
            employee_id: "E1".into(),
            email: "ada@acme.example".into(),
            display_name: "Ada".into(),
            external_id: None,
        },
        entitlement: Entitlement::group("payroll-app"),
    };
    let (first, opened) = store
        .open_manual_task("payroll", &action, "add ada to payroll-app", now)
        .await
        .unwrap();
    assert!(opened);
    // A retried apply finds the same open task instead of opening another.
    let (again, opened_again) = store
        .open_manual_task("payroll", &action, "add ada to payroll-app", now)
        .await
        .unwrap();
    assert!(!opened_again);
    assert_eq!(again.id, first.id);
    assert_eq!(
        store
            .manual_tasks(Some("payroll"), true)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        store
            .manual_tasks(Some("other"), false)
            .await
            .unwrap()
            .is_empty()
    );

    let done = store
        .complete_manual_task(
            first.id,
            "alice@acme.example",
            Some("done in the admin UI"),
            now,
        )
        .await
        .unwrap();
    assert_eq!(done.state, "done");
    assert_eq!(done.note.as_deref(), Some("done in the admin UI"));
    let tasks = store.manual_tasks(None, false).await.unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].state, "done");
    assert_eq!(tasks[0].done_by.as_deref(), Some("alice@acme.example"));
    assert_eq!(tasks[0].action, action);
    assert!(store.manual_tasks(None, true).await.unwrap().is_empty());
    let err = store
        .complete_manual_task(first.id, "bob@acme.example", None, now)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("already done"), "{err}");
    assert!(
        store
            .complete_manual_task(999, "bob", None, now)
            .await
            .is_err()
    );

    // Who did it is in the audit log.
    let events = store.audit_page(0, 100).await.unwrap();
    let last = events.last().unwrap().parsed().unwrap();
    assert_eq!(last.action, "manual task done");
    assert_eq!(last.actor, "alice@acme.example");
    // Once done, the same action can get a new task later (e.g. access granted again).
    let (later, opened_later) = store
        .open_manual_task("payroll", &action, "add ada to payroll-app", now)
        .await
        .unwrap();
    assert!(opened_later);
    assert_ne!(later.id, first.id);
}
