//! Listing everyone: the custom report (one answer, Active and Inactive, ref §1.2 a), the
//! employee dataset (pages, §1.2 b) and changed-since (§1.4).

use std::collections::BTreeSet;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::{App, Employee, error};

/// The standard aliases the simulator knows (ref §1.3), beside custom fields of the seed.
const ALIASES: &[&str] = &[
    "id",
    "employeeNumber",
    "firstName",
    "lastName",
    "preferredName",
    "displayName",
    "workEmail",
    "homeEmail",
    "department",
    "division",
    "jobTitle",
    "location",
    "status",
    "employmentHistoryStatus",
    "hireDate",
    "originalHireDate",
    "terminationDate",
    "supervisorEId",
    "supervisorId",
    "supervisorEmail",
    "supervisor",
    "lastChanged",
];

/// `lastChanged` as BambooHR writes it: `YYYY-MM-DDThh:mm:ss+00:00` (ref §1.3).
pub fn offset_time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S+00:00").to_string()
}

fn known(employees: &[Employee]) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = ALIASES.iter().map(|s| s.to_string()).collect();
    for e in employees {
        out.extend(e.fields.keys().cloned());
    }
    out
}

/// The employees a listing shows: all, or the first share of them when the feed is broken.
fn visible(employees: &[Employee], share: f64) -> &[Employee] {
    let n = ((employees.len() as f64) * share).ceil() as usize;
    &employees[..n.min(employees.len())]
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"))
}

fn json_answer(status: StatusCode, body: &Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn record(e: &Employee, fields: &[String]) -> Value {
    let mut m = Map::new();
    for f in fields {
        m.insert(f.clone(), e.field(f));
    }
    Value::Object(m)
}

/// `POST /v1/reports/custom?format=json`: the `Content-Type` must be exactly
/// `application/json` (a charset suffix reads as XML: 400 "Malformed XML"); fields that do
/// not exist are left out of the answer without an error; `filters.lastChanged` and
/// `filters.employeeIds` narrow it (ref §1.2 a).
pub async fn custom_report(
    State(app): State<App>,
    Query(q): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let format = q.get("format").map(|f| f.to_ascii_lowercase());
    if format.as_deref().is_some_and(|f| f != "json") || (format.is_none() && !wants_json(&headers))
    {
        return error(StatusCode::NOT_FOUND, "Unsupported format");
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type != "application/json" {
        return error(StatusCode::BAD_REQUEST, "Malformed XML");
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "Malformed JSON");
    };
    let Some(asked) = request["fields"].as_array() else {
        return error(StatusCode::BAD_REQUEST, "fields is required");
    };
    let c = app.company();
    let known = known(&c.employees);
    let fields: Vec<String> = asked
        .iter()
        .filter_map(Value::as_str)
        .filter(|f| known.contains(*f))
        .map(str::to_string)
        .collect();
    let since = request["filters"]["lastChanged"]["value"]
        .as_str()
        .and_then(|s| s.parse::<Timestamp>().ok());
    let ids: Option<BTreeSet<String>> = request["filters"]["employeeIds"].as_array().map(|a| {
        a.iter()
            .map(|v| v.as_str().map_or(v.to_string(), str::to_string))
            .collect()
    });
    let mut employees: Vec<Value> = visible(&c.employees, c.feed_share)
        .iter()
        .filter(|e| since.is_none_or(|s| e.last_changed > s))
        .filter(|e| {
            ids.as_ref()
                .is_none_or(|ids| ids.contains(&e.id.to_string()))
        })
        .map(|e| record(e, &fields))
        .collect();
    if since.is_none() && ids.is_none() {
        employees.extend(c.malformed.iter().cloned());
    }
    let described: Vec<Value> = fields
        .iter()
        .map(|f| json!({"id": f, "type": "text", "name": f}))
        .collect();
    json_answer(
        StatusCode::OK,
        &json!({
            "title": request["title"].as_str().unwrap_or("report"),
            "fields": described,
            "employees": employees,
        }),
    )
}

/// RFC 7807 problem, as the datasets API answers errors (ref §1.2 b).
fn problem(status: StatusCode, detail: String) -> Response {
    let mut r = (
        status,
        json!({"type": "about:blank", "title": status.canonical_reason(), "status": status.as_u16(), "detail": detail})
            .to_string(),
    )
        .into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    r
}

/// `POST /v2/datasets/employee/data` with `{"fields", "page", "pageSize"}`: pageSize 1..1000
/// (default 100), pages from 1, `links.next` while more remain, `meta` with the totals
/// (ref §1.2 b). Rows are `{"fields": {...}}` as the reference records them (unconfirmed).
pub async fn dataset(State(app): State<App>, body: Bytes) -> Response {
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return problem(StatusCode::BAD_REQUEST, "the body is not JSON".into());
    };
    let Some(asked) = request["fields"].as_array() else {
        return problem(StatusCode::BAD_REQUEST, "fields is required".into());
    };
    let page_size = match &request["pageSize"] {
        Value::Null => app.page_size as u64,
        v => match v.as_u64() {
            Some(n) if (1..=1000).contains(&n) => n,
            _ => {
                return problem(
                    StatusCode::BAD_REQUEST,
                    format!("pageSize must be between 1 and 1000, not {v}"),
                );
            }
        },
    };
    let page = match &request["page"] {
        Value::Null => 1,
        v => match v.as_u64() {
            Some(n) if n >= 1 => n,
            _ => {
                return problem(
                    StatusCode::BAD_REQUEST,
                    format!("page must be 1 or more, not {v}"),
                );
            }
        },
    };
    let c = app.company();
    let known = known(&c.employees);
    let fields: Vec<String> = asked
        .iter()
        .filter_map(Value::as_str)
        .filter(|f| known.contains(*f))
        .map(str::to_string)
        .collect();
    let mut rows: Vec<Value> = visible(&c.employees, c.feed_share)
        .iter()
        .map(|e| json!({"fields": record(e, &fields)}))
        .collect();
    rows.extend(c.malformed.iter().cloned());
    let total = rows.len() as u64;
    let pages = total.div_ceil(page_size).max(1);
    let from = ((page - 1) * page_size).min(total) as usize;
    let to = (page * page_size).min(total) as usize;
    let link = |p: u64| {
        json!(format!(
            "/v2/datasets/employee/data?page={p}&pageSize={page_size}"
        ))
    };
    json_answer(
        StatusCode::OK,
        &json!({
            "data": rows[from..to],
            "links": {
                "next": if page < pages { link(page + 1) } else { Value::Null },
                "prev": if page > 1 { link(page - 1) } else { Value::Null },
            },
            "meta": {"page": page, "pageSize": page_size, "totalPages": pages, "totalItems": total},
        }),
    )
}

/// `GET /v1/employees/changed?since=ISO8601&type=`: an object keyed by id (ref §1.4).
pub async fn changed(
    State(app): State<App>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let Some(since) = q.get("since").and_then(|s| s.parse::<Timestamp>().ok()) else {
        return error(
            StatusCode::BAD_REQUEST,
            "since must be an ISO 8601 date-time",
        );
    };
    if q.get("type")
        .is_some_and(|t| !matches!(t.as_str(), "inserted" | "updated" | "deleted"))
    {
        return error(
            StatusCode::BAD_REQUEST,
            "type must be inserted, updated or deleted",
        );
    }
    if q.get("type").is_some_and(|t| t != "updated") {
        return json_answer(
            StatusCode::OK,
            &json!({"latest": offset_time(Timestamp::now()), "employees": {}}),
        );
    }
    let c = app.company();
    let mut employees = Map::new();
    let mut latest = since;
    for e in c.employees.iter().filter(|e| e.last_changed > since) {
        latest = latest.max(e.last_changed);
        employees.insert(
            e.id.to_string(),
            json!({"id": e.id.to_string(), "action": "Updated", "lastChanged": offset_time(e.last_changed)}),
        );
    }
    json_answer(
        StatusCode::OK,
        &json!({"latest": offset_time(latest), "employees": employees}),
    )
}
