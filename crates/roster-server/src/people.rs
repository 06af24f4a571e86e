//! SCIM users become people: each connection is a source, `idp:<connection>`, whose full
//! listing is re-imported after users change, through the same validation and quarantine as an
//! HR export (so a SCIM user that cannot be a person shows up in `roster quarantine list`).
//!
//! Imports need the whole listing (a person not listed is marked absent, which the policy's
//! `missing_from_source` rule treats as a leaver), so they cannot run per request at thousands
//! of writes a second. Writes only mark their connection dirty; one background task imports
//! dirty connections: a round starts once the first change is the configured interval old, or
//! ten times as long as the last round took if that is longer, so the writes of that window
//! share one import and imports take at most a tenth of the time (at 100,000 users a round
//! takes a few seconds of CPU; the store holds SQLite's write lock only while it records what
//! changed). After an import that changed someone it calls the [`PeopleHook`] (`roster serve`
//! plans and applies there).
//!
//! Mapping (`docs/scim.md` has the table): `employee_id` is the enterprise `employeeNumber`,
//! else `externalId`, else the SCIM id; `email` the primary e-mail, else the work one, else the
//! first, else `userName` when it is an address; `active: false` makes the person terminated; a
//! deleted user is no longer listed, so absent. `manager.value` names the manager's SCIM id and
//! becomes that user's `employee_id` (a manager who is not a user of this connection is left
//! out rather than quarantining the report).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use jiff::Timestamp;
use roster_core::intake::{IntakeOptions, RawRecord, validate};
use roster_core::person::normalise_email;
use roster_scim::resource::is_datetime;
use roster_scim::schema::{ENTERPRISE_USER, ROSTER_USER, ResourceType, Schemas};
use roster_store::{ImportSummary, Store};
use roster_store::{ScimListQuery, ScimResource};
use serde_json::Value;
use tokio::sync::Notify;

use tokio::task::JoinHandle;

/// Called after an import of a connection's people changed something.
#[async_trait]
pub trait PeopleHook: Send + Sync {
    async fn people_imported(&self, source: &str, summary: &ImportSummary);
}

/// The source name of a connection's people.
pub fn source_name(connection: &str) -> String {
    format!("idp:{connection}")
}

/// A round waits at least this many times as long as the last one took.
const IMPORT_SHARE: u32 = 10;

/// Users read per query while listing a connection.
const PAGE: u64 = 50_000;

struct Shared {
    dirty: Mutex<BTreeSet<String>>,
    wake: Notify,
    stopping: std::sync::atomic::AtomicBool,
}

/// The handle writes use to ask for a re-import.
pub struct PeopleSync {
    shared: Arc<Shared>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl PeopleSync {
    pub fn start(
        store: Arc<dyn Store>,
        hook: Option<Arc<dyn PeopleHook>>,
        schemas: Arc<Schemas>,
        custom_attributes: Vec<String>,
        interval: Duration,
    ) -> Self {
        let shared = Arc::new(Shared {
            dirty: Mutex::new(BTreeSet::new()),
            wake: Notify::new(),
            stopping: std::sync::atomic::AtomicBool::new(false),
        });
        let task = tokio::spawn(run(
            shared.clone(),
            store,
            hook,
            schemas,
            custom_attributes,
            interval,
        ));
        PeopleSync {
            shared,
            task: Mutex::new(Some(task)),
        }
    }

    /// Marks a connection's people as needing an import.
    pub fn changed(&self, connection: &str) {
        let mut dirty = self.shared.dirty.lock().unwrap_or_else(|p| p.into_inner());
        if !dirty.contains(connection) {
            dirty.insert(connection.to_string());
        }
        drop(dirty);
        self.shared.wake.notify_one();
    }

    /// Imports what is still dirty and stops the task.
    pub async fn finish(&self) {
        self.shared
            .stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.shared.wake.notify_one();
        let task = self.task.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

async fn run(
    shared: Arc<Shared>,
    store: Arc<dyn Store>,
    hook: Option<Arc<dyn PeopleHook>>,
    schemas: Arc<Schemas>,
    custom_attributes: Vec<String>,
    interval: Duration,
) {
    let stopping = || shared.stopping.load(std::sync::atomic::Ordering::SeqCst);
    let mut last_took = Duration::ZERO;
    loop {
        let dirty = !shared
            .dirty
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty();
        if !dirty {
            if stopping() {
                return;
            }
            // A mark made after the check above leaves a permit, so this cannot miss it.
            shared.wake.notified().await;
            continue;
        }
        if !stopping() {
            // Let the writes that follow the first one join this round.
            let window = interval.max(last_took * IMPORT_SHARE);
            tokio::select! {
                _ = tokio::time::sleep(window) => {}
                // Shutting down cuts the wait short: the last round runs at once.
                _ = wait_for_stop(&shared) => {}
            }
        }
        let round: BTreeSet<String> =
            std::mem::take(&mut *shared.dirty.lock().unwrap_or_else(|p| p.into_inner()));
        let started = Instant::now();
        for connection in round {
            let imported =
                import_connection(store.as_ref(), &connection, &schemas, &custom_attributes).await;
            match imported {
                Ok(summary) => {
                    let changed = summary.added + summary.changed + summary.newly_absent > 0;
                    if changed {
                        eprintln!(
                            "roster serve: {}: {} people listed ({} new, {} changed, {} no longer listed), imported in {} ms",
                            summary.source,
                            summary.listed,
                            summary.added,
                            summary.changed,
                            summary.newly_absent,
                            started.elapsed().as_millis()
                        );
                    }
                    if changed && let Some(hook) = &hook {
                        hook.people_imported(&summary.source, &summary).await;
                    }
                }
                Err(e) => eprintln!(
                    "roster serve: importing the people of SCIM connection {connection}: {e}"
                ),
            }
        }
        last_took = started.elapsed();
    }
}

/// Returns once shutting down. It swallows wake-ups meant for the loop, which is harmless:
/// the loop looks at the dirty set, not at wake-ups, before it waits.
async fn wait_for_stop(shared: &Shared) {
    while !shared.stopping.load(std::sync::atomic::Ordering::SeqCst) {
        shared.wake.notified().await;
    }
}

/// Lists a connection's users and records them as the people of source `idp:<connection>`.
pub async fn import_connection(
    store: &dyn Store,
    connection: &str,
    schemas: &Schemas,
    custom_attributes: &[String],
) -> Result<ImportSummary, roster_store::StoreError> {
    let mut users = Vec::new();
    loop {
        let query = ScimListQuery {
            schemas,
            filter: None,
            sort_by: None,
            descending: false,
            start_index: users.len() as u64 + 1,
            count: PAGE,
        };
        let (total, page) = store
            .scim_list(connection, ResourceType::User, &query)
            .await
            .map_err(|e| match e {
                roster_store::ScimWriteError::Store(e) => e,
                other => roster_store::StoreError::Invalid(other.to_string()),
            })?;
        let done = page.is_empty();
        users.extend(page);
        if done || users.len() as u64 >= total {
            break;
        }
    }
    let source = source_name(connection);
    let records = records(&users, custom_attributes);
    let options = IntakeOptions {
        custom_attributes: custom_attributes.iter().cloned().collect(),
        ..IntakeOptions::default()
    };
    let intake = validate(&source, &records, &options);
    let now = Timestamp::now();
    // No write gate: the store reads and compares without the write lock and takes it (with
    // its busy timeout) only to record the changes; holding the gate would keep deletes and
    // the request log waiting for the whole comparison.
    let summary = store
        .import_people(&source, &intake.people, &intake.quarantined_ids, now)
        .await?;
    store
        .replace_quarantine(&source, &intake.quarantined, now)
        .await?;
    Ok(summary)
}

/// The users as intake records (row = position in the listing, 1-based).
fn records(users: &[ScimResource], custom_attributes: &[String]) -> Vec<RawRecord> {
    let employee_ids: HashMap<&str, String> = users
        .iter()
        .map(|u| (u.id.as_str(), employee_id(u)))
        .collect();
    let known: BTreeSet<&str> = employee_ids.values().map(String::as_str).collect();
    users
        .iter()
        .enumerate()
        .map(|(i, u)| RawRecord {
            row: i + 1,
            fields: person_from_user(u, custom_attributes, |manager| {
                employee_ids
                    .get(manager)
                    .cloned()
                    .or_else(|| known.contains(manager).then(|| manager.to_string()))
            }),
        })
        .collect()
}

/// `employeeNumber`, else `externalId`, else the SCIM id.
pub fn employee_id(user: &ScimResource) -> String {
    text(&user.doc, &[ENTERPRISE_USER, "employeeNumber"])
        .or_else(|| user.external_id.clone().filter(|s| !s.trim().is_empty()))
        .unwrap_or_else(|| user.id.clone())
}

fn text(doc: &Value, path: &[&str]) -> Option<String> {
    let mut v = doc;
    for key in path {
        v = v.get(*key)?;
    }
    v.as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn primary_email(doc: &Value) -> Option<String> {
    let emails = doc.get("emails")?.as_array()?;
    let value = |e: &Value| text(e, &["value"]);
    let is_true = |v: Option<&Value>| match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    };
    emails
        .iter()
        .find(|e| is_true(e.get("primary")))
        .and_then(value)
        .or_else(|| {
            emails
                .iter()
                .find(|e| text(e, &["type"]).is_some_and(|t| t.eq_ignore_ascii_case("work")))
                .and_then(value)
        })
        .or_else(|| emails.iter().find_map(value))
}

/// Whether the user is active: only an explicit `false` (or Entra's `"False"`) says no.
fn active(doc: &Value) -> bool {
    match doc.get("active") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => !s.trim().eq_ignore_ascii_case("false"),
        _ => true,
    }
}

/// The person attributes (intake field names) of one SCIM user. `manager` turns the
/// `manager.value` the IdP sent into the manager's employee id, if it is known.
pub fn person_from_user(
    user: &ScimResource,
    custom_attributes: &[String],
    manager: impl Fn(&str) -> Option<String>,
) -> BTreeMap<String, String> {
    let doc = &user.doc;
    let mut fields = BTreeMap::new();
    let mut put = |name: &str, value: Option<String>| {
        if let Some(v) = value {
            fields.insert(name.to_string(), v);
        }
    };
    put("employee_id", Some(employee_id(user)));
    let email = primary_email(doc).or_else(|| Some(user.name.clone()).filter(|n| n.contains('@')));
    put("email", email.map(|e| normalise_email(&e)));
    put("first_name", text(doc, &["name", "givenName"]));
    put("last_name", text(doc, &["name", "familyName"]));
    put("title", text(doc, &["title"]));
    put("department", text(doc, &[ENTERPRISE_USER, "department"]));
    put(
        "manager_id",
        text(doc, &[ENTERPRISE_USER, "manager", "value"]).and_then(|m| manager(&m)),
    );
    put("team", text(doc, &[ROSTER_USER, "team"]));
    put("location", text(doc, &[ROSTER_USER, "location"]));
    put(
        "employment_type",
        text(doc, &[ROSTER_USER, "employmentType"]),
    );
    // People have days. An RFC 3339 date-time (Entra's DateTime mappings) gives its day as
    // written; anything else goes to intake as sent, which quarantines it unless it is a day.
    let day = |key: &str| {
        text(doc, &[ROSTER_USER, key]).map(|d| {
            if is_datetime(&d) {
                d[..10].to_string()
            } else {
                d
            }
        })
    };
    put("start_date", day("startDate"));
    put("end_date", day("endDate"));
    put(
        "status",
        Some(if active(doc) { "active" } else { "terminated" }.to_string()),
    );
    for name in custom_attributes {
        put(name, text(doc, &[ROSTER_USER, name.as_str()]));
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(id: &str, doc: Value) -> ScimResource {
        ScimResource {
            connection: "okta".into(),
            resource_type: ResourceType::User,
            id: id.into(),
            external_id: doc
                .get("externalId")
                .and_then(Value::as_str)
                .map(str::to_string),
            name: doc["userName"].as_str().unwrap_or_default().to_string(),
            version: 1,
            created: Timestamp::UNIX_EPOCH,
            last_modified: Timestamp::UNIX_EPOCH,
            doc,
        }
    }

    #[test]
    fn users_map_to_people_with_managers_by_employee_id() {
        let boss = user(
            "u1",
            json!({"userName": "Boss@Acme.example", ENTERPRISE_USER: {"employeeNumber": "E1"}}),
        );
        let ada = user(
            "u2",
            json!({
                "userName": "ada@acme.example",
                "externalId": "okta-2",
                "name": {"givenName": "Ada", "familyName": "Lovelace"},
                "title": "Engineer",
                "active": "False",
                "emails": [{"value": "a.home@x.example", "type": "home"},
                           {"value": "Ada@Acme.example", "type": "work"}],
                ENTERPRISE_USER: {"department": "Engineering", "manager": {"value": "u1"}},
                ROSTER_USER: {"team": "Core", "startDate": "2026-01-05T00:00:00Z", "cost_code": "77"},
            }),
        );
        let records = records(&[boss, ada], &["cost_code".to_string()]);
        let intake = validate("idp:okta", &records, &IntakeOptions::default());
        assert!(intake.quarantined.is_empty(), "{:?}", intake.quarantined);
        let boss = &intake.people[0];
        assert_eq!(
            (boss.employee_id.as_str(), boss.email.as_str()),
            ("E1", "boss@acme.example")
        );
        let ada = &records[1].fields;
        assert_eq!(ada["employee_id"], "okta-2");
        assert_eq!(ada["email"], "ada@acme.example");
        assert_eq!(ada["manager_id"], "E1");
        assert_eq!(ada["status"], "terminated");
        assert_eq!(ada["start_date"], "2026-01-05");
        assert_eq!(ada["team"], "Core");
        assert_eq!(ada["cost_code"], "77");
        assert_eq!(ada["department"], "Engineering");
    }

    #[test]
    fn dates_are_days_and_anything_else_quarantines_the_person_on_that_field() {
        let dated = |id: &str, start: &str| {
            user(
                id,
                json!({"userName": format!("{id}@acme.example"), ROSTER_USER: {"startDate": start}}),
            )
        };
        let users = [
            dated("okta", "2026-01-05"),
            dated("entra", "2026-01-05T23:30:00-08:00"),
            dated("typo", "2026-01-05 garbage"),
            dated("uuid", "0b0e9c1e-8f5b-4c51-9d0c-3a1f0b7e2d44"),
        ];
        let records = records(&users, &[]);
        let intake = validate("idp:okta", &records, &IntakeOptions::default());
        let days: Vec<_> = intake
            .people
            .iter()
            .map(|p| (p.employee_id.as_str(), p.start_date.map(|d| d.to_string())))
            .collect();
        assert_eq!(
            days,
            [
                ("okta", Some("2026-01-05".to_string())),
                ("entra", Some("2026-01-05".to_string()))
            ]
        );
        let mut quarantined: Vec<_> = intake
            .quarantined
            .iter()
            .map(|q| (q.field.as_str(), q.reason.contains("is not a date")))
            .collect();
        quarantined.sort();
        assert_eq!(quarantined, [("start_date", true), ("start_date", true)]);
    }

    #[test]
    fn an_unknown_manager_is_left_out_and_the_scim_id_is_the_last_resort_id() {
        let u = user(
            "u9",
            json!({"userName": "x@acme.example", ENTERPRISE_USER: {"manager": {"value": "nobody"}}}),
        );
        let fields = person_from_user(&u, &[], |_| None);
        assert_eq!(fields["employee_id"], "u9");
        assert!(!fields.contains_key("manager_id"));
        assert_eq!(fields["status"], "active");
    }
}
