//! The people import of the shared store logic: versioning people per source, closing the ones
//! a source no longer lists and marking absences. Expanded into the backend's `shared` module by
//! [`impl_store!`](super::impl_store).
//!
//! An import works out its changes on a snapshot read without the write lock, and holds the
//! lock only to write them: on SQLite every other write waits while the lock is held, and
//! reading and comparing a large source (200,000 people) takes seconds, writing the changes a
//! fraction of that. The source's generation, which every import moves on, tells under the
//! lock whether another import of the source committed after the snapshot; then the changes
//! are worked out again on what that import left.

/// Expands the people import for one backend (inside `impl_store!`'s module, whose imports it uses).
macro_rules! store_people {
    ($store:ident, $db:ty) => {
        /// What an import starts from: the source's current people, its absence marks, its
        /// last listing's size and its generation.
        struct SourceSnapshot {
            /// employee id -> (row id, stored person JSON)
            current: HashMap<String, (i64, String)>,
            absent: HashSet<String>,
            listed: Option<i64>,
            generation: Option<i64>,
        }

        /// What an import writes.
        struct PeopleChanges<'p> {
            summary: ImportSummary,
            close: Vec<i64>,
            insert: Vec<(&'p Person, String)>,
            back: Vec<String>,
            gone: Vec<String>,
        }

        /// Reads the source's `listed, generation` with `head_sql` (plain, or locking the row).
        async fn source_head(
            conn: &mut Conn,
            source: &str,
            head_sql: &'static str,
        ) -> Result<Option<(i64, i64)>> {
            sqlx::query_as(head_sql)
                .bind(source)
                .fetch_optional(&mut *conn)
                .await
                .with_ctx(|| format!("reading people source \"{source}\""))
        }

        /// Reads the whole snapshot on one connection.
        async fn source_snapshot(conn: &mut Conn, source: &str) -> Result<SourceSnapshot> {
            let context = || format!("reading the people of source \"{source}\"");
            // The generation first: a commit after this read shows as a newer generation.
            let head = source_head(conn, source, c::SOURCE_GENERATION).await?;
            let current: Vec<(i64, String, String)> = sqlx::query_as(c::PERSON_CURRENT_OF_SOURCE)
                .bind(source)
                .fetch_all(&mut *conn)
                .await
                .with_ctx(context)?;
            let absent: Vec<(String,)> = sqlx::query_as(c::ABSENT_OF_SOURCE)
                .bind(source)
                .fetch_all(&mut *conn)
                .await
                .with_ctx(context)?;
            Ok(SourceSnapshot {
                current: current
                    .into_iter()
                    .map(|(id, emp, json)| (emp, (id, json)))
                    .collect(),
                absent: absent.into_iter().map(|(e,)| e).collect(),
                listed: head.map(|(listed, _)| listed),
                generation: head.map(|(_, generation)| generation),
            })
        }

        /// The versions to close and open and the absence marks to clear and set.
        fn people_changes<'p>(
            source: &str,
            people: &'p [Person],
            still_listed: &BTreeSet<String>,
            snapshot: &SourceSnapshot,
        ) -> Result<PeopleChanges<'p>> {
            let mut summary = ImportSummary {
                source: source.to_string(),
                listed: people.len(),
                previously_listed: snapshot.listed.map_or(0, |n| n.max(0) as usize),
                ..ImportSummary::default()
            };
            let mut close = Vec::new();
            let mut insert = Vec::new();
            for p in people {
                let json = c::to_json(p, "a person")?;
                match snapshot.current.get(&p.employee_id) {
                    Some((_, stored)) if *stored == json => summary.unchanged += 1,
                    Some((id, stored)) => {
                        // Compare by value: the stored text may come from an older version
                        // of the Person type.
                        let same =
                            serde_json::from_str::<Person>(stored).is_ok_and(|old| old == *p);
                        if same {
                            summary.unchanged += 1;
                            continue;
                        }
                        summary.changed += 1;
                        close.push(*id);
                        insert.push((p, json));
                    }
                    None => {
                        summary.added += 1;
                        insert.push((p, json));
                    }
                }
            }
            // Absence: known to the source (listed, or only in quarantined rows) clears the
            // mark; a current person the source no longer has at all gets one.
            let listed: HashSet<&str> = people
                .iter()
                .map(|p| p.employee_id.as_str())
                .chain(still_listed.iter().map(String::as_str))
                .collect();
            let back: Vec<String> = snapshot
                .absent
                .iter()
                .filter(|e| listed.contains(e.as_str()))
                .cloned()
                .collect();
            let mut gone: Vec<String> = snapshot
                .current
                .keys()
                .filter(|e| !listed.contains(e.as_str()) && !snapshot.absent.contains(*e))
                .cloned()
                .collect();
            gone.sort();
            summary.newly_absent = gone.len();
            Ok(PeopleChanges {
                summary,
                close,
                insert,
                back,
                gone,
            })
        }

        /// `Store::import_people`: changes worked out on a snapshot, then written in one
        /// transaction (see the module's doc).
        async fn import_people(
            store: &$store,
            source: &str,
            people: &[Person],
            still_listed: &BTreeSet<String>,
            at: Timestamp,
        ) -> Result<ImportSummary> {
            let context = || format!("importing people from source \"{source}\"");
            let mut seen = HashSet::with_capacity(people.len());
            for p in people {
                if !seen.insert(p.employee_id.as_str()) {
                    return Err(StoreError::Invalid(format!(
                        "source \"{source}\" lists employee id \"{}\" twice",
                        p.employee_id
                    )));
                }
            }
            let snapshot = {
                let mut conn = store.pool.acquire().await.with_ctx(context)?;
                source_snapshot(&mut conn, source).await?
            };
            let mut changes = people_changes(source, people, still_listed, &snapshot)?;

            let mut tx = store.begin_write().await?;
            let head = source_head(&mut tx, source, <$store>::LOCK_SOURCE).await?;
            if head.map(|(_, generation)| generation) != snapshot.generation {
                // Another import of this source committed after the snapshot.
                let fresh = source_snapshot(&mut tx, source).await?;
                changes = people_changes(source, people, still_listed, &fresh)?;
            }
            let PeopleChanges {
                summary,
                close,
                insert,
                back,
                gone,
            } = changes;
            for_ids(
                &mut tx,
                c::PERSON_CLOSE,
                Val::Int(c::micros(at)),
                &close,
                |id| Val::Int(*id),
                "closing superseded person versions",
            )
            .await?;
            let rows = insert
                .into_iter()
                .map(|(p, json)| {
                    vec![
                        Val::Text(source.to_string()),
                        Val::Text(p.employee_id.clone()),
                        Val::Text(p.email.clone()),
                        Val::OptText(p.start_date.map(|d| d.to_string())),
                        Val::OptText(p.end_date.map(|d| d.to_string())),
                        Val::Text(json),
                        Val::Int(c::micros(at)),
                        Val::OptInt(None),
                    ]
                })
                .collect();
            insert_rows(
                &mut tx,
                c::PERSON_INSERT,
                "",
                8,
                rows,
                "recording person versions",
            )
            .await?;
            for_ids(
                &mut tx,
                c::ABSENT_DELETE,
                Val::Text(source.to_string()),
                &back,
                |e| Val::Text(e.clone()),
                "clearing absence marks",
            )
            .await?;
            let rows = gone
                .into_iter()
                .map(|e| {
                    vec![
                        Val::Text(source.to_string()),
                        Val::Text(e),
                        Val::Int(c::micros(at)),
                    ]
                })
                .collect();
            insert_rows(
                &mut tx,
                c::ABSENT_INSERT,
                "",
                3,
                rows,
                "marking people absent",
            )
            .await?;
            sqlx::query(c::SOURCE_UPSERT)
                .bind(source)
                .bind(people.len() as i64)
                .bind(c::micros(at))
                .execute(&mut *tx)
                .await
                .with_ctx(context)?;
            tx.commit().await.with_ctx(context)?;
            Ok(summary)
        }
    };
}

pub(crate) use store_people;
