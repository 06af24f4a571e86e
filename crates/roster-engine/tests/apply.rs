//! Apply engine: crash and resume, retries, safety holds — on SQLite and, when
//! ROSTER_TEST_DATABASE_URL is set, PostgreSQL.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use jiff::Timestamp;
use roster_core::plan::Action;
use roster_core::{ActualState, Person, PersonStatus, Policy, StepOutcome, Target, TargetError};
use roster_engine::{ApplyError, ApplyOptions, MemoryTarget, apply_plan, plan_system};
use roster_store::{PlanStatus, Store};

const POLICY: &str = r#"
[company]
time_zone = "Europe/Paris"
[[roles]]
name = "everyone"
groups = ["confluence-users"]
licences = ["confluence"]
[[roles]]
name = "eng"
groups = ["eng"]
[[rules]]
name = "all staff"
when = 'status != "terminated"'
roles = ["everyone"]
[[rules]]
name = "engineers"
when = 'department == "Engineering"'
roles = ["eng"]
[[spaces]]
key = "ENG"
groups = { eng = ["read", "create:page"] }
"#;

fn now() -> Timestamp {
    "2026-11-23T08:00:00Z".parse().unwrap()
}

fn people(n: usize) -> Vec<Person> {
    (0..n)
        .map(|i| Person {
            employee_id: format!("E{i:04}"),
            email: format!("person{i}@acme.example"),
            first_name: format!("Person{i}"),
            last_name: "Example".into(),
            department: if i % 3 == 0 { "Engineering" } else { "Sales" }.into(),
            team: String::new(),
            title: String::new(),
            manager_id: None,
            location: "Paris".into(),
            employment_type: "full_time".into(),
            status: PersonStatus::Active,
            start_date: Some(jiff::civil::date(2024, 1, 1)),
            end_date: None,
            custom: Default::default(),
        })
        .collect()
}

async fn sqlite() -> (Box<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("roster.db").display());
    (roster_store::open(&url).await.unwrap(), dir)
}

async fn postgres() -> Option<Box<dyn Store>> {
    let url = std::env::var("ROSTER_TEST_DATABASE_URL").ok()?;
    let schema = format!("engine_{}", uuid_like());
    Some(Box::new(
        roster_store::postgres::PgStore::open_in_schema(&url, &schema)
            .await
            .unwrap(),
    ))
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let n = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{:x}{:x}", n, std::process::id())
}

/// A target that dies part-way: on its `crash_at`-th call it carries out the change and then
/// never answers, like a process killed after the write reached the system.
struct CrashingTarget {
    inner: Arc<MemoryTarget>,
    crash_at: usize,
    calls: AtomicUsize,
    crashed: tokio::sync::Notify,
}

#[async_trait]
impl Target for CrashingTarget {
    fn system(&self) -> &str {
        self.inner.system()
    }
    async fn read_state(&self) -> Result<ActualState, TargetError> {
        self.inner.read_state().await
    }
    async fn apply(&self, action: &Action) -> Result<StepOutcome, TargetError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let outcome = self.inner.apply(action).await;
        if n == self.crash_at {
            self.crashed.notify_one();
            std::future::pending::<()>().await;
        }
        outcome
    }
}

/// Fails each step's first attempt with a transient error (a 503, say) after applying it.
struct FlakyTarget {
    inner: Arc<MemoryTarget>,
    seen: std::sync::Mutex<BTreeMap<String, usize>>,
}

#[async_trait]
impl Target for FlakyTarget {
    fn system(&self) -> &str {
        self.inner.system()
    }
    async fn read_state(&self) -> Result<ActualState, TargetError> {
        self.inner.read_state().await
    }
    async fn apply(&self, action: &Action) -> Result<StepOutcome, TargetError> {
        let key = format!("{action:?}");
        let first = {
            let mut seen = self.seen.lock().unwrap();
            let n = seen.entry(key).or_default();
            *n += 1;
            *n == 1
        };
        let outcome = self.inner.apply(action).await;
        if first {
            // The write happened but the answer was lost.
            return Err(TargetError::Transient("503 Service Unavailable".into()));
        }
        outcome
    }
}

async fn audit_steps(store: &dyn Store, plan_id: &str) -> BTreeMap<u64, usize> {
    let mut counts = BTreeMap::new();
    let mut after = 0;
    loop {
        let page = store.audit_page(after, 1000).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.seq;
        for e in &page {
            let body = e.parsed().unwrap();
            if body.detail["plan_id"] == plan_id
                && let Some(step) = body.detail["step"].as_u64()
            {
                *counts.entry(step).or_default() += 1;
            }
        }
    }
    counts
}

fn clock() -> Timestamp {
    now()
}

/// One step at a time: exactly the two steps sent in the crashed batch are found in place.
async fn crash_mid_apply_then_resume(store: &dyn Store) {
    crash_and_resume(store, 1).await;
}

/// A wave's steps at once: the crashed batch may have sent any of its steps; each is found in
/// place on resume and logged once all the same.
async fn crash_mid_concurrent_apply_then_resume(store: &dyn Store) {
    crash_and_resume(store, 16).await;
}

async fn crash_and_resume(store: &dyn Store, concurrency: usize) {
    let policy = Policy::parse(POLICY).unwrap();
    store
        .import_people("hr", &people(40), &Default::default(), now())
        .await
        .unwrap();
    let target = Arc::new(MemoryTarget::new("wiki", ActualState::default()));
    let (plan_id, plan) = plan_system(store, &policy, target.as_ref(), now())
        .await
        .unwrap();
    let total = plan.changes.len();
    assert!(
        total > 100,
        "plan too small to crash in the middle: {total}"
    );

    let crashing = CrashingTarget {
        inner: target.clone(),
        crash_at: 23,
        calls: AtomicUsize::new(0),
        crashed: tokio::sync::Notify::new(),
    };
    let options = ApplyOptions {
        batch_size: 7,
        concurrency,
        ..ApplyOptions::default()
    };
    let mut progress = |_| {};
    tokio::select! {
        result = apply_plan(store, &crashing, &plan_id, &options, &clock, &mut progress) => {
            panic!("apply should have crashed, returned {result:?}");
        }
        _ = crashing.crashed.notified() => {}
    }
    // The apply future is dropped here: nothing after the crash point ran.
    let logged_before = audit_steps(store, &plan_id).await;
    assert_eq!(
        logged_before.len(),
        21,
        "three batches of 7 were committed before the crash"
    );
    assert_eq!(
        store.plan(&plan_id).await.unwrap().status,
        PlanStatus::Applying
    );

    let report = apply_plan(
        store,
        target.as_ref(),
        &plan_id,
        &options,
        &clock,
        &mut progress,
    )
    .await
    .unwrap();
    assert!(report.is_complete(), "{:?}", report.failed);
    assert_eq!(report.previously_done, 21);
    if concurrency == 1 {
        assert_eq!(
            report.already_done, 2,
            "the two steps sent before the crash were already in place"
        );
    } else {
        assert!(
            (2..=7).contains(&report.already_done),
            "the crashed batch's sent steps are found in place: {}",
            report.already_done
        );
    }
    assert_eq!(
        report.applied + report.already_done + report.previously_done,
        total
    );
    assert_eq!(
        store.plan(&plan_id).await.unwrap().status,
        PlanStatus::Applied
    );

    let logged = audit_steps(store, &plan_id).await;
    assert_eq!(logged.len(), total, "every step is in the audit log");
    assert!(
        logged.values().all(|&n| n == 1),
        "a step was logged twice: {logged:?}"
    );
    assert_eq!(
        roster_store::verify_audit(store, |_| {}).await.unwrap() as usize,
        total
    );

    let (_, again) = plan_system(store, &policy, target.as_ref(), now())
        .await
        .unwrap();
    assert!(
        again.is_empty(),
        "after resume the target is in the desired state: {:#?}",
        again.changes
    );

    // Applying the finished plan again changes and logs nothing.
    let report = apply_plan(
        store,
        target.as_ref(),
        &plan_id,
        &options,
        &clock,
        &mut progress,
    )
    .await
    .unwrap();
    assert_eq!(report.previously_done, total);
    assert_eq!(audit_steps(store, &plan_id).await.len(), total);
}

async fn lost_answers_are_retried_without_duplicates(store: &dyn Store) {
    let policy = Policy::parse(POLICY).unwrap();
    store
        .import_people("hr", &people(10), &Default::default(), now())
        .await
        .unwrap();
    let inner = Arc::new(MemoryTarget::new("wiki", ActualState::default()));
    let target = FlakyTarget {
        inner: inner.clone(),
        seen: Default::default(),
    };
    let (plan_id, plan) = plan_system(store, &policy, &target, now()).await.unwrap();
    let options = ApplyOptions {
        retry_delay: std::time::Duration::from_millis(1),
        ..ApplyOptions::default()
    };
    let report = apply_plan(store, &target, &plan_id, &options, &clock, &mut |_| {})
        .await
        .unwrap();
    assert!(report.is_complete());
    assert_eq!(
        report.already_done,
        plan.changes.len(),
        "every retry found its change in place"
    );
    let state = inner.snapshot();
    assert_eq!(state.accounts.len(), 10, "no duplicate accounts");
    let logged = audit_steps(store, &plan_id).await;
    assert!(logged.values().all(|&n| n == 1));
    assert_eq!(logged.len(), plan.changes.len());
}

async fn mass_offboarding_is_held_until_confirmed(store: &dyn Store) {
    let policy = Policy::parse(POLICY).unwrap();
    let everyone = people(50);
    store
        .import_people("hr", &everyone, &Default::default(), now())
        .await
        .unwrap();
    let target = MemoryTarget::new("wiki", ActualState::default());
    let (id, _) = plan_system(store, &policy, &target, now()).await.unwrap();
    apply_plan(
        store,
        &target,
        &id,
        &ApplyOptions::default(),
        &clock,
        &mut |_| {},
    )
    .await
    .unwrap();
    // A broken export lists only 20 of the 50 people.
    let later: Timestamp = "2026-11-24T08:00:00Z".parse().unwrap();
    store
        .import_people("hr", &everyone[..20], &Default::default(), later)
        .await
        .unwrap();
    let (id, plan) = plan_system(store, &policy, &target, later).await.unwrap();
    assert!(plan.hold.is_some());
    assert_eq!(store.plan(&id).await.unwrap().status, PlanStatus::Held);
    let before = target.snapshot();
    let err = apply_plan(
        store,
        &target,
        &id,
        &ApplyOptions::default(),
        &|| later,
        &mut |_| {},
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, ApplyError::Held(ref m) if m.contains("30 of 50")),
        "{err}"
    );
    assert_eq!(target.snapshot(), before, "a held plan changes nothing");
    let confirmed = ApplyOptions {
        confirm: true,
        actor: "admin:it@acme.example".into(),
        ..ApplyOptions::default()
    };
    let report = apply_plan(store, &target, &id, &confirmed, &|| later, &mut |_| {})
        .await
        .unwrap();
    assert!(report.is_complete());
    let deactivated = target
        .snapshot()
        .accounts
        .iter()
        .filter(|a| !a.active)
        .count();
    assert_eq!(deactivated, 30);
}

macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite_backend {
            $(
                #[tokio::test]
                async fn $case() {
                    let (store, _dir) = super::sqlite().await;
                    super::$case(store.as_ref()).await;
                }
            )*
        }
        mod postgres_backend {
            $(
                #[tokio::test]
                async fn $case() {
                    let Some(store) = super::postgres().await else {
                        eprintln!("skipped: ROSTER_TEST_DATABASE_URL is not set");
                        return;
                    };
                    super::$case(store.as_ref()).await;
                }
            )*
        }
    };
}

on_both_backends!(
    crash_mid_apply_then_resume,
    crash_mid_concurrent_apply_then_resume,
    lost_answers_are_retried_without_duplicates,
    mass_offboarding_is_held_until_confirmed,
);
