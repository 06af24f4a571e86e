//! Plans and the journal: saving and loading plans, step states, replayed completions.

use super::*;

pub(crate) async fn plan_save_load_status(store: &dyn Store) {
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

pub(crate) async fn journal_started_failed_done(store: &dyn Store) {
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

pub(crate) async fn complete_steps_replayed_logs_once(store: &dyn Store) {
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
