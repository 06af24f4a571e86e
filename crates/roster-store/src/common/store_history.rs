//! The access and account history of the shared store logic: how carried-out changes and
//! observations of a target open and close access intervals and account versions, and how
//! "who held what, when" is read back. Expanded into the backend's `shared` module by
//! [`impl_store!`](super::impl_store).

/// Expands the history logic for one backend (inside `impl_store!`'s module, whose imports it uses).
macro_rules! store_history {
    ($store:ident, $db:ty) => {
        /// Closes an account's current history row and opens a new one, in state `active`
        /// (or the state it had, when `active` is `None`).
        async fn next_account_version(
            conn: &mut Conn,
            system: &str,
            account: &AccountRef,
            active: Option<bool>,
            at: Timestamp,
            reason: &str,
            seq: u64,
        ) -> Result<()> {
            let holder = ref_holder(account);
            let mut current: Option<(i64, Option<String>, bool)> =
                sqlx::query_as(c::ACCOUNT_CURRENT)
                    .bind(system)
                    .bind(&holder)
                    .fetch_optional(&mut *conn)
                    .await
                    .ctx("reading account history")?;
            if current.is_none()
                && let Some(ext) = account.external_id.as_deref()
            {
                // Not yet linked to the person: recorded under the target's id.
                current = sqlx::query_as(c::ACCOUNT_CURRENT)
                    .bind(system)
                    .bind(c::account_holder(None, Some(ext), &account.email))
                    .fetch_optional(&mut *conn)
                    .await
                    .ctx("reading account history")?;
            }
            let mut external_id = account.external_id.clone();
            let mut was_active = true;
            if let Some((id, ext, act)) = current {
                external_id = external_id.or(ext);
                was_active = act;
                sqlx::query(c::ACCOUNT_CLOSE)
                    .bind(c::micros(at))
                    .bind(id)
                    .execute(&mut *conn)
                    .await
                    .ctx("closing account history")?;
            }
            let row = account_row(
                system,
                &holder,
                Some(account.employee_id.clone()),
                &account.email,
                external_id,
                &account.display_name,
                active.unwrap_or(was_active),
                at,
                reason,
                Some(seq),
            );
            insert_rows(
                conn,
                c::ACCOUNT_INSERT,
                "",
                11,
                vec![row],
                "recording account history",
            )
            .await
        }

        /// Updates the access history for one carried-out change.
        async fn record_change(
            conn: &mut Conn,
            system: &str,
            change: &Change,
            seq: u64,
            at: Timestamp,
        ) -> Result<()> {
            let reason = change.reason.to_string();
            match &change.action {
                Action::CreateGroup { .. } => Ok(()),
                Action::GrantGroupSpacePermission {
                    group,
                    space,
                    operation,
                } => {
                    let row = interval_row(
                        system,
                        "group",
                        group,
                        None,
                        "space",
                        space,
                        operation,
                        at,
                        &reason,
                        Some(seq),
                    );
                    insert_rows(
                        conn,
                        c::INTERVAL_INSERT,
                        c::INTERVAL_INSERT_CONFLICT,
                        14,
                        vec![row],
                        "recording a group's space permission",
                    )
                    .await
                }
                Action::RevokeGroupSpacePermission {
                    group,
                    space,
                    operation,
                } => {
                    close_interval(
                        conn, system, "group", group, "space", space, operation, at, seq,
                    )
                    .await
                }
                Action::Add {
                    account,
                    entitlement,
                } => {
                    let (kind, target, operation) = c::entitlement_columns(entitlement);
                    let row = interval_row(
                        system,
                        "account",
                        &ref_holder(account),
                        Some((
                            &Some(account.employee_id.clone()),
                            &account.email,
                            &account.external_id,
                        )),
                        kind,
                        &target,
                        &operation,
                        at,
                        &reason,
                        Some(seq),
                    );
                    insert_rows(
                        conn,
                        c::INTERVAL_INSERT,
                        c::INTERVAL_INSERT_CONFLICT,
                        14,
                        vec![row],
                        "recording an entitlement",
                    )
                    .await
                }
                Action::Remove {
                    account,
                    entitlement,
                } => {
                    let (kind, target, operation) = c::entitlement_columns(entitlement);
                    close_interval(
                        conn,
                        system,
                        "account",
                        &ref_holder(account),
                        kind,
                        &target,
                        &operation,
                        at,
                        seq,
                    )
                    .await
                }
                Action::CreateAccount { account, active } => {
                    next_account_version(conn, system, account, Some(*active), at, &reason, seq)
                        .await
                }
                Action::UpdateAccount { account } => {
                    let holder = ref_holder(account);
                    if let Some(ext) = account.external_id.as_deref() {
                        let old = c::account_holder(None, Some(ext), &account.email);
                        sqlx::query(c::INTERVAL_REKEY_CLOSE_DUPLICATES)
                            .bind(c::micros(at))
                            .bind(system)
                            .bind(&old)
                            .bind(&holder)
                            .execute(&mut *conn)
                            .await
                            .ctx("linking an account's access history to its person")?;
                        sqlx::query(c::INTERVAL_REKEY)
                            .bind(&holder)
                            .bind(system)
                            .bind(&old)
                            .execute(&mut *conn)
                            .await
                            .ctx("linking an account's access history to its person")?;
                    }
                    sqlx::query(c::INTERVAL_SET_IDENTITY_OF_HOLDER)
                        .bind(&account.email)
                        .bind(&account.employee_id)
                        .bind(&account.external_id)
                        .bind(system)
                        .bind(&holder)
                        .execute(&mut *conn)
                        .await
                        .ctx("updating an account's e-mail in its access history")?;
                    next_account_version(conn, system, account, None, at, &reason, seq).await
                }
                Action::ActivateAccount { account } => {
                    next_account_version(conn, system, account, Some(true), at, &reason, seq).await
                }
                Action::DeactivateAccount { account } => {
                    next_account_version(conn, system, account, Some(false), at, &reason, seq).await
                }
            }
        }

        #[allow(clippy::too_many_arguments)]
        async fn close_interval(
            conn: &mut Conn,
            system: &str,
            holder_kind: &str,
            holder: &str,
            kind: &str,
            target: &str,
            operation: &str,
            at: Timestamp,
            seq: u64,
        ) -> Result<()> {
            sqlx::query(c::INTERVAL_CLOSE)
                .bind(c::micros(at))
                .bind(seq as i64)
                .bind(system)
                .bind(holder_kind)
                .bind(holder)
                .bind(kind)
                .bind(target)
                .bind(operation)
                .execute(&mut *conn)
                .await
                .ctx("closing an access interval")?;
            Ok(())
        }

        /// `Store::record_observation`.
        async fn record_observation(
            store: &$store,
            system: &str,
            state: &ActualState,
            at: Timestamp,
        ) -> Result<()> {
            let context = || format!("recording what {system} holds");
            let mut tx = store.begin_write().await?;
            let open: Vec<OpenIntervalRow> = sqlx::query_as(c::INTERVALS_OPEN_OF_SYSTEM)
                .bind(system)
                .fetch_all(&mut *tx)
                .await
                .with_ctx(context)?;
            // (holder_kind, holder, kind, target, operation) -> (id, email, external id)
            let mut open: HashMap<
                (String, String, String, String, String),
                (i64, Option<String>, Option<String>),
            > = open
                .into_iter()
                .map(|(id, hk, h, k, t, o, email, ext)| ((hk, h, k, t, o), (id, email, ext)))
                .collect();

            let mut to_open = Vec::new();
            let mut seen: HashSet<(String, String, String, String, String)> = HashSet::new();
            let mut accounts_seen: BTreeMap<String, &roster_core::Account> = BTreeMap::new();
            for a in &state.accounts {
                let holder =
                    c::account_holder(a.employee_id.as_deref(), Some(&a.external_id), &a.email);
                if accounts_seen.contains_key(&holder) {
                    continue; // Two accounts claim one person: the first one read counts.
                }
                accounts_seen.insert(holder.clone(), a);
                for e in &a.entitlements {
                    let (kind, target, operation) = c::entitlement_columns(e);
                    let key = (
                        "account".to_string(),
                        holder.clone(),
                        kind.to_string(),
                        target,
                        operation,
                    );
                    if !seen.insert(key.clone()) {
                        continue;
                    }
                    match open.remove(&key) {
                        Some((id, email, ext)) => {
                            if email.as_deref() != Some(a.email.as_str()) || ext.is_none() {
                                sqlx::query(c::INTERVAL_SET_IDENTITY)
                                    .bind(&a.email)
                                    .bind(&a.external_id)
                                    .bind(&a.employee_id)
                                    .bind(id)
                                    .execute(&mut *tx)
                                    .await
                                    .with_ctx(context)?;
                            }
                        }
                        None => to_open.push(interval_row(
                            system,
                            "account",
                            &holder,
                            Some((&a.employee_id, &a.email, &Some(a.external_id.clone()))),
                            &key.2,
                            &key.3,
                            &key.4,
                            at,
                            c::OBSERVED,
                            None,
                        )),
                    }
                }
            }
            for p in &state.group_space_permissions {
                let key = (
                    "group".to_string(),
                    p.group.clone(),
                    "space".to_string(),
                    p.space.clone(),
                    p.operation.clone(),
                );
                if !seen.insert(key.clone()) || open.remove(&key).is_some() {
                    continue;
                }
                to_open.push(interval_row(
                    system,
                    "group",
                    &p.group,
                    None,
                    "space",
                    &p.space,
                    &p.operation,
                    at,
                    c::OBSERVED,
                    None,
                ));
            }
            // Whatever is still in `open` was not seen: the target no longer holds it.
            let mut gone: Vec<i64> = open.into_values().map(|(id, _, _)| id).collect();
            gone.sort_unstable();
            for_ids(
                &mut tx,
                c::INTERVAL_CLOSE_IDS,
                Val::Int(c::micros(at)),
                &gone,
                |id| Val::Int(*id),
                "closing access no longer held",
            )
            .await?;
            insert_rows(
                &mut tx,
                c::INTERVAL_INSERT,
                c::INTERVAL_INSERT_CONFLICT,
                14,
                to_open,
                "recording observed access",
            )
            .await?;

            // Accounts: their e-mail, name and active flag over time.
            let current: Vec<AccountRow> = sqlx::query_as(c::ACCOUNT_CURRENT_OF_SYSTEM)
                .bind(system)
                .fetch_all(&mut *tx)
                .await
                .with_ctx(context)?;
            let mut current: HashMap<String, AccountRow> =
                current.into_iter().map(|r| (r.1.clone(), r)).collect();
            let mut close = Vec::new();
            let mut rows = Vec::new();
            for (holder, a) in &accounts_seen {
                match current.remove(holder) {
                    Some((id, _, email, ext, name, active))
                        if email == a.email && name == a.display_name && active == a.active =>
                    {
                        if ext.as_deref() != Some(a.external_id.as_str()) {
                            sqlx::query(c::ACCOUNT_SET_EXTERNAL_ID)
                                .bind(&a.external_id)
                                .bind(id)
                                .execute(&mut *tx)
                                .await
                                .with_ctx(context)?;
                        }
                        continue;
                    }
                    Some((id, ..)) => close.push(id),
                    None => {}
                }
                rows.push(account_row(
                    system,
                    holder,
                    a.employee_id.clone(),
                    &a.email,
                    Some(a.external_id.clone()),
                    &a.display_name,
                    a.active,
                    at,
                    c::OBSERVED,
                    None,
                ));
            }
            close.extend(current.into_values().map(|r| r.0));
            close.sort_unstable();
            for_ids(
                &mut tx,
                c::ACCOUNT_CLOSE_IDS,
                Val::Int(c::micros(at)),
                &close,
                |id| Val::Int(*id),
                "closing account history",
            )
            .await?;
            insert_rows(
                &mut tx,
                c::ACCOUNT_INSERT,
                "",
                11,
                rows,
                "recording observed accounts",
            )
            .await?;
            tx.commit().await.with_ctx(context)
        }

        /// `Store::access_at`.
        async fn access_at(
            store: &$store,
            at: Timestamp,
            filter: &AccessFilter,
        ) -> Result<Vec<AccessRecord>> {
            let email = filter.email.as_deref().map(normalise_email);
            let accounts: Vec<(
                String,
                Option<String>,
                Option<String>,
                String,
                String,
                String,
                String,
                Option<i64>,
                i64,
            )> = sqlx::query_as(c::ACCESS_ACCOUNTS_AT)
                .bind(c::micros(at))
                .bind(filter.system.as_deref())
                .bind(email.as_deref())
                .bind(filter.space.as_deref())
                .fetch_all(&store.pool)
                .await
                .ctx("reading who held what")?;
            let groups: Vec<(String, String, String, String, String, Option<i64>, i64)> =
                sqlx::query_as(c::ACCESS_GROUPS_AT)
                    .bind(c::micros(at))
                    .bind(filter.system.as_deref())
                    .bind(filter.space.as_deref())
                    .fetch_all(&store.pool)
                    .await
                    .ctx("reading which groups held space permissions")?;
            // (system, group) -> the space permissions it held.
            let mut by_group: HashMap<
                (&str, &str),
                Vec<&(String, String, String, String, String, Option<i64>, i64)>,
            > = HashMap::new();
            for g in &groups {
                by_group
                    .entry((g.0.as_str(), g.1.as_str()))
                    .or_default()
                    .push(g);
            }
            let mut out = Vec::new();
            for (system, employee_id, email, kind, target, operation, reason, seq, from) in
                &accounts
            {
                let email = email.clone().unwrap_or_default();
                if kind == "group"
                    && let Some(perms) = by_group.get(&(system.as_str(), target.as_str()))
                {
                    for (_, group, space, op, _, perm_seq, perm_from) in perms.iter().map(|p| &**p)
                    {
                        out.push(AccessRecord {
                            system: system.clone(),
                            email: email.clone(),
                            employee_id: employee_id.clone(),
                            entitlement: roster_core::Entitlement::space(space, op).to_string(),
                            via: format!("group {group}"),
                            reason: reason.clone(),
                            audit_events: seq
                                .iter()
                                .chain(perm_seq.iter())
                                .map(|s| *s as u64)
                                .collect(),
                            since: c::timestamp((*from).max(*perm_from), "an access interval")?,
                        });
                    }
                }
                if filter.space.is_some() && kind != "space" {
                    continue;
                }
                out.push(AccessRecord {
                    system: system.clone(),
                    email,
                    employee_id: employee_id.clone(),
                    entitlement: c::entitlement_from_columns(kind, target, operation).to_string(),
                    via: "direct".to_string(),
                    reason: reason.clone(),
                    audit_events: seq.iter().map(|s| *s as u64).collect(),
                    since: c::timestamp(*from, "an access interval")?,
                });
            }
            out.sort_by(|a, b| {
                (&a.system, &a.email, &a.entitlement, &a.via).cmp(&(
                    &b.system,
                    &b.email,
                    &b.entitlement,
                    &b.via,
                ))
            });
            Ok(out)
        }
    };
}

pub(crate) use store_history;
