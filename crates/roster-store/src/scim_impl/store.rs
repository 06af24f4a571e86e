//! The [`crate::ScimStore`] implementation, as a macro expanded once per backend.

/// Implements [`crate::ScimStore`] for a backend that `impl_store!` was expanded for.
macro_rules! impl_scim_store {
    ($store:ident, $db:ty, $dialect:expr) => {
        /// The SCIM store logic, expanded for this backend (see `scim_impl::impl_scim_store!`).
        mod scim_shared {
            use super::$store;

            use async_trait::async_trait;
            use roster_core::audit::NewAuditEvent;
            use roster_scim::schema::ResourceType;
            use sqlx::AssertSqlSafe;

            use $crate::common::{self as c, Context as _};
            use $crate::scim_impl as si;
            use $crate::scim_sql::Dialect;
            use $crate::{
                Result, ScimConnection, ScimListQuery, ScimLogEntry, ScimMember, ScimResource,
                ScimStore, ScimWriteError, StoreError,
            };

            const D: Dialect = $dialect;
            type Conn = <$db as sqlx::Database>::Connection;

            fn is_unique_violation(e: &sqlx::Error) -> bool {
                matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
            }

            /// Adds members to a group, in the caller's transaction. Every member must be a
            /// resource of the same connection; its type is taken from the store.
            async fn insert_members(
                conn: &mut Conn,
                connection: &str,
                group_id: &str,
                members: &[ScimMember],
            ) -> Result<(), ScimWriteError> {
                let mut ids: Vec<&str> = members.iter().map(|m| m.value.as_str()).collect();
                ids.sort_unstable();
                ids.dedup();
                if ids.contains(&group_id) {
                    return Err(ScimWriteError::InvalidValue(format!(
                        "group {group_id} cannot be a member of itself"
                    )));
                }
                for chunk in ids.chunks(c::MAX_PARAMS / 4) {
                    let sql = c::in_list_sql(<$store>::MARKS, si::MEMBERS_FOUND, chunk.len());
                    // Safe: a constant plus generated placeholders; the ids are bound.
                    let mut q = sqlx::query_as::<_, (String, String)>(AssertSqlSafe(sql))
                        .bind(connection.to_string());
                    for id in chunk {
                        q = q.bind(id.to_string());
                    }
                    let found: Vec<(String, String)> = q
                        .fetch_all(&mut *conn)
                        .await
                        .with_ctx(|| format!("finding the new members of group {group_id}"))?;
                    if found.len() < chunk.len() {
                        let missing: Vec<&str> = chunk
                            .iter()
                            .copied()
                            .filter(|id| !found.iter().any(|(f, _)| f == id))
                            .take(5)
                            .collect();
                        return Err(ScimWriteError::InvalidValue(format!(
                            "members of group {group_id}: {} not a user or group of \
                             connection {connection}",
                            match missing.as_slice() {
                                [one] => format!("{one} is"),
                                more => format!("{} are", more.join(", ")),
                            }
                        )));
                    }
                    let sql = c::values_sql(
                        <$store>::MARKS,
                        si::MEMBERS_INSERT,
                        4,
                        found.len(),
                        si::MEMBERS_INSERT_CONFLICT,
                    );
                    let mut q = sqlx::query(AssertSqlSafe(sql));
                    for (id, rt) in found {
                        q = q
                            .bind(connection.to_string())
                            .bind(group_id.to_string())
                            .bind(id)
                            .bind(rt);
                    }
                    q.execute(&mut *conn)
                        .await
                        .with_ctx(|| format!("adding members to group {group_id}"))?;
                }
                Ok(())
            }

            async fn delete_members(conn: &mut Conn, group_id: &str, ids: &[String]) -> Result<()> {
                for chunk in ids.chunks(c::MAX_PARAMS - 1) {
                    let sql = c::in_list_sql(<$store>::MARKS, si::MEMBERS_DELETE, chunk.len());
                    let mut q = sqlx::query(AssertSqlSafe(sql)).bind(group_id.to_string());
                    for id in chunk {
                        q = q.bind(id.clone());
                    }
                    q.execute(&mut *conn)
                        .await
                        .with_ctx(|| format!("removing members from group {group_id}"))?;
                }
                Ok(())
            }

            impl $store {
                /// Why a write hit a unique index (read after the failed transaction is gone).
                async fn uniqueness(&self, resource: &ScimResource) -> ScimWriteError {
                    if resource.resource_type == ResourceType::User {
                        let owner: Option<String> = sqlx::query_scalar(si::USER_NAME_OWNER)
                            .bind(&resource.connection)
                            .bind(si::name_lower(&resource.name))
                            .bind(&resource.id)
                            .fetch_optional(&self.pool)
                            .await
                            .ok()
                            .flatten();
                        if owner.is_some() {
                            return si::uniqueness(resource, owner);
                        }
                    }
                    si::uniqueness(resource, None)
                }
            }

            $crate::scim_impl::impl_scim_list!($store);

            #[async_trait]
            impl ScimStore for $store {
                fn scim_writes_queued(&self) -> bool {
                    self.direct().is_some()
                }

                async fn scim_connections(&self) -> Result<Vec<ScimConnection>> {
                    let rows: Vec<(String, String, i64)> = sqlx::query_as(si::CONNECTIONS)
                        .fetch_all(&self.pool)
                        .await
                        .ctx("reading SCIM connections")?;
                    rows.into_iter()
                        .map(|(name, token_hash, created)| {
                            Ok(ScimConnection {
                                created_at: c::timestamp(created, "a SCIM connection")?,
                                name,
                                token_hash,
                            })
                        })
                        .collect()
                }

                async fn put_scim_connection(&self, connection: &ScimConnection) -> Result<()> {
                    let result = sqlx::query(si::CONNECTION_UPSERT)
                        .bind(&connection.name)
                        .bind(&connection.token_hash)
                        .bind(si::micros(connection.created_at))
                        .execute(&self.pool)
                        .await;
                    match result {
                        Err(e) if is_unique_violation(&e) => Err(StoreError::Invalid(format!(
                            "SCIM connection {}: another connection already uses this token",
                            connection.name
                        ))),
                        other => {
                            other.with_ctx(|| {
                                format!("saving SCIM connection {}", connection.name)
                            })?;
                            Ok(())
                        }
                    }
                }

                async fn scim_create(
                    &self,
                    resource: &ScimResource,
                    members: &[ScimMember],
                    event: &NewAuditEvent,
                ) -> Result<(), ScimWriteError> {
                    if resource.resource_type == ResourceType::User && !members.is_empty() {
                        return Err(ScimWriteError::InvalidValue(format!(
                            "user {} cannot have members",
                            resource.id
                        )));
                    }
                    if let Some(direct) = self.direct() {
                        let (resource, members, event) =
                            (resource.clone(), members.to_vec(), event.clone());
                        return direct
                            .writer()
                            .write(move |conn| {
                                $crate::sqlite_direct::scim::create(conn, &resource, &members, &event)
                            })
                            .await;
                    }
                    let doc = c::to_json(&resource.doc, "a SCIM resource")?;
                    let mut tx = self.begin_write().await?;
                    let inserted = sqlx::query(si::insert_sql(D))
                        .bind(&resource.connection)
                        .bind(resource.resource_type.name())
                        .bind(&resource.id)
                        .bind(&resource.external_id)
                        .bind(&resource.name)
                        .bind(si::name_lower(&resource.name))
                        .bind(si::micros(resource.created))
                        .bind(si::micros(resource.last_modified))
                        .bind(doc)
                        .execute(&mut *tx)
                        .await;
                    match inserted {
                        Err(e) if is_unique_violation(&e) => {
                            drop(tx);
                            return Err(self.uniqueness(resource).await);
                        }
                        other => {
                            other.with_ctx(|| {
                                format!("creating SCIM resource {}", resource.id)
                            })?;
                        }
                    }
                    sqlx::query(si::COUNT_UP)
                        .bind(&resource.connection)
                        .bind(resource.resource_type.name())
                        .execute(&mut *tx)
                        .await
                        .with_ctx(|| format!("counting SCIM resource {}", resource.id))?;
                    if !members.is_empty() {
                        insert_members(&mut tx, &resource.connection, &resource.id, members).await?;
                    }
                    super::shared::append_events(&mut tx, &[event]).await?;
                    tx.commit()
                        .await
                        .with_ctx(|| format!("creating SCIM resource {}", resource.id))?;
                    Ok(())
                }

                async fn scim_get(
                    &self,
                    connection: &str,
                    resource_type: ResourceType,
                    id: &str,
                ) -> Result<Option<ScimResource>> {
                    if let Some(direct) = self.direct() {
                        return direct.read(|conn| {
                            $crate::sqlite_direct::scim::get(conn, connection, resource_type, id)
                        });
                    }
                    let row: Option<si::ResourceRow> =
                        sqlx::query_as(AssertSqlSafe(si::get_sql(D)))
                            .bind(id)
                            .bind(connection)
                            .bind(resource_type.name())
                            .fetch_optional(&self.pool)
                            .await
                            .with_ctx(|| format!("reading SCIM resource {id}"))?;
                    row.map(si::resource).transpose()
                }

                async fn scim_update(
                    &self,
                    resource: &ScimResource,
                    expected_version: i64,
                    add_members: &[ScimMember],
                    remove_members: &[String],
                    event: &NewAuditEvent,
                ) -> Result<(), ScimWriteError> {
                    let is_user = resource.resource_type == ResourceType::User;
                    if is_user && !(add_members.is_empty() && remove_members.is_empty()) {
                        return Err(ScimWriteError::InvalidValue(format!(
                            "user {} cannot have members",
                            resource.id
                        )));
                    }
                    if let Some(direct) = self.direct() {
                        let (resource, add, remove, event) = (
                            resource.clone(),
                            add_members.to_vec(),
                            remove_members.to_vec(),
                            event.clone(),
                        );
                        return direct
                            .writer()
                            .write(move |conn| {
                                $crate::sqlite_direct::scim::update(
                                    conn,
                                    &resource,
                                    expected_version,
                                    &add,
                                    &remove,
                                    &event,
                                )
                            })
                            .await;
                    }
                    let doc = c::to_json(&resource.doc, "a SCIM resource")?;
                    let mut tx = self.begin_write().await?;
                    let updated = sqlx::query(si::update_sql(D))
                        .bind(&resource.external_id)
                        .bind(&resource.name)
                        .bind(si::name_lower(&resource.name))
                        .bind(expected_version + 1)
                        .bind(si::micros(resource.last_modified))
                        .bind(doc)
                        .bind(&resource.id)
                        .bind(&resource.connection)
                        .bind(resource.resource_type.name())
                        .bind(expected_version)
                        .execute(&mut *tx)
                        .await;
                    let updated = match updated {
                        Err(e) if is_unique_violation(&e) => {
                            drop(tx);
                            return Err(self.uniqueness(resource).await);
                        }
                        other => other
                            .with_ctx(|| format!("updating SCIM resource {}", resource.id))?,
                    };
                    if updated.rows_affected() == 0 {
                        let stored: Option<i64> = sqlx::query_scalar(si::VERSION_OF)
                            .bind(&resource.id)
                            .bind(&resource.connection)
                            .bind(resource.resource_type.name())
                            .fetch_optional(&mut *tx)
                            .await
                            .with_ctx(|| format!("reading SCIM resource {}", resource.id))?;
                        return Err(match stored {
                            Some(stored) => ScimWriteError::VersionMismatch { stored },
                            None => ScimWriteError::NotFound(resource.id.clone()),
                        });
                    }
                    if !remove_members.is_empty() {
                        delete_members(&mut tx, &resource.id, remove_members).await?;
                    }
                    if !add_members.is_empty() {
                        insert_members(&mut tx, &resource.connection, &resource.id, add_members)
                            .await?;
                    }
                    super::shared::append_events(&mut tx, &[event]).await?;
                    tx.commit()
                        .await
                        .with_ctx(|| format!("updating SCIM resource {}", resource.id))?;
                    Ok(())
                }

                async fn scim_delete(
                    &self,
                    connection: &str,
                    resource_type: ResourceType,
                    id: &str,
                    event: &NewAuditEvent,
                ) -> Result<bool> {
                    let mut tx = self.begin_write().await?;
                    sqlx::query(si::BUMP_GROUPS_OF_MEMBER)
                        .bind(si::micros(event.at))
                        .bind(id)
                        .execute(&mut *tx)
                        .await
                        .with_ctx(|| format!("updating the groups of SCIM resource {id}"))?;
                    let deleted = sqlx::query(si::DELETE)
                        .bind(id)
                        .bind(connection)
                        .bind(resource_type.name())
                        .execute(&mut *tx)
                        .await
                        .with_ctx(|| format!("deleting SCIM resource {id}"))?;
                    if deleted.rows_affected() == 0 {
                        return Ok(false);
                    }
                    sqlx::query(si::COUNT_DOWN)
                        .bind(connection)
                        .bind(resource_type.name())
                        .execute(&mut *tx)
                        .await
                        .with_ctx(|| format!("counting SCIM resource {id}"))?;
                    super::shared::append_events(&mut tx, &[event]).await?;
                    tx.commit()
                        .await
                        .with_ctx(|| format!("deleting SCIM resource {id}"))?;
                    Ok(true)
                }

                async fn scim_list(
                    &self,
                    connection: &str,
                    resource_type: ResourceType,
                    query: &ScimListQuery<'_>,
                ) -> Result<(u64, Vec<ScimResource>), ScimWriteError> {
                    self.list(connection, resource_type, query).await
                }

                async fn scim_members(
                    &self,
                    connection: &str,
                    group_id: &str,
                ) -> Result<Vec<ScimMember>> {
                    let members = self
                        .scim_members_of(connection, &[group_id.to_string()])
                        .await?;
                    Ok(members.into_iter().map(|(_, m)| m).collect())
                }

                async fn scim_members_of(
                    &self,
                    connection: &str,
                    group_ids: &[String],
                ) -> Result<Vec<(String, ScimMember)>> {
                    let mut out = Vec::new();
                    for chunk in group_ids.chunks(c::MAX_PARAMS - 1) {
                        let prefix = si::members_sql("m.group_id IN");
                        let mut sql = c::in_list_sql(<$store>::MARKS, &prefix, chunk.len());
                        sql.push_str(" ORDER BY m.group_id, m.member_id");
                        // Safe: a constant plus generated placeholders; the ids are bound.
                        let mut q = sqlx::query_as::<_, (String, String, String, Option<String>)>(
                            AssertSqlSafe(sql),
                        )
                        .bind(connection.to_string());
                        for id in chunk {
                            q = q.bind(id.clone());
                        }
                        let rows = q
                            .fetch_all(&self.pool)
                            .await
                            .with_ctx(|| format!("reading group members of {connection}"))?;
                        out.extend(rows.into_iter().map(|(group, value, member_type, display)| {
                            (group, ScimMember { value, member_type, display })
                        }));
                    }
                    Ok(out)
                }

                async fn scim_groups_of(
                    &self,
                    connection: &str,
                    user_id: &str,
                ) -> Result<Vec<(String, String)>> {
                    let groups = self
                        .scim_groups_of_many(connection, &[user_id.to_string()])
                        .await?;
                    Ok(groups.into_iter().map(|(_, id, name)| (id, name)).collect())
                }

                async fn scim_groups_of_many(
                    &self,
                    connection: &str,
                    user_ids: &[String],
                ) -> Result<Vec<(String, String, String)>> {
                    let mut out = Vec::new();
                    for chunk in user_ids.chunks(c::MAX_PARAMS - 1) {
                        let prefix = format!("{} m.member_id IN", si::GROUPS_OF);
                        let mut sql = c::in_list_sql(<$store>::MARKS, &prefix, chunk.len());
                        sql.push_str(" ORDER BY m.member_id, g.id");
                        // Safe: a constant plus generated placeholders; the ids are bound.
                        let mut q = sqlx::query_as::<_, (String, String, String)>(
                            AssertSqlSafe(sql),
                        )
                        .bind(connection.to_string());
                        for id in chunk {
                            q = q.bind(id.clone());
                        }
                        out.extend(
                            q.fetch_all(&self.pool)
                                .await
                                .with_ctx(|| format!("reading group memberships of {connection}"))?,
                        );
                    }
                    Ok(out)
                }

                async fn append_scim_logs(&self, entries: &[ScimLogEntry], keep: u32) -> Result<()> {
                    if entries.is_empty() {
                        return Ok(());
                    }
                    let mut tx = self.begin_write().await?;
                    for chunk in entries.chunks(c::MAX_PARAMS / 8) {
                        let sql = c::values_sql(<$store>::MARKS, si::LOG_INSERT, 8, chunk.len(), "");
                        let mut q = sqlx::query(AssertSqlSafe(sql));
                        for e in chunk {
                            q = q
                                .bind(e.connection.clone())
                                .bind(si::micros(e.at))
                                .bind(e.method.clone())
                                .bind(e.path.clone())
                                .bind(i32::from(e.status))
                                .bind(e.request_body.clone())
                                .bind(e.response_body.clone())
                                .bind(i64::try_from(e.duration_ms).unwrap_or(i64::MAX));
                        }
                        q.execute(&mut *tx).await.ctx("appending to the SCIM request log")?;
                    }
                    let mut connections: Vec<&str> =
                        entries.iter().map(|e| e.connection.as_str()).collect();
                    connections.sort_unstable();
                    connections.dedup();
                    for connection in connections {
                        sqlx::query(si::LOG_TRIM)
                            .bind(connection)
                            .bind(connection)
                            .bind(i64::from(keep))
                            .execute(&mut *tx)
                            .await
                            .with_ctx(|| format!("trimming the SCIM request log of {connection}"))?;
                    }
                    tx.commit().await.ctx("appending to the SCIM request log")?;
                    Ok(())
                }

                async fn scim_log(
                    &self,
                    connection: Option<&str>,
                    failed_only: bool,
                    limit: u32,
                ) -> Result<Vec<ScimLogEntry>> {
                    let rows: Vec<si::LogRow> = sqlx::query_as(si::LOG_SELECT)
                        .bind(connection)
                        .bind(if failed_only { 400_i64 } else { 0 })
                        .bind(i64::from(limit))
                        .fetch_all(&self.pool)
                        .await
                        .ctx("reading the SCIM request log")?;
                    rows.into_iter().map(si::log_entry).collect()
                }
            }
        }
    };
}

pub(crate) use impl_scim_store;
