//! What the Personio and HiBob simulators share: the acme people as vendor-neutral employee
//! records (each simulator renders them in its vendor's JSON), the test hooks every HR
//! simulator has, and signed webhook delivery in the background.
//!
//! Admin routes (no auth, never faulted): `GET /_sim/state`; `PATCH /_sim/employees/{id}`
//! (vendor id or employee id) with neutral fields (`status`, `end_date`, `department`, ...,
//! `null` clears one) changes an employee, stamps it changed and fires `employee_event` to
//! every webhook; `PUT /_sim/feed {"share": x}` lists only that share (a broken feed);
//! `POST /_sim/malformed {"record": ...}` adds a record served as it is.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use jiff::Timestamp;
use roster_core::{Person, PersonStatus};
use serde_json::{Map, Value, json};

/// One employee in neutral field names: `employee_id`, `email`, `first_name`, `last_name`,
/// `department`, `team`, `title`, `manager` (the manager's vendor id), `location`,
/// `employment_type` (`full_time`, `part_time`, `contractor`, `intern`), `status`
/// (`active`, `leave`, `terminated`), `start_date`, `end_date` (`YYYY-MM-DD`), custom ones.
#[derive(Debug, Clone)]
pub struct SimEmployee {
    pub id: String,
    pub fields: Map<String, Value>,
    pub changed: Timestamp,
}

impl SimEmployee {
    pub fn text(&self, k: &str) -> Option<&str> {
        self.fields.get(k).and_then(Value::as_str)
    }
}

/// How a vendor signs and shapes its webhook deliveries.
pub struct WebhookStyle {
    /// `(header name, header value)` for a body under a secret.
    pub sign: fn(&str, &[u8]) -> (&'static str, String),
    /// The body announcing a change of employee `id` (vendor id) in `fields`.
    pub body: fn(&str, &[String]) -> Value,
}

#[derive(Default)]
pub struct People {
    pub employees: Vec<SimEmployee>,
    pub malformed: Vec<Value>,
    pub feed_share: f64,
    /// `(url, secret)`.
    pub webhooks: Vec<(String, String)>,
    pub deliveries: Vec<(String, u16)>,
}

impl People {
    /// The employees a listing shows (the first share of them when the feed is broken).
    pub fn visible(&self) -> &[SimEmployee] {
        let n = ((self.employees.len() as f64) * self.feed_share).ceil() as usize;
        &self.employees[..n.min(self.employees.len())]
    }
}

pub struct HrSim {
    people: Mutex<People>,
    style: WebhookStyle,
    http: reqwest::Client,
}

impl HrSim {
    pub fn new(employees: Vec<SimEmployee>, style: WebhookStyle) -> Arc<HrSim> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Arc::new(HrSim {
            people: Mutex::new(People {
                employees,
                feed_share: 1.0,
                ..People::default()
            }),
            style,
            http: reqwest::Client::new(),
        })
    }

    pub fn people(&self) -> MutexGuard<'_, People> {
        self.people.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn add_webhook(&self, url: &str) -> String {
        let secret = crate::random_secret();
        self.people()
            .webhooks
            .push((url.to_string(), secret.clone()));
        secret
    }

    /// Delivers the change of `id` to every webhook in the background.
    pub fn fire(self: &Arc<Self>, id: &str, fields: &[String]) -> usize {
        let hooks = self.people().webhooks.clone();
        let body = (self.style.body)(id, fields).to_string();
        for (url, secret) in &hooks {
            let (name, value) = (self.style.sign)(secret, body.as_bytes());
            let request = self
                .http
                .post(url)
                .header("content-type", "application/json")
                .header(name, value)
                .body(body.clone());
            let sim = self.clone();
            let url = url.clone();
            tokio::spawn(async move {
                let status = request.send().await.map_or(0, |r| r.status().as_u16());
                sim.people().deliveries.push((url, status));
            });
        }
        hooks.len()
    }
}

/// acme's people (today's export, or last week's), with vendor ids `first_id`, `first_id+1`, …
/// and managers as vendor ids.
pub fn acme(first_id: u64, previous_week: bool) -> Vec<SimEmployee> {
    let company = roster_examples::acme(roster_examples::ACME_SEED, roster_examples::ACME_SIZE);
    let (people, at) = if previous_week {
        (&company.previous_people, company.previous_as_of)
    } else {
        (&company.people, company.as_of)
    };
    let ids: BTreeMap<&str, String> = people
        .iter()
        .enumerate()
        .map(|(i, p)| (p.employee_id.as_str(), (first_id + i as u64).to_string()))
        .collect();
    people
        .iter()
        .map(|p| SimEmployee {
            id: ids[p.employee_id.as_str()].clone(),
            fields: neutral(p, &ids),
            changed: at,
        })
        .collect()
}

fn neutral(p: &Person, ids: &BTreeMap<&str, String>) -> Map<String, Value> {
    let text = |s: &str| if s.is_empty() { Value::Null } else { json!(s) };
    let mut f = Map::new();
    f.insert("employee_id".into(), json!(p.employee_id));
    f.insert("email".into(), json!(p.email));
    f.insert("first_name".into(), text(&p.first_name));
    f.insert("last_name".into(), text(&p.last_name));
    f.insert("department".into(), text(&p.department));
    f.insert("team".into(), text(&p.team));
    f.insert("title".into(), text(&p.title));
    f.insert(
        "manager".into(),
        p.manager_id
            .as_deref()
            .and_then(|m| ids.get(m))
            .map_or(Value::Null, |m| json!(m)),
    );
    f.insert("location".into(), text(&p.location));
    f.insert("employment_type".into(), text(&p.employment_type));
    f.insert(
        "status".into(),
        json!(match p.status {
            PersonStatus::Active => "active",
            PersonStatus::Leave => "leave",
            PersonStatus::Terminated => "terminated",
        }),
    );
    f.insert(
        "start_date".into(),
        p.start_date.map_or(Value::Null, |d| json!(d.to_string())),
    );
    f.insert(
        "end_date".into(),
        p.end_date.map_or(Value::Null, |d| json!(d.to_string())),
    );
    for (k, v) in &p.custom {
        f.insert(k.clone(), json!(v));
    }
    f
}

/// The admin routes, for a simulator whose router state is `Arc<HrSim>` reachable from `S`.
pub fn admin_routes(sim: Arc<HrSim>) -> Router {
    Router::new()
        .route("/_sim/state", get(state))
        .route("/_sim/employees/{id}", patch(change))
        .route("/_sim/feed", put(feed))
        .route("/_sim/malformed", post(malformed))
        .with_state(sim)
}

fn bad(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"message": message})),
    )
        .into_response()
}

async fn state(State(sim): State<Arc<HrSim>>) -> Response {
    let p = sim.people();
    axum::Json(json!({
        "employees": p.employees.iter().map(|e| {
            let mut v = Value::Object(e.fields.clone());
            v["id"] = json!(e.id);
            v
        }).collect::<Vec<_>>(),
        "malformed": p.malformed,
        "feed_share": p.feed_share,
        "webhooks": p.webhooks.iter().map(|(u, _)| json!({"url": u})).collect::<Vec<_>>(),
        "deliveries": p.deliveries.iter().map(|(u, s)| json!({"url": u, "status": s})).collect::<Vec<_>>(),
    }))
    .into_response()
}

async fn change(State(sim): State<Arc<HrSim>>, Path(id): Path<String>, body: Bytes) -> Response {
    let Ok(Value::Object(changes)) = serde_json::from_slice::<Value>(&body) else {
        return bad("the body must be a JSON object of fields");
    };
    let vendor_id = {
        let mut p = sim.people();
        let Some(e) = p
            .employees
            .iter_mut()
            .find(|e| e.id == id || e.text("employee_id") == Some(id.as_str()))
        else {
            return (
                StatusCode::NOT_FOUND,
                axum::Json(json!({"message": format!("no employee {id}")})),
            )
                .into_response();
        };
        for (k, v) in &changes {
            e.fields.insert(k.clone(), v.clone());
        }
        e.changed = Timestamp::now();
        e.id.clone()
    };
    let fields: Vec<String> = changes.keys().cloned().collect();
    let fired = sim.fire(&vendor_id, &fields);
    axum::Json(json!({"id": vendor_id, "webhooks": fired})).into_response()
}

async fn feed(State(sim): State<Arc<HrSim>>, body: Bytes) -> Response {
    match serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["share"].as_f64())
        .filter(|s| (0.0..=1.0).contains(s))
    {
        Some(s) => {
            sim.people().feed_share = s;
            StatusCode::NO_CONTENT.into_response()
        }
        None => bad("the body must be {\"share\": 0..1}"),
    }
}

async fn malformed(State(sim): State<Arc<HrSim>>, body: Bytes) -> Response {
    match serde_json::from_slice::<Value>(&body) {
        Ok(v) if v.get("record").is_some() => {
            sim.people().malformed.push(v["record"].clone());
            StatusCode::NO_CONTENT.into_response()
        }
        _ => bad("the body must be {\"record\": <JSON>}"),
    }
}
