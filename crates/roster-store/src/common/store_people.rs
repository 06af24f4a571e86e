//! The people import of the shared store logic: versioning people per source, closing the ones
//! a source no longer lists and marking absences. Expanded into the backend's `shared` module by
//! [`impl_store!`](super::impl_store).

/// Expands the people import for one backend (inside `impl_store!`'s module, whose imports it uses).
macro_rules! store_people {
    ($store:ident, $db:ty) => {
        /// `Store::import_people`: one transaction that versions changed people, closes the ones
        /// no longer listed, and records absences.
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
            let mut tx = store.begin_write().await?;
            let current: Vec<(i64, String, String)> = sqlx::query_as(c::PERSON_CURRENT_OF_SOURCE)
                .bind(source)
                .fetch_all(&mut *tx)
                .await
                .with_ctx(context)?;
            let current: HashMap<String, (i64, String)> = current
                .into_iter()
                .map(|(id, emp, json)| (emp, (id, json)))
                .collect();
            let absent: Vec<(String,)> = sqlx::query_as(c::ABSENT_OF_SOURCE)
                .bind(source)
                .fetch_all(&mut *tx)
                .await
                .with_ctx(context)?;
            let absent: HashSet<String> = absent.into_iter().map(|(e,)| e).collect();
            let previously_listed: Option<(i64,)> = sqlx::query_as(c::SOURCE_LISTED)
                .bind(source)
                .fetch_optional(&mut *tx)
                .await
                .with_ctx(context)?;

            let mut summary = ImportSummary {
                source: source.to_string(),
                listed: people.len(),
                previously_listed: previously_listed.map_or(0, |(n,)| n.max(0) as usize),
                ..ImportSummary::default()
            };
            let mut close = Vec::new();
            let mut insert = Vec::new();
            for p in people {
                let json = c::to_json(p, "a person")?;
                match current.get(&p.employee_id) {
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

            // Absence: known to the source (listed, or only in quarantined rows) clears the
            // mark; a current person the source no longer has at all gets one.
            let listed: HashSet<&str> = people
                .iter()
                .map(|p| p.employee_id.as_str())
                .chain(still_listed.iter().map(String::as_str))
                .collect();
            let back: Vec<&String> = absent
                .iter()
                .filter(|e| listed.contains(e.as_str()))
                .collect();
            for_ids(
                &mut tx,
                c::ABSENT_DELETE,
                Val::Text(source.to_string()),
                &back,
                |e| Val::Text((*e).clone()),
                "clearing absence marks",
            )
            .await?;
            let mut gone: Vec<&String> = current
                .keys()
                .filter(|e| !listed.contains(e.as_str()) && !absent.contains(*e))
                .collect();
            gone.sort();
            summary.newly_absent = gone.len();
            let rows = gone
                .into_iter()
                .map(|e| {
                    vec![
                        Val::Text(source.to_string()),
                        Val::Text(e.clone()),
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
