//! The simulated tenant: users, groups, issued tokens; and Graph's error body (§10.6).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::directory::{DirectorySeed, SeedState};

#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub user_principal_name: String,
    pub mail: Option<String>,
    pub given_name: String,
    pub surname: String,
    pub display_name: String,
    pub account_enabled: bool,
    pub employee_id: Option<String>,
    pub user_type: String,
    pub department: String,
    pub job_title: String,
    pub created: Timestamp,
    pub last_sign_in: Option<Timestamp>,
    pub note: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Group {
    pub id: String,
    pub display_name: String,
    pub description: String,
    pub created: Timestamp,
    pub members: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub graph_url: String,
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: String,
    /// Application permissions granted (with admin consent) to the app.
    pub permissions: Vec<String>,
    pub token_lifetime_secs: u64,
    pub page_size: usize,
}

impl Config {
    pub fn granted(&self, any_of: &[&str]) -> bool {
        self.permissions
            .iter()
            .any(|p| any_of.contains(&p.as_str()))
    }
}

#[derive(Debug, Default)]
pub struct Tenant {
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    /// Access token → when it expires.
    pub tokens: HashMap<String, Instant>,
}

#[derive(Clone)]
pub struct App {
    pub cfg: Arc<Config>,
    tenant: Arc<Mutex<Tenant>>,
}

impl App {
    pub fn new(cfg: Config, tenant: Tenant) -> Self {
        App {
            cfg: Arc::new(cfg),
            tenant: Arc::new(Mutex::new(tenant)),
        }
    }

    pub fn tenant(&self) -> MutexGuard<'_, Tenant> {
        self.tenant.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A UUID from `rng`, so ids stay the same from run to run.
pub fn uuid(rng: &mut fastrand::Rng) -> String {
    let mut bytes = [0u8; 16];
    rng.fill(&mut bytes);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// Entra has no staged or suspended state: pre-provisioned, suspended and departed accounts
/// are all disabled (§10.2).
pub fn enabled(s: SeedState) -> bool {
    matches!(
        s,
        SeedState::Active | SeedState::LockedOut | SeedState::PasswordExpired | SeedState::Recovery
    )
}

impl Tenant {
    pub fn from_seed(seed: &DirectorySeed, guest: bool) -> Tenant {
        let mut rng = fastrand::Rng::with_seed(0xe17a);
        let mut t = Tenant::default();
        let mut member_of = Vec::new();
        for a in &seed.accounts {
            let id = uuid(&mut rng);
            // A UPN may not hold `+` (its prefix allows letters, digits and ' . - _ ! # ^ ~),
            // so a plus-addressed mailbox keeps the plain address as its UPN.
            let upn = match a.email.split_once('@') {
                Some((local, domain)) if local.contains('+') => {
                    format!("{}@{domain}", local.split('+').next().unwrap_or(local))
                }
                _ => a.email.clone(),
            };
            member_of.push((id.clone(), a.groups.clone()));
            t.users.push(User {
                id,
                user_principal_name: upn,
                mail: Some(a.email.clone()),
                given_name: a.first_name.clone(),
                surname: a.last_name.clone(),
                display_name: format!("{} {}", a.first_name, a.last_name),
                account_enabled: enabled(a.state),
                employee_id: a.employee_id.clone(),
                user_type: "Member".into(),
                department: a.department.clone(),
                job_title: a.title.clone(),
                created: a.created,
                last_sign_in: a.last_sign_in,
                note: a.note.clone(),
            });
        }
        if guest {
            t.users.push(User {
                id: uuid(&mut rng),
                user_principal_name: "ext.auditor_bigfour.example#EXT#@acmeexample.onmicrosoft.com"
                    .into(),
                mail: Some("ext.auditor@bigfour.example".into()),
                given_name: "External".into(),
                surname: "Auditor".into(),
                display_name: "External Auditor (Big Four)".into(),
                account_enabled: true,
                employee_id: None,
                user_type: "Guest".into(),
                department: String::new(),
                job_title: String::new(),
                created: "2025-03-03T10:00:00Z".parse().unwrap_or(seed.as_of),
                last_sign_in: "2026-06-30T15:20:00Z".parse().ok(),
                note: Some("orphan: a B2B guest that matches no person".into()),
            });
        }
        let created: Timestamp = "2019-01-07T09:00:00Z".parse().unwrap_or(seed.as_of);
        for (name, description) in &seed.groups {
            t.groups.push(Group {
                id: uuid(&mut rng),
                display_name: name.clone(),
                description: description.clone(),
                created,
                members: member_of
                    .iter()
                    .filter(|(_, g)| g.contains(name))
                    .map(|(id, _)| id.clone())
                    .collect(),
            });
        }
        t.users.sort_by(|a, b| a.id.cmp(&b.id));
        t.groups.sort_by(|a, b| a.id.cmp(&b.id));
        t
    }

    pub fn user(&self, key: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| u.id == key || u.user_principal_name.eq_ignore_ascii_case(key))
    }

    pub fn dump(&self, cfg: &Config) -> Value {
        json!({
            "graph_url": cfg.graph_url,
            "tenant_id": cfg.tenant_id,
            "permissions": cfg.permissions,
            "page_size": cfg.page_size,
            "users": self.users.iter().map(|u| json!({
                "id": u.id,
                "userPrincipalName": u.user_principal_name,
                "mail": u.mail,
                "accountEnabled": u.account_enabled,
                "employeeId": u.employee_id,
                "userType": u.user_type,
                "lastSignInDateTime": u.last_sign_in.map(|t| t.to_string()),
                "groups": self.groups.iter()
                    .filter(|g| g.members.contains(&u.id))
                    .map(|g| g.display_name.clone())
                    .collect::<Vec<_>>(),
                "note": u.note,
            })).collect::<Vec<_>>(),
            "groups": self.groups.iter().map(|g| json!({
                "id": g.id,
                "displayName": g.display_name,
                "members": g.members.len(),
            })).collect::<Vec<_>>(),
        })
    }
}

pub fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// Graph's error body (§10.6): `{"error": {"code", "message", "innerError": {...}}}`.
pub fn graph_error(status: StatusCode, code: &str, message: &str) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    json_response(
        status,
        &json!({"error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": Timestamp::now().strftime("%Y-%m-%dT%H:%M:%S").to_string(),
                "request-id": request_id,
                "client-request-id": request_id,
            },
        }}),
    )
}

pub fn denied() -> Response {
    graph_error(
        StatusCode::FORBIDDEN,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
    )
}

/// 401 with the `WWW-Authenticate` challenge Graph sends.
pub fn invalid_token(message: &str) -> Response {
    let mut r = graph_error(
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationToken",
        message,
    );
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(
            "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"",
        ),
    );
    r
}

pub fn not_found(id: &str) -> Response {
    graph_error(
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        &format!(
            "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
        ),
    )
}

/// 429 with `Retry-After` (§10.6); the error code is unconfirmed.
pub fn rate_limited(status: &crate::faults::RateStatus) -> Response {
    let mut r = graph_error(
        StatusCode::TOO_MANY_REQUESTS,
        "TooManyRequests",
        "Too many requests. Please retry after the time given in the Retry-After header.",
    );
    r.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(status.retry_after_secs.max(1)),
    );
    r
}

/// Graph announces no rate on successful answers (§10.6).
pub fn rate_headers(_: &crate::faults::RateStatus, _: &mut axum::http::HeaderMap) {}
