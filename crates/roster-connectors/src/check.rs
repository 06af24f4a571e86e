//! `roster connect test`: the result of one connection check, shared by the targets that
//! offer one (Confluence Cloud and Data Center).

use serde::Serialize;

use crate::http::HttpError;

/// The result of one connection check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectionCheck {
    /// What was checked ("Confluence API token", "SCIM directory", ...).
    pub name: String,
    pub ok: bool,
    /// What was found, or what is wrong and how to fix it.
    pub detail: String,
}

/// A check named `name`: ok with what was found, or failed with what is wrong.
pub(crate) fn check(name: &str, result: Result<String, String>) -> ConnectionCheck {
    let (ok, detail) = match result {
        Ok(d) => (true, d),
        Err(d) => (false, d),
    };
    ConnectionCheck {
        name: name.to_string(),
        ok,
        detail,
    }
}

/// Names the usual cause of an error answer; `forbidden` says which permission is missing.
pub(crate) fn explain(e: &HttpError, unauthorized: &str, forbidden: &str) -> String {
    match e.status() {
        Some(401) => format!("{unauthorized} ({e})"),
        Some(403) => format!("{forbidden} ({e})"),
        _ => e.to_string(),
    }
}
