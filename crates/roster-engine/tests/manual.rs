//! The manual target: steps become tasks, people mark them done, the next apply finds them in
//! place. On SQLite and, when ROSTER_TEST_DATABASE_URL is set, PostgreSQL.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use jiff::Timestamp;
use roster_core::{Person, PersonStatus, Policy, Target};
use roster_engine::{ApplyOptions, ManualTarget, Notifier, apply_plan, plan_system};
use roster_store::{ManualTask, PlanStatus, Store};

const POLICY: &str = r#"
[[roles]]
name = "payroll"
groups = ["payroll-users"]
[[rules]]
name = "finance"
when = 'department == "Finance"'
roles = ["payroll"]
"#;

fn now() -> Timestamp {
    "2026-11-23T08:00:00Z".parse().unwrap()
}

fn person(i: usize) -> Person {
    Person {
        employee_id: format!("E{i:04}"),
        email: format!("person{i}@acme.example"),
        first_name: format!("Person{i}"),
        last_name: "Example".into(),
        department: "Finance".into(),
        team: String::new(),
        title: String::new(),
        manager_id: None,
        location: "Paris".into(),
        employment_type: "full_time".into(),
        status: PersonStatus::Active,
        start_date: Some(jiff::civil::date(2024, 1, 1)),
        end_date: None,
        custom: Default::default(),
    }
}

#[derive(Default)]
struct Recorder(Mutex<Vec<u64>>);

#[async_trait]
impl Notifier for Recorder {
    async fn task_opened(&self, task: &ManualTask) -> Result<(), String> {
        self.0.lock().unwrap().push(task.id);
        Ok(())
    }
}

async fn manual_steps_wait_for_people_and_complete_once(store: Arc<dyn Store>) {
    let policy = Policy::parse(POLICY).unwrap();
    let people = vec![person(1), person(2)];
    store
        .import_people("hr", &people, &Default::default(), now())
        .await
        .unwrap();
    let recorder = Arc::new(Recorder::default());
    let target = ManualTarget::new("payroll", store.clone()).with_notifier(recorder.clone());
    let (id, plan) = plan_system(store.as_ref(), &policy, &target, now())
        .await
        .unwrap();
    // Group, two accounts, two memberships.
    assert_eq!(plan.changes.len(), 5, "{:#?}", plan.changes);
    let clock = || now();
    let options = ApplyOptions::default();

    let report = apply_plan(store.as_ref(), &target, &id, &options, &clock, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(report.waiting.len(), 5);
    assert!(report.failed.is_empty());
    assert_eq!(store.plan(&id).await.unwrap().status, PlanStatus::Applying);
    let tasks = store.manual_tasks(Some("payroll"), true).await.unwrap();
    assert_eq!(tasks.len(), 5);
    assert_eq!(recorder.0.lock().unwrap().len(), 5);
    assert!(
        tasks
            .iter()
            .any(|t| t.description.contains("person1@acme.example"))
    );

    // Applying again while nobody has acted opens nothing new and notifies nobody again.
    let report = apply_plan(store.as_ref(), &target, &id, &options, &clock, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(report.waiting.len(), 5);
    assert_eq!(
        store
            .manual_tasks(Some("payroll"), true)
            .await
            .unwrap()
            .len(),
        5
    );
    assert_eq!(recorder.0.lock().unwrap().len(), 5);

    // Alice does the work in the application and says so.
    for t in &tasks {
        store
            .complete_manual_task(t.id, "alice@acme.example", None, now())
            .await
            .unwrap();
    }
    let report = apply_plan(store.as_ref(), &target, &id, &options, &clock, &mut |_| {})
        .await
        .unwrap();
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.already_done, 5);
    assert_eq!(store.plan(&id).await.unwrap().status, PlanStatus::Applied);

    // The target's state is what the tasks did; planning again finds nothing.
    let state = target.read_state().await.unwrap();
    assert_eq!(state.accounts.len(), 2);
    let (_, again) = plan_system(store.as_ref(), &policy, &target, now())
        .await
        .unwrap();
    assert!(again.is_empty(), "{:#?}", again.changes);

    // The audit log says who did each task, and logs each step once.
    let events = store.audit_page(0, 1000).await.unwrap();
    let bodies: Vec<_> = events.iter().map(|e| e.parsed().unwrap()).collect();
    let by_alice = bodies
        .iter()
        .filter(|b| b.action == "manual task done" && b.actor == "alice@acme.example")
        .count();
    assert_eq!(by_alice, 5);
    let steps = bodies
        .iter()
        .filter(|b| b.detail["plan_id"] == id.as_str())
        .count();
    assert_eq!(steps, 5);
}

#[tokio::test]
async fn sqlite_manual_steps_wait_for_people_and_complete_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("roster.db").display());
    let store: Arc<dyn Store> = Arc::from(roster_store::open(&url).await.unwrap());
    manual_steps_wait_for_people_and_complete_once(store).await;
}

#[tokio::test]
async fn postgres_manual_steps_wait_for_people_and_complete_once() {
    let Ok(url) = std::env::var("ROSTER_TEST_DATABASE_URL") else {
        eprintln!("skipped: set ROSTER_TEST_DATABASE_URL to run the PostgreSQL tests");
        return;
    };
    let schema = format!("manual_{}", std::process::id());
    let store = roster_store::postgres::PgStore::open_in_schema(&url, &schema)
        .await
        .unwrap();
    manual_steps_wait_for_people_and_complete_once(Arc::new(store)).await;
}
