//! Manual tasks: opened once per step, completed with who did it in the audit log.

use super::*;

pub(crate) async fn manual_tasks_open_once_and_complete_with_audit(store: &dyn Store) {
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
