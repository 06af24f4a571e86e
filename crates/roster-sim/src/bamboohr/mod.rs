//! A BambooHR simulator (reference `hris-idp.md` §1): the custom report, the employee dataset
//! with pages, changed-since, webhooks (registered through the API, delivered signed), API-key
//! Basic auth, JSON only when asked for, 429 + `Retry-After` throttling, seeded with the
//! `acme` example company. Test partner, not product.
//!
//! Admin routes (no auth, never faulted): `GET /_sim/state`; `PATCH /_sim/employees/{id}`
//! (BambooHR id or employee number) with `{"field": "value" | null, ...}` changes an employee
//! as an HR user would, stamps `lastChanged` and fires `employee.updated` to every webhook;
//! `PUT /_sim/feed` `{"share": 0.05}` makes listings return only that share of the employees
//! (a broken feed); `POST /_sim/malformed` `{"record": <any JSON>}` adds a record as the
//! listings will return it.

mod lists;
mod webhooks;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jiff::Timestamp;
use roster_core::{Person, PersonStatus};
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;

use crate::faults::{FaultConfig, Faults, RateStatus, RateStyle};

/// How the simulator starts.
#[derive(Debug, Clone)]
pub struct BambooHrOptions {
    pub company_domain: String,
    /// The API key accepted (generated when `None`).
    pub api_key: Option<String>,
    /// Employees per dataset page when the request does not say (the vendor's default: 100).
    pub page_size: usize,
    /// A webhook registered at start, as `POST /v1/webhooks` would (its private key is in the
    /// info line as `webhook_private_key`).
    pub webhook_url: Option<String>,
    /// Seed with acme's export of last week instead of today's.
    pub previous_week: bool,
    pub faults: FaultConfig,
}

impl Default for BambooHrOptions {
    fn default() -> Self {
        BambooHrOptions {
            company_domain: "acme".into(),
            api_key: None,
            page_size: 100,
            webhook_url: None,
            previous_week: false,
            faults: FaultConfig::default(),
        }
    }
}

/// One employee: BambooHR's field aliases → values (strings, or null), all as the API
/// serves them (ids are strings too, ref §1.2).
#[derive(Debug, Clone)]
pub(crate) struct Employee {
    pub id: u64,
    pub fields: Map<String, Value>,
    pub last_changed: Timestamp,
}

impl Employee {
    pub fn field(&self, alias: &str) -> Value {
        match alias {
            "id" => json!(self.id.to_string()),
            "lastChanged" => json!(lists::offset_time(self.last_changed)),
            other => self.fields.get(other).cloned().unwrap_or(Value::Null),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Webhook {
    pub id: u64,
    pub name: String,
    pub url: String,
    pub private_key: String,
}

#[derive(Debug, Default)]
pub(crate) struct Company {
    pub employees: Vec<Employee>,
    /// Records served as they are (malformed on purpose).
    pub malformed: Vec<Value>,
    pub webhooks: Vec<Webhook>,
    /// Share of employees the listings return (1 = all).
    pub feed_share: f64,
    /// Deliveries made: (webhook id, HTTP status or 0 for a failed connection).
    pub deliveries: Vec<(u64, u16)>,
}

#[derive(Clone)]
pub(crate) struct App {
    pub api_key: Arc<String>,
    pub page_size: usize,
    company: Arc<Mutex<Company>>,
    pub http: reqwest::Client,
}

impl App {
    pub fn company(&self) -> MutexGuard<'_, Company> {
        self.company.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The BambooHR fields of a person (ref §1.3): `supervisorId` is the supervisor's employee
/// number and `supervisorEId` their BambooHR id; on leave is not a BambooHR status (time off
/// is tracked apart), so such people are `Active`.
fn employee(id: u64, p: &Person, ids: &BTreeMap<&str, u64>, at: Timestamp) -> Employee {
    let text = |s: &str| if s.is_empty() { Value::Null } else { json!(s) };
    let day = |d: Option<jiff::civil::Date>| d.map_or(Value::Null, |d| json!(d.to_string()));
    let employment = match p.employment_type.as_str() {
        "full_time" => "Full-Time",
        "part_time" => "Part-Time",
        "contractor" => "Contractor",
        "intern" => "Intern",
        other => other,
    };
    let terminated = p.status == PersonStatus::Terminated;
    let manager = p.manager_id.as_deref();
    let mut f = Map::new();
    f.insert("employeeNumber".into(), json!(p.employee_id));
    f.insert("firstName".into(), text(&p.first_name));
    f.insert("lastName".into(), text(&p.last_name));
    f.insert(
        "displayName".into(),
        json!(format!("{} {}", p.first_name, p.last_name)),
    );
    f.insert("workEmail".into(), text(&p.email));
    f.insert("department".into(), text(&p.department));
    f.insert("division".into(), text(&p.team));
    f.insert("jobTitle".into(), text(&p.title));
    f.insert("location".into(), text(&p.location));
    f.insert(
        "status".into(),
        json!(if terminated { "Inactive" } else { "Active" }),
    );
    f.insert(
        "employmentHistoryStatus".into(),
        json!(if terminated { "Terminated" } else { employment }),
    );
    f.insert("hireDate".into(), day(p.start_date));
    f.insert("originalHireDate".into(), day(p.start_date));
    // BambooHR writes an unknown date as 0000-00-00 in some answers (ref §1.2).
    f.insert(
        "terminationDate".into(),
        p.end_date
            .map_or(json!("0000-00-00"), |d| json!(d.to_string())),
    );
    f.insert(
        "supervisorId".into(),
        manager.map_or(Value::Null, |m| json!(m)),
    );
    f.insert(
        "supervisorEId".into(),
        manager
            .and_then(|m| ids.get(m))
            .map_or(Value::Null, |i| json!(i.to_string())),
    );
    for (k, v) in &p.custom {
        f.insert(k.clone(), json!(v));
    }
    Employee {
        id,
        fields: f,
        last_changed: at,
    }
}

fn seed(previous_week: bool) -> Vec<Employee> {
    let company = roster_examples::acme(roster_examples::ACME_SEED, roster_examples::ACME_SIZE);
    let (people, at) = if previous_week {
        (&company.previous_people, company.previous_as_of)
    } else {
        (&company.people, company.as_of)
    };
    let ids: BTreeMap<&str, u64> = people
        .iter()
        .enumerate()
        .map(|(i, p)| (p.employee_id.as_str(), 40_000 + i as u64))
        .collect();
    people
        .iter()
        .map(|p| employee(ids[p.employee_id.as_str()], p, &ids, at))
        .collect()
}

/// BambooHR's throttling answer: 429 with `Retry-After` (ref §1.6: 429 since 2026-09-16),
/// an empty body and the detail in `X-BambooHR-Error-Message`.
fn rate_limited(status: &RateStatus) -> Response {
    let mut r = StatusCode::TOO_MANY_REQUESTS.into_response();
    let h = r.headers_mut();
    h.insert(
        "retry-after",
        HeaderValue::from(status.retry_after_secs.max(1)),
    );
    h.insert(
        "x-bamboohr-error-message",
        HeaderValue::from_static("Too many requests"),
    );
    r
}

/// BambooHR publishes no rate-limit headers on successful answers.
fn rate_headers(_: &RateStatus, _: &mut HeaderMap) {}

/// Starts the simulator. [`crate::Running::info`] holds `base_url`
/// (`…/api/gateway.php/{companyDomain}`: the client calls `{base_url}/v1/...`), `api_key`,
/// `company_domain` and, with `webhook_url`, `webhook_id` and `webhook_private_key`.
pub async fn start(
    listener: TcpListener,
    options: BambooHrOptions,
) -> std::io::Result<crate::Running> {
    let addr = listener.local_addr()?;
    let base = format!(
        "http://127.0.0.1:{}/api/gateway.php/{}",
        addr.port(),
        options.company_domain
    );
    let _ = rustls::crypto::ring::default_provider().install_default();
    let app = App {
        api_key: Arc::new(options.api_key.unwrap_or_else(crate::random_secret)),
        page_size: options.page_size.clamp(1, 1000),
        company: Arc::new(Mutex::new(Company {
            employees: seed(options.previous_week),
            feed_share: 1.0,
            ..Company::default()
        })),
        http: reqwest::Client::new(),
    };
    let mut info = json!({
        "base_url": base,
        "api_key": app.api_key.as_str(),
        "company_domain": options.company_domain,
    });
    if let Some(url) = options.webhook_url {
        let hook = webhooks::register(&app, "roster", &url);
        info["webhook_id"] = json!(hook.id.to_string());
        info["webhook_private_key"] = json!(hook.private_key);
    }
    let faults = Faults::new(
        options.faults,
        RateStyle {
            limited: rate_limited,
            headers: rate_headers,
        },
    );
    let prefix = format!("/api/gateway.php/{}", options.company_domain);
    let api = Router::new()
        .route("/v1/reports/custom", post(lists::custom_report))
        .route("/v2/datasets/employee/data", post(lists::dataset))
        .route("/v1/employees/changed", get(lists::changed))
        .route("/v1/webhooks", post(webhooks::create).get(webhooks::list))
        .route("/v1/webhooks/{id}", axum::routing::delete(webhooks::delete))
        .route_layer(axum::middleware::from_fn_with_state(app.clone(), guard));
    let router = Router::new()
        .nest(&prefix, api)
        .route("/_sim/state", get(sim_state))
        .route("/_sim/employees/{id}", patch(sim_change))
        .route("/_sim/feed", put(sim_feed))
        .route("/_sim/malformed", post(sim_malformed))
        .with_state(app)
        .merge(crate::faults::admin_routes().with_state(faults.clone()))
        .layer(axum::middleware::from_fn_with_state(
            faults,
            crate::faults::inject,
        ));
    crate::serve(listener, router, info)
}

/// The API key as the Basic user name, any password (ref §1.1); a wrong or missing key is
/// 401 with an empty body and the reason in `X-BambooHR-Error-Message` (§1.6).
async fn guard(State(app): State<App>, request: Request, next: Next) -> Response {
    let key = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b.trim()).ok())
        .and_then(|d| String::from_utf8(d).ok())
        .and_then(|s| s.split_once(':').map(|(k, _)| k.to_string()));
    if key.as_deref() != Some(app.api_key.as_str()) {
        return error(StatusCode::UNAUTHORIZED, "Invalid API key");
    }
    next.run(request).await
}

pub(crate) fn error(status: StatusCode, message: &'static str) -> Response {
    let mut r = status.into_response();
    r.headers_mut().insert(
        "x-bamboohr-error-message",
        HeaderValue::from_static(message),
    );
    r
}

async fn sim_state(State(app): State<App>) -> Response {
    let c = app.company();
    let employees: Vec<Value> = c
        .employees
        .iter()
        .map(|e| {
            let mut v = Value::Object(e.fields.clone());
            v["id"] = json!(e.id.to_string());
            v["lastChanged"] = json!(lists::offset_time(e.last_changed));
            v
        })
        .collect();
    axum::Json(json!({
        "employees": employees,
        "malformed": c.malformed,
        "feed_share": c.feed_share,
        "webhooks": c.webhooks.iter().map(|w| json!({"id": w.id, "name": w.name, "url": w.url})).collect::<Vec<_>>(),
        "deliveries": c.deliveries.iter().map(|(id, status)| json!({"webhook": id, "status": status})).collect::<Vec<_>>(),
    }))
    .into_response()
}

fn bad(message: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"message": message})),
    )
        .into_response()
}

async fn sim_change(State(app): State<App>, Path(id): Path<String>, body: Bytes) -> Response {
    let Ok(Value::Object(changes)) = serde_json::from_slice::<Value>(&body) else {
        return bad("the body must be a JSON object of field aliases".into());
    };
    let changed =
        {
            let mut c = app.company();
            let Some(e) = c.employees.iter_mut().find(|e| {
                e.id.to_string() == id || e.fields.get("employeeNumber") == Some(&json!(id))
            }) else {
                return (
                    StatusCode::NOT_FOUND,
                    axum::Json(json!({"message": format!("no employee {id}")})),
                )
                    .into_response();
            };
            for (k, v) in &changes {
                e.fields.insert(k.clone(), v.clone());
            }
            e.last_changed = Timestamp::now();
            (e.id, changes.keys().cloned().collect::<Vec<_>>())
        };
    let deliveries = webhooks::fire(&app, "employee.updated", changed.0, &changed.1);
    axum::Json(json!({"id": changed.0.to_string(), "webhooks": deliveries})).into_response()
}

async fn sim_feed(State(app): State<App>, body: Bytes) -> Response {
    let share = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["share"].as_f64())
        .filter(|s| (0.0..=1.0).contains(s));
    match share {
        Some(s) => {
            app.company().feed_share = s;
            StatusCode::NO_CONTENT.into_response()
        }
        None => bad("the body must be {\"share\": 0..1}".into()),
    }
}

async fn sim_malformed(State(app): State<App>, body: Bytes) -> Response {
    match serde_json::from_slice::<Value>(&body) {
        Ok(v) if v.get("record").is_some() => {
            app.company().malformed.push(v["record"].clone());
            StatusCode::NO_CONTENT.into_response()
        }
        _ => bad("the body must be {\"record\": <JSON>}".into()),
    }
}
