//! Row types, row conversions and bulk-write helpers of the shared store logic, expanded into
//! the backend's `shared` module by [`impl_store!`](super::impl_store).

/// Expands the row helpers for one backend (inside `impl_store!`'s module, whose imports they use).
macro_rules! store_rows {
    ($store:ident, $db:ty) => {
        type Conn = <$db as sqlx::Database>::Connection;
        type PlanRow = (String, String, i64, Option<String>, String);
        type AuditRow = (
            i64,
            i64,
            String,
            String,
            Option<String>,
            String,
            String,
            String,
            String,
        );
        type OpenIntervalRow = (
            i64,
            String,
            String,
            String,
            String,
            String,
            Option<String>,
            Option<String>,
        );
        type AccountRow = (i64, String, String, Option<String>, String, bool);
        type TaskRow = (
            i64,
            String,
            String,
            String,
            String,
            i64,
            Option<i64>,
            Option<String>,
            Option<String>,
        );

        fn task(row: TaskRow) -> Result<$crate::ManualTask> {
            let (id, system, action_json, description, state, created, done, done_by, note) = row;
            Ok($crate::ManualTask {
                id: id as u64,
                action: c::from_json(&action_json, || format!("manual task {id}"))?,
                system,
                description,
                state,
                created_at: c::timestamp(created, "a manual task")?,
                done_at: done.map(|d| c::timestamp(d, "a manual task")).transpose()?,
                done_by,
                note,
            })
        }

        fn bind_vals<'q>(
            mut q: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments>,
            vals: Vec<Val>,
        ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments> {
            for v in vals {
                q = match v {
                    Val::Text(s) => q.bind(s),
                    Val::OptText(s) => q.bind(s),
                    Val::Int(i) => q.bind(i),
                    Val::OptInt(i) => q.bind(i),
                    Val::Bool(b) => q.bind(b),
                };
            }
            q
        }

        /// Inserts rows with multi-row `INSERT`s, as few statements as the placeholder limit allows.
        async fn insert_rows(
            conn: &mut Conn,
            prefix: &str,
            suffix: &str,
            cols: usize,
            rows: Vec<Vec<Val>>,
            context: &str,
        ) -> Result<()> {
            let per_statement = (c::MAX_PARAMS / cols).max(1);
            let mut rows = rows.into_iter().peekable();
            while rows.peek().is_some() {
                let chunk: Vec<Vec<Val>> = rows.by_ref().take(per_statement).collect();
                let sql = c::values_sql(<$store>::MARKS, prefix, cols, chunk.len(), suffix);
                // Safe: the text is a constant plus generated placeholders; values are bound.
                let q = sqlx::query(AssertSqlSafe(sql));
                bind_vals(q, chunk.into_iter().flatten().collect())
                    .execute(&mut *conn)
                    .await
                    .ctx(context)?;
            }
            Ok(())
        }

        /// Runs `prefix (ids...)` with `first` bound to `$1` in `prefix`, in chunks.
        async fn for_ids<T>(
            conn: &mut Conn,
            prefix: &str,
            first: Val,
            ids: &[T],
            to_val: impl Fn(&T) -> Val,
            context: &str,
        ) -> Result<()> {
            for chunk in ids.chunks(c::MAX_PARAMS - 1) {
                let sql = c::in_list_sql(<$store>::MARKS, prefix, chunk.len());
                let mut vals = vec![first.clone()];
                vals.extend(chunk.iter().map(&to_val));
                // Safe: the text is a constant plus generated placeholders; values are bound.
                bind_vals(sqlx::query(AssertSqlSafe(sql)), vals)
                    .execute(&mut *conn)
                    .await
                    .ctx(context)?;
            }
            Ok(())
        }

        /// Appends events after the current head, in the caller's transaction. Visible to the
        /// backend module so SCIM writes (`scim_impl`) log in their own transaction too.
        pub(super) async fn append_events(
            conn: &mut Conn,
            events: &[&NewAuditEvent],
        ) -> Result<Vec<u64>> {
            if events.is_empty() {
                return Ok(Vec::new());
            }
            let (head_seq, head_hash): (i64, String) = sqlx::query_as(<$store>::LOCK_HEAD)
                .fetch_one(&mut *conn)
                .await
                .ctx("reading the audit chain head")?;
            let mut prev = c::parse_hash(&head_hash)?;
            let mut seq = u64::try_from(head_seq).unwrap_or_default();
            let mut seqs = Vec::with_capacity(events.len());
            let mut rows = Vec::with_capacity(events.len());
            for e in events {
                seq += 1;
                let (stored, hash) = seal(seq, &prev, e);
                prev = hash;
                seqs.push(seq);
                rows.push(vec![
                    Val::Int(seq as i64),
                    Val::Int(stored.at_micros),
                    Val::Text(stored.actor),
                    Val::Text(stored.action),
                    Val::OptText(stored.system),
                    Val::Text(stored.subject),
                    Val::Text(stored.prev_hash),
                    Val::Text(stored.hash),
                    Val::Text(stored.body),
                ]);
            }
            insert_rows(conn, c::AUDIT_INSERT, "", 9, rows, "appending audit events").await?;
            sqlx::query(c::HEAD_UPDATE)
                .bind(seq as i64)
                .bind(hex::encode(prev))
                .execute(&mut *conn)
                .await
                .ctx("moving the audit chain head")?;
            Ok(seqs)
        }

        fn audit_rows(rows: Vec<AuditRow>) -> Vec<StoredAuditEvent> {
            rows.into_iter()
                .map(
                    |(seq, at_micros, actor, action, system, subject, prev_hash, hash, body)| {
                        StoredAuditEvent {
                            seq: seq as u64,
                            at_micros,
                            actor,
                            action,
                            system,
                            subject,
                            prev_hash,
                            hash,
                            body,
                        }
                    },
                )
                .collect()
        }

        fn stored_plan(row: PlanRow) -> Result<StoredPlan> {
            let (id, status, created_at, confirmed_by, json) = row;
            let plan: Plan = c::from_json(&json, || format!("plan {id}"))?;
            let status = PlanStatus::parse(&status).ok_or_else(|| {
                StoreError::Invalid(format!("plan {id} has an unknown status \"{status}\""))
            })?;
            Ok(StoredPlan {
                created_at: c::timestamp(created_at, "a plan")?,
                id,
                plan,
                status,
                confirmed_by,
            })
        }

        #[allow(clippy::too_many_arguments)]
        fn interval_row(
            system: &str,
            holder_kind: &str,
            holder: &str,
            identity: Option<(&Option<String>, &str, &Option<String>)>,
            kind: &str,
            target: &str,
            operation: &str,
            since: Timestamp,
            reason: &str,
            event_seq: Option<u64>,
        ) -> Vec<Val> {
            let (employee_id, email, external_id) = match identity {
                Some((e, m, x)) => (e.clone(), Some(m.to_string()), x.clone()),
                None => (None, None, None),
            };
            vec![
                Val::Text(system.to_string()),
                Val::Text(holder_kind.to_string()),
                Val::Text(holder.to_string()),
                Val::OptText(employee_id),
                Val::OptText(email),
                Val::OptText(external_id),
                Val::Text(kind.to_string()),
                Val::Text(target.to_string()),
                Val::Text(operation.to_string()),
                Val::Int(c::micros(since)),
                Val::OptInt(None),
                Val::Text(reason.to_string()),
                Val::OptInt(event_seq.map(|s| s as i64)),
                Val::OptInt(None),
            ]
        }

        #[allow(clippy::too_many_arguments)]
        fn account_row(
            system: &str,
            holder: &str,
            employee_id: Option<String>,
            email: &str,
            external_id: Option<String>,
            display_name: &str,
            active: bool,
            since: Timestamp,
            reason: &str,
            event_seq: Option<u64>,
        ) -> Vec<Val> {
            vec![
                Val::Text(system.to_string()),
                Val::Text(holder.to_string()),
                Val::OptText(employee_id),
                Val::Text(email.to_string()),
                Val::OptText(external_id),
                Val::Text(display_name.to_string()),
                Val::Bool(active),
                Val::Int(c::micros(since)),
                Val::OptInt(None),
                Val::Text(reason.to_string()),
                Val::OptInt(event_seq.map(|s| s as i64)),
            ]
        }

        fn ref_holder(account: &AccountRef) -> String {
            c::account_holder(
                Some(&account.employee_id),
                account.external_id.as_deref(),
                &account.email,
            )
        }
    };
}

pub(crate) use store_rows;
