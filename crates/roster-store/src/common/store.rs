//! The `Store` implementation both backends share, written once as a macro.

/// Expands to the whole `Store` implementation for one backend.
///
/// The backend type must provide `async fn begin_write(&self) -> Result<Transaction<'static,
/// DB>>` (a transaction that holds the write lock from its start where the backend needs that)
/// `const LOCK_HEAD: &'static str` (the statement that reads the audit head and keeps other
/// appenders out until commit), `const LOCK_SOURCE: &'static str` (the same for a people
/// source's `listed, generation`, keeping other imports of it out) and `const MARKS: Marks`
/// (how its generated statements write placeholders).
macro_rules! impl_store {
    ($store:ident, $db:ty, $backend:literal) => {
        /// The shared store logic, expanded for this backend (see `common::impl_store!`).
        mod shared {
        use super::$store;
        use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

        use async_trait::async_trait;
        use jiff::Timestamp;
        use roster_core::audit::{NewAuditEvent, StoredAuditEvent, seal};
        use roster_core::intake::Quarantined;
        use roster_core::person::{PreviousVersion, normalise_email};
        use roster_core::plan::{AccountRef, Action, Change, Plan};
        use roster_core::{ActualState, Grant, Person, PersonRecord};
        use sqlx::AssertSqlSafe;

        use $crate::common::{self as c, Context as _, Val};
        use $crate::{
            AccessFilter, AccessRecord, CompletedStep, ImportSummary, PlanStatus, Result,
            StepRecord, StepState, Store, StoreError, StoredPlan,
        };

        $crate::common::store_rows!($store, $db);
        $crate::common::store_people!($store, $db);
        $crate::common::store_history!($store, $db);

        #[async_trait]
        impl Store for $store {
            fn backend(&self) -> &'static str {
                $backend
            }

            async fn import_people(
                &self,
                source: &str,
                people: &[Person],
                still_listed: &BTreeSet<String>,
                at: Timestamp,
            ) -> Result<ImportSummary> {
                import_people(self, source, people, still_listed, at).await
            }

            async fn people(&self, history_since: Timestamp) -> Result<Vec<PersonRecord>> {
                let current: Vec<(String, String, String, Option<i64>)> = sqlx::query_as(c::PEOPLE_CURRENT)
                    .fetch_all(&self.pool)
                    .await
                    .ctx("loading people")?;
                let previous: Vec<(String, String, String, i64)> = sqlx::query_as(c::PEOPLE_PREVIOUS)
                    .bind(c::micros(history_since))
                    .fetch_all(&self.pool)
                    .await
                    .ctx("loading people's earlier versions")?;
                let mut history: HashMap<(String, String), Vec<(i64, PreviousVersion)>> = HashMap::new();
                for (source, emp, json, valid_to) in previous {
                    let person: Person = c::from_json(&json, || format!("version of person {emp}"))?;
                    let superseded_at = c::timestamp(valid_to, "a person version")?;
                    history
                        .entry((source, emp))
                        .or_default()
                        .push((valid_to, PreviousVersion { person, superseded_at }));
                }
                let mut out = Vec::with_capacity(current.len());
                let mut keys = Vec::with_capacity(current.len());
                for (source, emp, json, since) in current {
                    let person: Person = c::from_json(&json, || format!("person {emp}"))?;
                    let mut previous = history.remove(&(source.clone(), emp.clone())).unwrap_or_default();
                    previous.sort_by(|a, b| b.0.cmp(&a.0));
                    let absent_since = since.map(|s| c::timestamp(s, "an absence")).transpose()?;
                    keys.push((emp, source));
                    out.push(PersonRecord {
                        person,
                        previous: previous.into_iter().map(|(_, v)| v).collect(),
                        absent_since,
                    });
                }
                let mut order: Vec<usize> = (0..out.len()).collect();
                order.sort_by(|&a, &b| keys[a].cmp(&keys[b]));
                let mut slots: Vec<Option<PersonRecord>> = out.into_iter().map(Some).collect();
                Ok(order.into_iter().filter_map(|i| slots[i].take()).collect())
            }

            async fn people_at(&self, at: Timestamp) -> Result<Vec<Person>> {
                let mut rows: Vec<(String, String, String)> = sqlx::query_as(c::PEOPLE_AT)
                    .bind(c::micros(at))
                    .fetch_all(&self.pool)
                    .await
                    .ctx("loading people as they were")?;
                rows.sort_by(|a, b| (&a.1, &a.0).cmp(&(&b.1, &b.0)));
                rows.into_iter()
                    .map(|(_, emp, json)| c::from_json(&json, || format!("version of person {emp}")))
                    .collect()
            }

            async fn replace_quarantine(
                &self,
                source: &str,
                items: &[Quarantined],
                at: Timestamp,
            ) -> Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query(c::QUARANTINE_DELETE)
                    .bind(source)
                    .execute(&mut *tx)
                    .await
                    .ctx("clearing the quarantine")?;
                let rows = items
                    .iter()
                    .map(|q| {
                        vec![
                            Val::Text(source.to_string()),
                            Val::Int(q.row as i64),
                            Val::OptText(q.employee_id.clone()),
                            Val::OptText(q.email.clone()),
                            Val::Text(q.field.clone()),
                            Val::Text(q.reason.clone()),
                            Val::Int(c::micros(at)),
                        ]
                    })
                    .collect();
                insert_rows(&mut tx, c::QUARANTINE_INSERT, "", 7, rows, "recording quarantined records").await?;
                tx.commit().await.ctx("recording quarantined records")
            }

            async fn source_listed(&self, source: &str) -> Result<Option<usize>> {
                let row: Option<(i64,)> = sqlx::query_as(c::SOURCE_LISTED)
                    .bind(source)
                    .fetch_optional(&self.pool)
                    .await
                    .ctx("reading the size of the source's last listing")?;
                Ok(row.map(|(n,)| n.max(0) as usize))
            }

            async fn quarantine(&self) -> Result<Vec<Quarantined>> {
                let rows: Vec<(String, i64, Option<String>, Option<String>, String, String)> =
                    sqlx::query_as(c::QUARANTINE_ALL)
                        .fetch_all(&self.pool)
                        .await
                        .ctx("loading the quarantine")?;
                let mut out: Vec<Quarantined> = rows
                    .into_iter()
                    .map(|(source, row, employee_id, email, field, reason)| Quarantined {
                        source,
                        row: row.max(0) as usize,
                        employee_id,
                        email,
                        field,
                        reason,
                    })
                    .collect();
                out.sort_by(|a, b| (&a.source, a.row).cmp(&(&b.source, b.row)));
                Ok(out)
            }

            async fn put_grant(&self, grant: &Grant) -> Result<()> {
                sqlx::query(c::GRANT_UPSERT)
                    .bind(&grant.id)
                    .bind(&grant.employee_id)
                    .bind(c::to_json(grant, "a grant")?)
                    .execute(&self.pool)
                    .await
                    .with_ctx(|| format!("saving grant {}", grant.id))?;
                Ok(())
            }

            async fn grants(&self) -> Result<Vec<Grant>> {
                let mut rows: Vec<(String, String)> = sqlx::query_as(c::GRANT_ALL)
                    .fetch_all(&self.pool)
                    .await
                    .ctx("loading grants")?;
                rows.sort();
                rows.into_iter()
                    .map(|(id, json)| c::from_json(&json, || format!("grant {id}")))
                    .collect()
            }

            async fn save_plan(&self, plan: &Plan, status: PlanStatus) -> Result<String> {
                let id = uuid::Uuid::now_v7().to_string();
                let context = || format!("saving plan {id} for {}", plan.system);
                let created = c::micros(plan.computed_at);
                let mut tx = self.begin_write().await?;
                sqlx::query(c::PLAN_INSERT)
                    .bind(&id)
                    .bind(&plan.system)
                    .bind(status.as_str())
                    .bind(created)
                    .bind(c::to_json(plan, "a plan")?)
                    .execute(&mut *tx)
                    .await
                    .with_ctx(context)?;
                let rows = (0..plan.changes.len())
                    .map(|step| {
                        vec![
                            Val::Text(id.clone()),
                            Val::Int(step as i64),
                            Val::Text(StepState::Pending.as_str().to_string()),
                            Val::Int(0),
                            Val::OptText(None),
                            Val::Int(created),
                        ]
                    })
                    .collect();
                insert_rows(&mut tx, c::STEP_INSERT, "", 6, rows, "creating the apply journal").await?;
                tx.commit().await.with_ctx(context)?;
                Ok(id)
            }

            async fn plan(&self, id: &str) -> Result<StoredPlan> {
                let row: Option<PlanRow> = sqlx::query_as(c::PLAN_BY_ID)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .with_ctx(|| format!("loading plan {id}"))?;
                stored_plan(row.ok_or_else(|| StoreError::NotFound(format!("plan {id}")))?)
            }

            async fn latest_plan(&self, system: &str) -> Result<Option<StoredPlan>> {
                let row: Option<PlanRow> = sqlx::query_as(c::PLAN_LATEST)
                    .bind(system)
                    .fetch_optional(&self.pool)
                    .await
                    .with_ctx(|| format!("loading the latest plan for {system}"))?;
                row.map(stored_plan).transpose()
            }

            async fn set_plan_status(&self, id: &str, status: PlanStatus, by: Option<&str>) -> Result<()> {
                let done = sqlx::query(c::PLAN_SET_STATUS)
                    .bind(status.as_str())
                    .bind(by)
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .with_ctx(|| format!("setting the status of plan {id}"))?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound(format!("plan {id}")));
                }
                Ok(())
            }

            async fn steps(&self, plan_id: &str) -> Result<Vec<StepRecord>> {
                let rows: Vec<(i64, String, i64, Option<String>)> = sqlx::query_as(c::STEPS_OF_PLAN)
                    .bind(plan_id)
                    .fetch_all(&self.pool)
                    .await
                    .with_ctx(|| format!("loading the journal of plan {plan_id}"))?;
                if rows.is_empty() {
                    // Tell an empty plan from an unknown one.
                    self.plan(plan_id).await?;
                }
                rows.into_iter()
                    .map(|(step, state, attempts, last_error)| {
                        Ok(StepRecord {
                            step: c::count(step.max(0) as u64),
                            state: StepState::parse(&state).ok_or_else(|| {
                                StoreError::Invalid(format!(
                                    "step {step} of plan {plan_id} has an unknown state \"{state}\""
                                ))
                            })?,
                            attempts: c::count(attempts.max(0) as u64),
                            last_error,
                        })
                    })
                    .collect()
            }

            async fn mark_steps_started(&self, plan_id: &str, steps: &[u32], at: Timestamp) -> Result<()> {
                let context = || format!("journaling steps of plan {plan_id} as started");
                let mut tx = self.begin_write().await?;
                for &step in steps {
                    sqlx::query(c::STEP_START)
                        .bind(c::micros(at))
                        .bind(plan_id)
                        .bind(i64::from(step))
                        .execute(&mut *tx)
                        .await
                        .with_ctx(context)?;
                }
                tx.commit().await.with_ctx(context)
            }

            async fn complete_steps(
                &self,
                plan_id: &str,
                steps: &[CompletedStep],
                at: Timestamp,
            ) -> Result<Vec<u64>> {
                if steps.is_empty() {
                    return Ok(Vec::new());
                }
                let context = || format!("journaling steps of plan {plan_id} as done");
                let mut tx = self.begin_write().await?;
                let system: Option<(String,)> = sqlx::query_as(c::PLAN_SYSTEM)
                    .bind(plan_id)
                    .fetch_optional(&mut *tx)
                    .await
                    .with_ctx(context)?;
                let (system,) = system.ok_or_else(|| StoreError::NotFound(format!("plan {plan_id}")))?;
                let mut todo = Vec::with_capacity(steps.len());
                for s in steps {
                    let marked = sqlx::query(c::STEP_DONE)
                        .bind(c::micros(at))
                        .bind(plan_id)
                        .bind(i64::from(s.step))
                        .execute(&mut *tx)
                        .await
                        .with_ctx(context)?;
                    if marked.rows_affected() == 1 {
                        todo.push(s);
                        continue;
                    }
                    // Already done (a replay), or no such step.
                    let exists: Option<(i64,)> = sqlx::query_as(c::STEP_EXISTS)
                        .bind(plan_id)
                        .bind(i64::from(s.step))
                        .fetch_optional(&mut *tx)
                        .await
                        .with_ctx(context)?;
                    if exists.is_none() {
                        return Err(StoreError::NotFound(format!("step {} of plan {plan_id}", s.step)));
                    }
                }
                let events: Vec<&NewAuditEvent> = todo.iter().map(|s| &s.event).collect();
                let seqs = append_events(&mut tx, &events).await?;
                for (s, &seq) in todo.iter().zip(&seqs) {
                    record_change(&mut tx, &system, &s.change, seq, s.event.at).await?;
                }
                tx.commit().await.with_ctx(context)?;
                Ok(seqs)
            }

            async fn fail_step(&self, plan_id: &str, step: u32, error: &str, at: Timestamp) -> Result<()> {
                sqlx::query(c::STEP_FAIL)
                    .bind(error)
                    .bind(c::micros(at))
                    .bind(plan_id)
                    .bind(i64::from(step))
                    .execute(&self.pool)
                    .await
                    .with_ctx(|| format!("journaling step {step} of plan {plan_id} as failed"))?;
                Ok(())
            }

            async fn append_audit(&self, events: &[NewAuditEvent]) -> Result<Vec<u64>> {
                if events.is_empty() {
                    return Ok(Vec::new());
                }
                let mut tx = self.begin_write().await?;
                let events: Vec<&NewAuditEvent> = events.iter().collect();
                let seqs = append_events(&mut tx, &events).await?;
                tx.commit().await.ctx("appending audit events")?;
                Ok(seqs)
            }

            async fn audit_page(&self, after: u64, limit: u32) -> Result<Vec<StoredAuditEvent>> {
                let rows: Vec<AuditRow> = sqlx::query_as(c::AUDIT_PAGE)
                    .bind(i64::try_from(after).unwrap_or(i64::MAX))
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .ctx("reading the audit log")?;
                Ok(audit_rows(rows))
            }

            async fn audit_since(&self, since: Timestamp, after: u64, limit: u32) -> Result<Vec<StoredAuditEvent>> {
                let rows: Vec<AuditRow> = sqlx::query_as(c::AUDIT_SINCE)
                    .bind(c::micros(since))
                    .bind(i64::try_from(after).unwrap_or(i64::MAX))
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .ctx("reading the audit log")?;
                Ok(audit_rows(rows))
            }

            async fn audit_head(&self) -> Result<Option<(u64, String)>> {
                let row: Option<(i64, String)> = sqlx::query_as(c::HEAD_SELECT)
                    .fetch_optional(&self.pool)
                    .await
                    .ctx("reading the audit chain head")?;
                Ok(row.filter(|(seq, _)| *seq > 0).map(|(seq, hash)| (seq as u64, hash)))
            }

            async fn open_manual_task(
                &self,
                system: &str,
                action: &Action,
                description: &str,
                at: Timestamp,
            ) -> Result<($crate::ManualTask, bool)> {
                let json = c::to_json(action, "an action")?;
                let context = || format!("opening a manual task in {system}");
                let inserted = sqlx::query(c::TASK_OPEN)
                    .bind(system)
                    .bind(&json)
                    .bind(description)
                    .bind(c::micros(at))
                    .execute(&self.pool)
                    .await
                    .with_ctx(context)?;
                let row: TaskRow = sqlx::query_as(c::TASK_FIND_OPEN)
                    .bind(system)
                    .bind(&json)
                    .fetch_one(&self.pool)
                    .await
                    .with_ctx(context)?;
                Ok((task(row)?, inserted.rows_affected() == 1))
            }

            async fn manual_tasks(&self, system: Option<&str>, open_only: bool) -> Result<Vec<$crate::ManualTask>> {
                let rows: Vec<TaskRow> = sqlx::query_as(AssertSqlSafe(format!(
                    "{} WHERE ($1 IS NULL OR system = $1) AND ($2 = 0 OR state = 'open') ORDER BY id",
                    c::TASK_COLUMNS
                )))
                .bind(system)
                .bind(i64::from(open_only))
                .fetch_all(&self.pool)
                .await
                .ctx("loading manual tasks")?;
                rows.into_iter().map(task).collect()
            }

            async fn complete_manual_task(
                &self,
                id: u64,
                by: &str,
                note: Option<&str>,
                at: Timestamp,
            ) -> Result<$crate::ManualTask> {
                let context = || format!("marking manual task {id} done");
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(c::TASK_DONE)
                    .bind(c::micros(at))
                    .bind(by)
                    .bind(note)
                    .bind(id as i64)
                    .execute(&mut *tx)
                    .await
                    .with_ctx(context)?;
                let row: Option<TaskRow> = sqlx::query_as(c::TASK_BY_ID)
                    .bind(id as i64)
                    .fetch_optional(&mut *tx)
                    .await
                    .with_ctx(context)?;
                let row = row.ok_or_else(|| StoreError::NotFound(format!("manual task {id}")))?;
                let t = task(row)?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::Invalid(format!(
                        "manual task {id} is already done (by {})",
                        t.done_by.as_deref().unwrap_or("someone")
                    )));
                }
                let event = NewAuditEvent {
                    at,
                    actor: by.to_string(),
                    action: "manual task done".into(),
                    system: Some(t.system.clone()),
                    subject: format!("task:{id}"),
                    detail: serde_json::json!({
                        "task_id": id,
                        "description": t.description,
                        "action": t.action,
                        "note": note,
                    }),
                };
                append_events(&mut tx, &[&event]).await?;
                tx.commit().await.with_ctx(context)?;
                Ok(t)
            }

            async fn record_observation(
                &self,
                system: &str,
                state: &ActualState,
                at: Timestamp,
            ) -> Result<()> {
                record_observation(self, system, state, at).await
            }

            async fn access_at(&self, at: Timestamp, filter: &AccessFilter) -> Result<Vec<AccessRecord>> {
                access_at(self, at, filter).await
            }
        }
        }
    };
}

pub(crate) use impl_store;
