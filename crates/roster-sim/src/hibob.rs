//! A HiBob simulator (reference `hris-idp.md` §3): `POST /v1/people/search` for a service user
//! (Basic `ID:TOKEN`), answering only the fields asked for, leavers only with
//! `showInactive: true`, at most one filter (`root.id` / `root.email` `equals`), list fields as
//! list-item ids with their display values under `humanReadable` when asked (`APPEND`), 429
//! with `X-RateLimit-*` (reset as Unix seconds), and webhooks signed with `Bob-Signature`
//! (base64 HMAC-SHA512 of the body). Admin routes: [`crate::hr_people`].

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jiff::Timestamp;
use ring::hmac;
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;

use crate::faults::{FaultConfig, Faults, RateStatus, RateStyle};
use crate::hr_people::{HrSim, SimEmployee, WebhookStyle};

#[derive(Debug, Clone, Default)]
pub struct HibobOptions {
    pub service_user_id: Option<String>,
    pub token: Option<String>,
    pub webhook_url: Option<String>,
    pub previous_week: bool,
    pub faults: FaultConfig,
}

#[derive(Clone)]
struct App {
    sim: Arc<HrSim>,
    basic: Arc<String>,
}

fn error(status: StatusCode, key: &str, message: &str) -> Response {
    (status, axum::Json(json!({"key": key, "error": message}))).into_response()
}

/// `/v1/people/search` allows 50 requests a minute (§3.5).
fn rate_limited(status: &RateStatus) -> Response {
    let mut r = error(
        StatusCode::TOO_MANY_REQUESTS,
        "rate.limit",
        "Too many requests",
    );
    rate_headers(status, r.headers_mut());
    r
}

fn rate_headers(status: &RateStatus, headers: &mut HeaderMap) {
    let limit = if status.limit == 0 { 50 } else { status.limit };
    let reset = Timestamp::now().as_second() + status.retry_after_secs.max(1) as i64;
    headers.insert("x-ratelimit-limit", HeaderValue::from(limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(status.remaining));
    headers.insert("x-ratelimit-reset", HeaderValue::from(reset));
}

fn sign(secret: &str, body: &[u8]) -> (&'static str, String) {
    let key = hmac::Key::new(hmac::HMAC_SHA512, secret.as_bytes());
    (
        "bob-signature",
        STANDARD.encode(hmac::sign(&key, body).as_ref()),
    )
}

fn event(id: &str, fields: &[String]) -> Value {
    json!({
        "companyId": 1,
        "type": "employee.updated",
        "triggeredBy": "system",
        "triggeredAt": Timestamp::now().strftime("%Y-%m-%dT%H:%M:%S").to_string(),
        "version": "v2",
        "data": {"employeeId": id, "fields": fields},
    })
}

pub async fn start(
    listener: TcpListener,
    options: HibobOptions,
) -> std::io::Result<crate::Running> {
    let addr = listener.local_addr()?;
    let base = format!("http://127.0.0.1:{}", addr.port());
    let sim = HrSim::new(
        crate::hr_people::acme(3_332_883_884_017_713_000, options.previous_week),
        WebhookStyle { sign, body: event },
    );
    let user = options
        .service_user_id
        .unwrap_or_else(|| "SERVICE-".to_string() + &crate::random_secret()[..8]);
    let token = options.token.unwrap_or_else(crate::random_secret);
    let app = App {
        sim: sim.clone(),
        basic: Arc::new(STANDARD.encode(format!("{user}:{token}"))),
    };
    let mut info = json!({"base_url": base, "service_user_id": user, "token": token});
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
        .route("/v1/people/search", post(search))
        .route_layer(axum::middleware::from_fn_with_state(app.clone(), basic))
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

async fn basic(State(app): State<App>, request: Request, next: Next) -> Response {
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .map(str::trim);
    if given != Some(app.basic.as_str()) {
        return error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Invalid credentials",
        );
    }
    next.run(request).await
}

/// A list item's id for a display value (machine values are list-item ids, §3.2).
fn item_id(s: &str) -> String {
    (s.bytes().fold(209_000_000u64, |h, b| {
        h.wrapping_mul(31).wrapping_add(u64::from(b))
    }) % 1_000_000_000)
        .to_string()
}

/// The whole employee in HiBob's machine format, with the display mirror.
fn render(e: &SimEmployee) -> Value {
    let t = |k: &str| e.text(k);
    let item = |k: &str| t(k).map_or(Value::Null, |s| json!(item_id(s)));
    let kind = match t("employment_type") {
        Some("part_time") => "Part time",
        Some("contractor") => "Contractor",
        Some("intern") => "Intern",
        _ => "Full time",
    };
    let terminated = t("status") == Some("terminated");
    json!({
        "id": e.id,
        "email": t("email"),
        "firstName": t("first_name"),
        "surname": t("last_name"),
        "displayName": format!("{} {}", t("first_name").unwrap_or(""), t("last_name").unwrap_or("")),
        "work": {
            "startDate": t("start_date"),
            "title": item("title"),
            "department": item("department"),
            "site": item("location"),
            "manager": t("manager"),
            "employeeIdInCompany": t("employee_id"),
            "reportsTo": t("manager").map_or(Value::Null, |m| json!({"id": m})),
        },
        "internal": {
            "status": if terminated { "Inactive" } else { "Active" },
            // Set as soon as notice is given, so a future leaver carries it too.
            "terminationDate": t("end_date"),
        },
        "payroll": {"employment": {"type": kind}},
        "custom": {"costCenter": t("cost_center")},
        "humanReadable": {
            "work": {"title": t("title"), "department": t("department"), "site": t("location")},
        },
    })
}

/// The employee with only the fields asked for (`root.email` is the top-level `email`).
fn pick(full: &Value, fields: &[String], human: bool) -> Value {
    let mut out = Map::new();
    let put = |out: &mut Map<String, Value>, path: &[&str], v: Value| {
        let mut at = out;
        for (i, part) in path.iter().enumerate() {
            if i + 1 == path.len() {
                at.insert(part.to_string(), v.clone());
                return;
            }
            at = at
                .entry(part.to_string())
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .expect("sections are objects");
        }
    };
    for f in fields {
        let parts: Vec<&str> = f.trim_start_matches('/').split(['.', '/']).collect();
        let path: Vec<&str> = if parts.first() == Some(&"root") {
            parts[1..].to_vec()
        } else {
            parts
        };
        let mut v = full;
        for p in &path {
            v = &v[*p];
        }
        // Fields that do not exist are left out, as for fields the user may not read (§3.2).
        if !v.is_null() || path.len() > 1 || full.get(path[0]).is_some() {
            put(&mut out, &path, v.clone());
            if human && let Some(h) = full["humanReadable"].pointer(&format!("/{}", path.join("/")))
            {
                put(
                    &mut out,
                    &[&["humanReadable"], &path[..]].concat(),
                    h.clone(),
                );
            }
        }
    }
    Value::Object(out)
}

/// `POST /v1/people/search` (§3.2).
async fn search(State(app): State<App>, body: Bytes) -> Response {
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad.request",
            "The body is not JSON",
        );
    };
    let fields: Vec<String> = request["fields"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if fields.len() > 400 {
        return error(StatusCode::BAD_REQUEST, "bad.request", "At most 400 fields");
    }
    let filters = request["filters"].as_array().cloned().unwrap_or_default();
    if filters.len() > 1 {
        return error(
            StatusCode::BAD_REQUEST,
            "bad.request",
            "Only one filter is supported",
        );
    }
    let filter = match filters.first() {
        None => None,
        Some(f) => {
            let path = f["fieldPath"].as_str().unwrap_or_default().to_string();
            if !matches!(path.as_str(), "root.id" | "root.email") || f["operator"] != "equals" {
                return error(
                    StatusCode::BAD_REQUEST,
                    "bad.request",
                    "Filters support root.id or root.email with equals",
                );
            }
            let values: Vec<String> = f["values"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            Some((path, values))
        }
    };
    let inactive = request["showInactive"].as_bool().unwrap_or(false);
    let human = request["humanReadable"].as_str() == Some("APPEND");
    let p = app.sim.people();
    let mut employees: Vec<Value> = p
        .visible()
        .iter()
        .filter(|e| inactive || e.text("status") != Some("terminated"))
        .filter(|e| match &filter {
            None => true,
            Some((path, values)) => {
                let key = if path == "root.id" {
                    Some(e.id.as_str())
                } else {
                    e.text("email")
                };
                key.is_some_and(|k| values.iter().any(|v| v == k))
            }
        })
        .map(|e| pick(&render(e), &fields, human))
        .collect();
    if filter.is_none() {
        employees.extend(p.malformed.iter().cloned());
    }
    axum::Json(json!({"employees": employees})).into_response()
}
