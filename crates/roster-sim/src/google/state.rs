//! The simulated Workspace account: users (live and deleted), groups, issued tokens; and the
//! Google JSON error body (reference §11.4).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::directory::{DirectorySeed, SeedState, millis};

#[derive(Debug, Clone)]
pub struct User {
    /// 21 digits, as Google's user ids.
    pub id: String,
    pub primary_email: String,
    pub given_name: String,
    pub family_name: String,
    pub is_admin: bool,
    pub suspended: bool,
    pub archived: bool,
    pub deleted: Option<Timestamp>,
    pub department: String,
    pub title: String,
    pub employee_id: Option<String>,
    pub created: Timestamp,
    pub last_login: Option<Timestamp>,
    pub note: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Group {
    pub id: String,
    pub email: String,
    pub name: String,
    pub description: String,
    pub members: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Grant {
    pub scopes: Vec<String>,
    /// The user the token acts as.
    pub subject: String,
    pub expires: Instant,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub base_url: String,
    pub customer_id: String,
    pub domain: String,
    pub token_url: String,
    pub client_email: String,
    pub client_id: String,
    /// Scopes domain-wide delegation allows the service account.
    pub delegated_scopes: Vec<String>,
    pub page_size: usize,
}

#[derive(Debug, Default)]
pub struct Account {
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    pub tokens: HashMap<String, Grant>,
}

#[derive(Clone)]
pub struct App {
    pub cfg: Arc<Config>,
    pub key: Arc<ring::signature::RsaKeyPair>,
    account: Arc<Mutex<Account>>,
}

impl App {
    pub fn new(cfg: Config, key: ring::signature::RsaKeyPair, account: Account) -> Self {
        App {
            cfg: Arc::new(cfg),
            key: Arc::new(key),
            account: Arc::new(Mutex::new(account)),
        }
    }

    pub fn account(&self) -> MutexGuard<'_, Account> {
        self.account.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Account {
    pub fn from_seed(seed: &DirectorySeed, domain: &str) -> Account {
        let mut rng = fastrand::Rng::with_seed(0x9006);
        let mut account = Account::default();
        let mut member_of = Vec::new();
        for a in &seed.accounts {
            let id = crate::directory::vendor_id(&mut rng, "1", b"0123456789", 20);
            member_of.push((id.clone(), a.groups.clone()));
            let gone = a.state == SeedState::Deprovisioned;
            account.users.push(User {
                id,
                primary_email: a.email.clone(),
                given_name: a.first_name.clone(),
                family_name: a.last_name.clone(),
                is_admin: a.admin,
                suspended: a.state == SeedState::Suspended,
                archived: a.state == SeedState::Archived,
                deleted: gone.then(|| a.status_changed.unwrap_or(a.created)),
                department: a.department.clone(),
                title: a.title.clone(),
                employee_id: a.employee_id.clone(),
                created: a.created,
                last_login: a.last_sign_in,
                note: a.note.clone(),
            });
        }
        for (name, description) in &seed.groups {
            account.groups.push(Group {
                id: crate::directory::vendor_id(&mut rng, "0", b"0123456789abcdef", 14),
                email: format!("{name}@{domain}"),
                name: name.clone(),
                description: description.clone(),
                members: member_of
                    .iter()
                    .filter(|(_, g)| g.contains(name))
                    .map(|(id, _)| id.clone())
                    .collect(),
            });
        }
        account.users.sort_by(|a, b| a.id.cmp(&b.id));
        account.groups.sort_by(|a, b| a.id.cmp(&b.id));
        account
    }

    /// A live user by id or primary e-mail.
    pub fn user(&self, key: &str) -> Option<&User> {
        self.users
            .iter()
            .filter(|u| u.deleted.is_none())
            .find(|u| u.id == key || u.primary_email.eq_ignore_ascii_case(key))
    }

    pub fn group(&self, key: &str) -> Option<&Group> {
        self.groups
            .iter()
            .find(|g| g.id == key || g.email.eq_ignore_ascii_case(key))
    }

    pub fn dump(&self, cfg: &Config) -> Value {
        json!({
            "base_url": cfg.base_url,
            "customer_id": cfg.customer_id,
            "domain": cfg.domain,
            "delegated_scopes": cfg.delegated_scopes,
            "page_size": cfg.page_size,
            "users": self.users.iter().map(|u| json!({
                "id": u.id,
                "primaryEmail": u.primary_email,
                "suspended": u.suspended,
                "archived": u.archived,
                "deleted": u.deleted.is_some(),
                "isAdmin": u.is_admin,
                "employeeId": u.employee_id,
                "lastLoginTime": u.last_login.map(millis),
                "groups": self.groups.iter()
                    .filter(|g| g.members.contains(&u.id))
                    .map(|g| g.name.clone())
                    .collect::<Vec<_>>(),
                "note": u.note,
            })).collect::<Vec<_>>(),
            "groups": self.groups.iter().map(|g| json!({
                "id": g.id, "email": g.email, "name": g.name, "members": g.members.len(),
            })).collect::<Vec<_>>(),
        })
    }
}

/// A quoted etag, as Google sends them.
pub fn etag(seed: &str) -> String {
    let h = seed.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("\"{h:016x}\"")
}

pub fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=UTF-8")],
        body.to_string(),
    )
        .into_response()
}

/// Google JSON v1 error (§11.4): `{"error": {"code", "message", "errors": [{domain, reason,
/// message}]}}`.
pub fn google_error(status: StatusCode, reason: &str, message: &str) -> Response {
    let mut body = json!({"error": {
        "code": status.as_u16(),
        "message": message,
        "errors": [{"message": message, "domain": "global", "reason": reason}],
    }});
    let status_text = match status.as_u16() {
        400 => Some("INVALID_ARGUMENT"),
        401 => Some("UNAUTHENTICATED"),
        403 => Some("PERMISSION_DENIED"),
        404 => Some("NOT_FOUND"),
        _ => None,
    };
    if let Some(s) = status_text {
        body["error"]["status"] = json!(s);
    }
    json_response(status, &body)
}

pub fn unauthenticated() -> Response {
    let mut r = google_error(
        StatusCode::UNAUTHORIZED,
        "authError",
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
    );
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        axum::http::HeaderValue::from_static("Bearer realm=\"https://accounts.google.com/\""),
    );
    r
}

pub fn insufficient_scopes() -> Response {
    google_error(
        StatusCode::FORBIDDEN,
        "insufficientPermissions",
        "Request had insufficient authentication scopes.",
    )
}

pub fn not_authorized() -> Response {
    google_error(
        StatusCode::FORBIDDEN,
        "forbidden",
        "Not Authorized to access this resource/api",
    )
}

pub fn not_found(what: &str) -> Response {
    google_error(
        StatusCode::NOT_FOUND,
        "notFound",
        &format!("Resource Not Found: {what}"),
    )
}

pub fn bad_request(reason: &str, message: &str) -> Response {
    google_error(StatusCode::BAD_REQUEST, reason, message)
}

/// Over quota Google answers 403 `userRateLimitExceeded`, not 429, and says nothing of when
/// to retry (§11.4).
pub fn rate_limited(_: &crate::faults::RateStatus) -> Response {
    google_error(
        StatusCode::FORBIDDEN,
        "userRateLimitExceeded",
        "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user' of service 'admin.googleapis.com'.",
    )
}

/// Google announces no rate on successful answers.
pub fn rate_headers(_: &crate::faults::RateStatus, _: &mut axum::http::HeaderMap) {}
