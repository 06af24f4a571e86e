//! `scim_list` for both backends (expanded inside `impl_scim_store!`): one query for the page,
//! the total from `scim_counts` when there is no filter, from the page itself when the page is
//! not full, and from `COUNT(*)` otherwise.

/// Inherent list helpers for a backend; expanded inside the `scim_shared` module.
macro_rules! impl_scim_list {
    ($store:ident) => {
        impl $store {
            pub(super) async fn list(
                &self,
                connection: &str,
                rt: roster_scim::schema::ResourceType,
                query: &$crate::ScimListQuery<'_>,
            ) -> $crate::Result<(u64, Vec<$crate::ScimResource>), $crate::ScimWriteError> {
                use $crate::scim_impl::{PageAnchors, Start};
                use $crate::scim_sql::{SortKey, sort_key};
                let key = match query.sort_by {
                    Some(path) => sort_key(query.schemas, rt, path)?,
                    None => SortKey::None,
                };
                let offset = query.start_index.max(1) - 1;
                let counted = match query.filter {
                    None => Some(self.scim_counts_of(connection, rt).await?),
                    Some(_) => None,
                };
                let page = if query.count == 0 {
                    Vec::new()
                } else {
                    let start = match counted {
                        Some((_, generation)) if query.sort_by.is_none() => {
                            match self.scim_pages.start(connection, rt, generation, offset) {
                                Start::Rebuild => {
                                    match self.build_anchors(connection, rt, generation).await? {
                                        Some(keys) => PageAnchors::pick(&keys, offset),
                                        None => Start::Offset,
                                    }
                                }
                                other => other,
                            }
                        }
                        _ => Start::Offset,
                    };
                    self.fetch_page(connection, rt, query, &key, offset, start)
                        .await?
                };
                let n = page.len() as u64;
                let total = match counted {
                    Some((total, _)) => total,
                    // A page that is not full ends the result: its end is the total, and
                    // `userName eq` lists stay a single indexed query.
                    None if n < query.count && (n > 0 || offset == 0) => offset + n,
                    None => self.count_matching(connection, rt, query).await?,
                };
                Ok((total, page))
            }

            /// `(number of resources, generation)` of a connection's users or groups.
            async fn scim_counts_of(
                &self,
                connection: &str,
                rt: roster_scim::schema::ResourceType,
            ) -> $crate::Result<(u64, i64)> {
                use $crate::common::Context as _;
                if let Some(direct) = self.direct() {
                    let row = direct
                        .read(|conn| $crate::sqlite_direct::scim::counts(conn, connection, rt))?;
                    let (n, generation) = row.unwrap_or((0, 0));
                    return Ok((n.max(0) as u64, generation));
                }
                let row: Option<(i64, i64)> = sqlx::query_as($crate::scim_impl::COUNTS)
                    .bind(connection)
                    .bind(rt.name())
                    .fetch_optional(&self.pool)
                    .await
                    .with_ctx(|| format!("counting SCIM {}s of {connection}", rt.name()))?;
                let (n, generation) = row.unwrap_or((0, 0));
                Ok((n.max(0) as u64, generation))
            }

            /// Reads the anchors, and keeps them if no create or delete happened meanwhile.
            async fn build_anchors(
                &self,
                connection: &str,
                rt: roster_scim::schema::ResourceType,
                generation: i64,
            ) -> $crate::Result<Option<Vec<$crate::scim_impl::Anchor>>> {
                use $crate::common::Context as _;
                let keys: Vec<(i64, String)> = match self.direct() {
                    Some(direct) => {
                        let owned = connection.to_string();
                        direct
                            .read_long(move |conn| {
                                $crate::sqlite_direct::scim::anchors(
                                    conn,
                                    &owned,
                                    rt,
                                    $crate::scim_impl::STRIDE as i64,
                                )
                            })
                            .await?
                    }
                    None => sqlx::query_as($crate::scim_impl::ANCHORS)
                        .bind(connection)
                        .bind(rt.name())
                        .bind($crate::scim_impl::STRIDE as i64)
                        .fetch_all(&self.pool)
                        .await
                        .with_ctx(|| format!("indexing the SCIM {}s of {connection}", rt.name()))?,
                };
                let (_, now) = self.scim_counts_of(connection, rt).await?;
                if now != generation {
                    return Ok(None);
                }
                self.scim_pages
                    .keep(connection, rt, generation, keys.clone());
                Ok(Some(keys))
            }

            /// One page. The first page is read directly; later ones find their ids on the
            /// (covering) index first and read only those rows, so skipped rows are never
            /// read from the table.
            async fn fetch_page(
                &self,
                connection: &str,
                rt: roster_scim::schema::ResourceType,
                query: &$crate::ScimListQuery<'_>,
                key: &$crate::scim_sql::SortKey,
                offset: u64,
                start: $crate::scim_impl::Start,
            ) -> $crate::Result<Vec<$crate::ScimResource>, $crate::ScimWriteError> {
                use $crate::common::Context as _;
                use $crate::scim_impl as si;
                use $crate::scim_sql::{SortKey, Sql, SqlParam, push_filter};
                let dir = if query.descending && query.sort_by.is_some() {
                    " DESC"
                } else {
                    " ASC"
                };
                let nulls = if dir == " DESC" {
                    " NULLS FIRST"
                } else {
                    " NULLS LAST"
                };
                let (anchor, skip) = match start {
                    si::Start::Anchor { anchor, skip } => (Some(anchor), skip),
                    _ => (None, offset),
                };
                let direct = skip == 0 && anchor.is_none();
                let mut sql = Sql::new(D);
                sql.push("SELECT ").push(si::columns(D));
                if direct {
                    sql.push(" FROM scim_resources r");
                } else {
                    sql.push(" FROM (SELECT r.id AS page_id, r.created AS page_created, ");
                    match key {
                        SortKey::Column { expr, .. } => {
                            sql.push(expr);
                        }
                        SortKey::Json { .. } => key.push_expr(&mut sql)?,
                        SortKey::None => {
                            sql.push("NULL");
                        }
                    }
                    sql.push(" AS page_key FROM scim_resources r");
                }
                sql.push(" WHERE r.connection = ")
                    .text_param(connection)
                    .push(" AND r.resource_type = ")
                    .resource_type(rt);
                if let Some(filter) = query.filter {
                    sql.push(" AND (");
                    push_filter(&mut sql, query.schemas, rt, filter)?;
                    sql.push(")");
                }
                if let Some((created, id)) = anchor {
                    sql.push(" AND (r.created, r.id) >= (")
                        .param(SqlParam::Int(created))
                        .push(", ")
                        .text_param(id)
                        .push(")");
                }
                sql.push(" ORDER BY ");
                match key {
                    SortKey::Column { expr, nullable } => {
                        let nulls = if *nullable { nulls } else { "" };
                        sql.push(&format!("{expr}{dir}{nulls}, "));
                    }
                    SortKey::Json { .. } if direct => {
                        key.push_expr(&mut sql)?;
                        sql.push(&format!("{dir}{nulls}, "));
                    }
                    SortKey::Json { .. } => {
                        sql.push(&format!("page_key{dir}{nulls}, "));
                    }
                    SortKey::None => {}
                }
                sql.push(&format!("r.created{dir}, r.id{dir} LIMIT "))
                    .param(SqlParam::Int(
                        i64::try_from(query.count).unwrap_or(i64::MAX),
                    ));
                if !direct {
                    sql.push(" OFFSET ")
                        .param(SqlParam::Int(i64::try_from(skip).unwrap_or(i64::MAX)))
                        .push(") p JOIN scim_resources r ON r.id = p.page_id ORDER BY ");
                    if !matches!(key, SortKey::None) {
                        sql.push(&format!("p.page_key{dir}{nulls}, "));
                    }
                    sql.push(&format!("p.page_created{dir}, p.page_id{dir}"));
                }
                let Sql { text, params, .. } = sql;
                let what = format!("listing SCIM {}s of {connection}", rt.name());
                let rows = match self.direct() {
                    // A page an IdP asks for (at most a few hundred rows) is read right here;
                    // a full listing (the people import) on a blocking thread.
                    Some(direct) if query.count <= $crate::scim_impl::SHORT_READ => {
                        direct.read(|conn| {
                            $crate::sqlite_direct::scim::rows(conn, &text, &params, &what)
                        })?
                    }
                    Some(direct) => {
                        direct
                            .read_long(move |conn| {
                                $crate::sqlite_direct::scim::rows(conn, &text, &params, &what)
                            })
                            .await?
                    }
                    None => {
                        // Safe: generated from constant fragments; every value is bound.
                        let q = sqlx::query_as::<_, si::ResourceRow>(sqlx::AssertSqlSafe(text));
                        si::bind_params!(q, params)
                            .fetch_all(&self.pool)
                            .await
                            .with_ctx(|| what.clone())?
                    }
                };
                Ok(rows
                    .into_iter()
                    .map(si::resource)
                    .collect::<$crate::Result<Vec<_>>>()?)
            }

            async fn count_matching(
                &self,
                connection: &str,
                rt: roster_scim::schema::ResourceType,
                query: &$crate::ScimListQuery<'_>,
            ) -> $crate::Result<u64, $crate::ScimWriteError> {
                use $crate::common::Context as _;
                use $crate::scim_sql::{Sql, push_filter};
                let mut sql = Sql::new(D);
                sql.push("SELECT COUNT(*) FROM scim_resources r WHERE r.connection = ")
                    .text_param(connection)
                    .push(" AND r.resource_type = ")
                    .resource_type(rt);
                if let Some(filter) = query.filter {
                    sql.push(" AND (");
                    push_filter(&mut sql, query.schemas, rt, filter)?;
                    sql.push(")");
                }
                let Sql { text, params, .. } = sql;
                let what = format!("counting SCIM {}s of {connection}", rt.name());
                let n = match self.direct() {
                    // A count may scan every resource of the connection: off the async threads.
                    Some(direct) => {
                        direct
                            .read_long(move |conn| {
                                $crate::sqlite_direct::scim::count(conn, &text, &params, &what)
                            })
                            .await?
                    }
                    None => {
                        // Safe: generated from constant fragments; every value is bound.
                        let q = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(text));
                        $crate::scim_impl::bind_params!(q, params)
                            .fetch_one(&self.pool)
                            .await
                            .with_ctx(|| what.clone())?
                    }
                };
                Ok(n.max(0) as u64)
            }
        }
    };
}

pub(crate) use impl_scim_list;
