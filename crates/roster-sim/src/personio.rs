//! A Personio simulator, v1 API (reference `hris-idp.md` §2): `POST /v1/auth` (client id and
//! secret → a 24-hour `papi-` token), `GET /v1/company/employees` with `limit` (≤ 100) and
//! `offset` (items) and `updated_since`, every attribute wrapped as `{label, value, type,
//! universal_id}`, object values for department, team, office and supervisor, dates as local
//! midnight with an offset, leavers included as `inactive`. Two custom attributes show what
//! tenants add: `dynamic_1001` "Personalnummer" (the acme employee id) and `dynamic_2002`
//! "Arbeitszeit" in German (`Vollzeit`, `Teilzeit`, `Praktikum`, `Freiberuflich`). Admin
//! routes: [`crate::hr_people`].

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use jiff::civil::Date;
use ring::hmac;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::faults::{FaultConfig, Faults, RateStatus, RateStyle};
use crate::hr_people::{HrSim, SimEmployee, WebhookStyle};

#[derive(Debug, Clone)]
pub struct PersonioOptions {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// Employees per page when the request does not say (Personio's default: 50).
    pub default_limit: usize,
    pub webhook_url: Option<String>,
    pub previous_week: bool,
    pub faults: FaultConfig,
}

impl Default for PersonioOptions {
    fn default() -> Self {
        PersonioOptions {
            client_id: None,
            client_secret: None,
            default_limit: 50,
            webhook_url: None,
            previous_week: false,
            faults: FaultConfig::default(),
        }
    }
}

#[derive(Clone)]
struct App {
    sim: Arc<HrSim>,
    client_id: Arc<String>,
    client_secret: Arc<String>,
    tokens: Arc<Mutex<HashSet<String>>>,
    default_limit: usize,
}

/// Personio's v1 error body (§2.2).
fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(
            json!({"success": false, "error": {"code": status.as_u16(), "message": message}}),
        ),
    )
        .into_response()
}

fn rate_limited(_: &RateStatus) -> Response {
    error(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests")
}

fn rate_headers(_: &RateStatus, _: &mut HeaderMap) {}

/// Webhooks: the signature scheme is not in the sources (§2.4, unconfirmed); this simulator
/// signs like the client expects by default, a hex HMAC-SHA256 of the body.
fn sign(secret: &str, body: &[u8]) -> (&'static str, String) {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    (
        "x-personio-signature",
        hex::encode(hmac::sign(&key, body).as_ref()),
    )
}

fn event(id: &str, _fields: &[String]) -> Value {
    json!({
        "event_name": "person.updated",
        "occurred_at": Timestamp::now().to_string(),
        "data": {"id": id},
    })
}

pub async fn start(
    listener: TcpListener,
    options: PersonioOptions,
) -> std::io::Result<crate::Running> {
    let addr = listener.local_addr()?;
    let base = format!("http://127.0.0.1:{}", addr.port());
    let sim = HrSim::new(
        crate::hr_people::acme(1_000_001, options.previous_week),
        WebhookStyle { sign, body: event },
    );
    let app = App {
        sim: sim.clone(),
        client_id: Arc::new(options.client_id.unwrap_or_else(crate::random_secret)),
        client_secret: Arc::new(options.client_secret.unwrap_or_else(crate::random_secret)),
        tokens: Arc::default(),
        default_limit: options.default_limit.clamp(1, 100),
    };
    let mut info = json!({
        "base_url": base,
        "client_id": app.client_id.as_str(),
        "client_secret": app.client_secret.as_str(),
        "employee_number_attribute": "dynamic_1001",
        "work_time_attribute": "dynamic_2002",
    });
    if let Some(url) = &options.webhook_url {
        info["webhook_secret"] = json!(sim.add_webhook(url));
    }
    let faults = Faults::new(
        options.faults,
        RateStyle {
            limited: rate_limited,
            headers: rate_headers,
        },
    );
    let api = Router::new()
        .route("/v1/company/employees", get(employees))
        .route_layer(axum::middleware::from_fn_with_state(app.clone(), bearer))
        .route("/v1/auth", post(auth))
        .with_state(app);
    let router = api
        .merge(crate::hr_people::admin_routes(sim))
        .merge(crate::faults::admin_routes().with_state(faults.clone()))
        .layer(axum::middleware::from_fn_with_state(
            faults,
            crate::faults::inject,
        ));
    crate::serve(listener, router, info)
}

/// `POST /v1/auth` with JSON or a form (§2.1).
async fn auth(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    let fields: HashMap<String, String> = if form {
        url_form(&body)
    } else {
        serde_json::from_slice::<HashMap<String, Value>>(&body)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(k, v)| Some((k, v.as_str()?.to_string())))
            .collect()
    };
    let ok = fields.get("client_id") == Some(&app.client_id)
        && fields.get("client_secret") == Some(&app.client_secret);
    if !ok {
        return error(StatusCode::UNAUTHORIZED, "Wrong credentials");
    }
    let token = format!("papi-{}", crate::random_secret());
    app.tokens
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(token.clone());
    axum::Json(json!({"success": true, "data": {"token": token, "expires_in": 86400, "scope": "employees:read"}}))
        .into_response()
}

fn url_form(body: &[u8]) -> HashMap<String, String> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_string(), v.replace('+', " ")))
        .collect()
}

async fn bearer(State(app): State<App>, request: Request, next: Next) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let known = token.is_some_and(|t| {
        app.tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&t)
    });
    if !known {
        return error(StatusCode::UNAUTHORIZED, "The token is invalid or expired");
    }
    next.run(request).await
}

fn wrap(label: &str, value: Value, kind: &str, universal_id: Option<&str>) -> Value {
    json!({"label": label, "value": value, "type": kind, "universal_id": universal_id})
}

fn named(kind: &str, id: u64, name: Option<&str>) -> Value {
    match name {
        Some(n) => json!({"type": kind, "attributes": {"id": id, "name": n}}),
        None => Value::Null,
    }
}

/// A day as Personio writes it: local midnight in Berlin with its offset (§2.2).
fn midnight(day: Option<&str>) -> Value {
    let tz = jiff::tz::TimeZone::get("Europe/Berlin")
        .expect("the bundled time zone database has Europe/Berlin");
    day.and_then(|d| d.parse::<Date>().ok())
        .and_then(|d| d.to_zoned_datetime(tz).ok())
        .map_or(Value::Null, |z| {
            json!(z.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string())
        })
}

fn small_hash(s: &str) -> u64 {
    s.bytes()
        .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)))
        % 1_000_000
}

fn render(e: &SimEmployee) -> Value {
    let t = |k: &str| e.text(k);
    let id: u64 = e.id.parse().unwrap_or(0);
    let status = match t("status") {
        Some("terminated") => "inactive",
        Some("leave") => "leave",
        _ => "active",
    };
    let kind = t("employment_type").unwrap_or("full_time");
    let work_time = match kind {
        "full_time" => "Vollzeit",
        "part_time" => "Teilzeit",
        "intern" => "Praktikum",
        _ => "Freiberuflich",
    };
    let supervisor = t("manager").and_then(|m| m.parse::<u64>().ok()).map_or(Value::Null, |m| {
        json!({"type": "Employee", "attributes": {"id": wrap("ID", json!(m), "integer", Some("id"))}})
    });
    let name_of = |k: &str| t(k).map(|s| (small_hash(s), s));
    json!({
        "type": "Employee",
        "attributes": {
            "id": wrap("ID", json!(id), "integer", Some("id")),
            "first_name": wrap("First name", json!(t("first_name")), "standard", Some("first_name")),
            "last_name": wrap("Last name", json!(t("last_name")), "standard", Some("last_name")),
            "email": wrap("Email", json!(t("email")), "standard", Some("email")),
            "status": wrap("Status", json!(status), "standard", Some("status")),
            "position": wrap("Position", json!(t("title")), "standard", Some("position")),
            "supervisor": wrap("Supervisor", supervisor, "standard", Some("supervisor")),
            "employment_type": wrap("Employment type", json!(if kind == "contractor" { "external" } else { "internal" }), "standard", Some("employment_type")),
            "hire_date": wrap("Hire date", midnight(t("start_date")), "date", Some("hire_date")),
            "termination_date": wrap("Termination date", midnight(t("end_date")), "date", Some("termination_date")),
            "last_modified_at": wrap("Last modified", json!(e.changed.strftime("%Y-%m-%dT%H:%M:%S+00:00").to_string()), "date", Some("last_modified_at")),
            "office": wrap("Office", name_of("location").map_or(Value::Null, |(i, n)| named("Office", i, Some(n))), "standard", Some("office")),
            "department": wrap("Department", name_of("department").map_or(Value::Null, |(i, n)| named("Department", i, Some(n))), "standard", Some("department")),
            "team": wrap("Team", name_of("team").map_or(Value::Null, |(i, n)| named("Team", i, Some(n))), "standard", Some("team")),
            "dynamic_1001": wrap("Personalnummer", json!(t("employee_id")), "standard", None),
            "dynamic_2002": wrap("Arbeitszeit", json!(work_time), "standard", None),
            "dynamic_3003": wrap("Kostenstelle", json!(t("cost_center")), "standard", None),
        }
    })
}

/// `GET /v1/company/employees?limit=&offset=&updated_since=` (§2.2).
async fn employees(State(app): State<App>, Query(q): Query<HashMap<String, String>>) -> Response {
    let limit = match q.get("limit").map(|l| l.parse::<usize>()) {
        None => app.default_limit,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        Some(_) => {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "limit must be between 1 and 100",
            );
        }
    };
    let offset = match q.get("offset").map(|o| o.parse::<usize>()) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => return error(StatusCode::UNPROCESSABLE_ENTITY, "offset must be a number"),
    };
    let since = match q.get("updated_since") {
        None => None,
        Some(s) => match jiff::civil::DateTime::strptime("%Y-%m-%dT%H:%M:%S", s)
            .ok()
            .and_then(|d| d.to_zoned_datetime(jiff::tz::TimeZone::UTC).ok())
            .map(|z| z.timestamp())
        {
            Some(t) => Some(t),
            None => {
                return error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "updated_since must be 2022-12-24T08:15:30",
                );
            }
        },
    };
    let p = app.sim.people();
    let mut all: Vec<Value> = p
        .visible()
        .iter()
        .filter(|e| since.is_none_or(|s| e.changed > s))
        .map(render)
        .collect();
    if since.is_none() {
        all.extend(p.malformed.iter().cloned());
    }
    let total = all.len();
    let page: Vec<Value> = all.into_iter().skip(offset).take(limit).collect();
    axum::Json(json!({
        "success": true,
        "metadata": {"total_elements": total, "current_page": offset / limit, "total_pages": total.div_ceil(limit)},
        "offset": offset,
        "limit": limit,
        "data": page,
    }))
    .into_response()
}
