//! Personio (reference `hris-idp.md` §2), through the v1 API: `POST /v1/auth` for a bearer
//! token (kept for its `expires_in`, fetched again on a 401), then
//! `GET /v1/company/employees?limit=100&offset=…` to the last page, leavers included (status
//! `inactive`). Every attribute comes wrapped as `{label, value, type}`; object values
//! (department, team, office, supervisor) are read by name, the supervisor by id. Dates are
//! local midnight with an offset, turned into the company day by the mapping.
//!
//! Webhooks exist only in v2 and their signature scheme is not documented in the sources
//! (§2.4, unconfirmed): Roster checks a hex HMAC-SHA256 of the raw body in the configurable
//! `webhook_signature_header`, and since deliveries are "dataless" it only ever re-reads.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use jiff::Timestamp;
use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};

use super::mapping::{
    Field, ManagerReference, Mapping, MappingConfig, VendorDefaults, VendorRecord,
};
use super::signature::hmac_sha256_hex_ok;
use super::{
    DEFAULT_POLL_INTERVAL_SECS, HrListing, HrSource, Secret, SourceError, WebhookError,
    WebhookNotice, header, optional_secret, secret_from, vendor_error,
};
use crate::http::{HttpClient, HttpError, HttpPolicy, Idempotence};

/// Whether `offset` counts employees or pages (the spec says "first item", the answer's
/// `metadata.current_page` suggests pages: §2.2, unconfirmed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OffsetUnit {
    #[default]
    Items,
    Pages,
}

/// `[sources.NAME]` with `kind = "personio"`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonioConfig {
    /// `https://api.personio.de`.
    pub base_url: String,
    pub client_id_env: String,
    pub client_secret_env: String,
    /// The secret Personio signs webhook deliveries with; without it webhooks are refused.
    #[serde(default)]
    pub webhook_secret_env: Option<String>,
    #[serde(default = "default_signature_header")]
    pub webhook_signature_header: String,
    #[serde(default = "default_poll")]
    pub poll_interval_secs: u64,
    /// Employees per page, 1..100 (default 100, the most Personio allows).
    #[serde(default)]
    pub page_size: Option<u32>,
    #[serde(default)]
    pub offset_unit: OffsetUnit,
    /// `X-Personio-Partner-ID` / `X-Personio-App-ID`, which some endpoints require.
    #[serde(default)]
    pub partner_id: Option<String>,
    #[serde(default)]
    pub app_id: Option<String>,
    #[serde(default)]
    pub http: HttpPolicy,
    pub mapping: MappingConfig,
}

fn default_poll() -> u64 {
    DEFAULT_POLL_INTERVAL_SECS
}

fn default_signature_header() -> String {
    "x-personio-signature".into()
}

/// Personio's standard attributes (§2.2). It has no standard employee number: `employee_id`
/// is Personio's id unless the mapping names a custom attribute (`dynamic_<id>`).
pub const DEFAULTS: VendorDefaults = VendorDefaults {
    vendor: "Personio",
    id_field: "id",
    fields: &[
        ("employee_id", "id"),
        ("email", "email"),
        ("first_name", "first_name"),
        ("last_name", "last_name"),
        ("department", "department"),
        ("team", "team"),
        ("title", "position"),
        ("manager_id", "supervisor"),
        ("location", "office"),
        ("employment_type", "employment_type"),
        ("status", "status"),
        ("start_date", "hire_date"),
        ("end_date", "termination_date"),
    ],
    values: &[
        (
            "status",
            &[
                ("active", "active"),
                ("onboarding", "active"),
                ("leave", "leave"),
                ("inactive", "terminated"),
            ],
        ),
        (
            "employment_type",
            &[("internal", "full_time"), ("external", "contractor")],
        ),
    ],
    date_format: "%Y-%m-%dT%H:%M:%S%:z",
    empty_dates: &[],
    manager_reference: ManagerReference::VendorId,
};

pub struct PersonioSource {
    name: String,
    config: PersonioConfig,
    base: String,
    client_id: Secret,
    client_secret: Secret,
    webhook_secret: Option<Secret>,
    mapping: Mapping,
    http: HttpClient,
    token: Mutex<Option<(Secret, Instant)>>,
}

impl PersonioSource {
    pub fn new(
        name: &str,
        config: PersonioConfig,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, SourceError> {
        let client_id = secret_from(name, &config.client_id_env, "Personio client id", env)?;
        let client_secret = secret_from(
            name,
            &config.client_secret_env,
            "Personio client secret",
            env,
        )?;
        let webhook_secret = optional_secret(
            name,
            config.webhook_secret_env.as_deref(),
            "Personio webhook secret",
            env,
        )?;
        let mapping = Mapping::new(name, &DEFAULTS, &config.mapping)?;
        if let Some(n) = config.page_size
            && !(1..=100).contains(&n)
        {
            return Err(SourceError::Config {
                name: name.to_string(),
                message: format!("page_size must be between 1 and 100, not {n}"),
            });
        }
        let http = HttpClient::new(format!("Personio ({name})"), config.http.clone())?;
        Ok(PersonioSource {
            name: name.to_string(),
            base: config.base_url.trim_end_matches('/').to_string(),
            config,
            client_id,
            client_secret,
            webhook_secret,
            mapping,
            http,
            token: Mutex::new(None),
        })
    }

    fn origin(&self) -> String {
        format!("Personio ({})", self.base)
    }

    fn envs(&self) -> String {
        format!(
            "{} and {}",
            self.config.client_id_env, self.config.client_secret_env
        )
    }

    fn fail(&self, e: HttpError) -> SourceError {
        vendor_error(
            e,
            &self.origin(),
            "the API credentials",
            &self.envs(),
            "the credentials' attribute whitelist and scopes (employees:read) must cover the mapped attributes",
        )
    }

    fn protocol(&self, what: &str, message: impl Into<String>) -> SourceError {
        SourceError::Protocol {
            origin: self.origin(),
            what: what.to_string(),
            message: message.into(),
        }
    }

    /// A token valid for a while yet, fetched when there is none (24 h, §2.1).
    async fn token(&self, fresh: bool) -> Result<Secret, SourceError> {
        if !fresh
            && let Some((t, until)) = self.token.lock().unwrap_or_else(|p| p.into_inner()).clone()
            && until > Instant::now()
        {
            return Ok(t);
        }
        let url = format!("{}/v1/auth", self.base);
        let body = json!({
            "client_id": self.client_id.expose(),
            "client_secret": self.client_secret.expose(),
        })
        .to_string();
        let response = self
            .http
            .send("the token request", Idempotence::Idempotent, |c| {
                c.post(&url)
                    .header("content-type", "application/json")
                    .header("accept", "application/json")
                    .body(body.clone())
            })
            .await
            .map_err(|e| self.fail(e))?;
        let v: Value = response
            .json()
            .await
            .map_err(|e| self.protocol("the token request", e.to_string()))?;
        let token = v["data"]["token"]
            .as_str()
            .ok_or_else(|| self.protocol("the token request", "no data.token"))?;
        let lifetime = v["data"]["expires_in"].as_u64().unwrap_or(3600);
        // Renewed a minute early, so a page is never sent with a token about to expire.
        let until = Instant::now() + Duration::from_secs(lifetime.saturating_sub(60).max(1));
        let token = Secret::new(token);
        *self.token.lock().unwrap_or_else(|p| p.into_inner()) = Some((token.clone(), until));
        Ok(token)
    }

    /// `GET` with the bearer token; a 401 gets one fresh token.
    async fn get(
        &self,
        what: &str,
        url: &str,
        query: &[(String, String)],
    ) -> Result<Value, SourceError> {
        let mut fresh = false;
        loop {
            let token = self.token(fresh).await?;
            let result = self
                .http
                .send(what, Idempotence::Idempotent, |c| {
                    let mut r = c
                        .get(url)
                        .query(query)
                        .bearer_auth(token.expose())
                        .header("accept", "application/json");
                    if let Some(p) = &self.config.partner_id {
                        r = r.header("X-Personio-Partner-ID", p);
                    }
                    if let Some(a) = &self.config.app_id {
                        r = r.header("X-Personio-App-ID", a);
                    }
                    r
                })
                .await;
            match result {
                Ok(response) => {
                    return response
                        .json()
                        .await
                        .map_err(|e| self.protocol(what, format!("not JSON: {e}")));
                }
                Err(HttpError::Unauthorized { .. }) if !fresh => fresh = true,
                Err(e) => return Err(self.fail(e)),
            }
        }
    }

    /// Every employee page, or only those updated since `since`.
    async fn employees(&self, since: Option<Timestamp>) -> Result<Vec<Value>, SourceError> {
        let limit = u64::from(self.config.page_size.unwrap_or(100));
        let url = format!("{}/v1/company/employees", self.base);
        let mut out = Vec::new();
        for page in 0u64.. {
            let offset = match self.config.offset_unit {
                OffsetUnit::Items => page * limit,
                OffsetUnit::Pages => page,
            };
            let mut query = vec![
                ("limit".to_string(), limit.to_string()),
                ("offset".to_string(), offset.to_string()),
            ];
            if let Some(s) = since {
                query.push((
                    "updated_since".into(),
                    s.strftime("%Y-%m-%dT%H:%M:%S").to_string(),
                ));
            }
            let what = format!("employees page {}", page + 1);
            let v = self.get(&what, &url, &query).await?;
            if v["success"] == false {
                return Err(self.protocol(
                    &what,
                    v["error"]["message"].as_str().unwrap_or("success: false"),
                ));
            }
            let data = v["data"]
                .as_array()
                .ok_or_else(|| self.protocol(&what, "no data list"))?;
            let n = data.len() as u64;
            out.extend(data.iter().cloned());
            let total_pages = v["metadata"]["total_pages"].as_u64();
            let done = match total_pages {
                Some(t) => page + 1 >= t,
                None => n < limit,
            };
            if done || n == 0 {
                if let Some(total) = v["metadata"]["total_elements"].as_u64()
                    && since.is_none()
                    && total != out.len() as u64
                {
                    return Err(SourceError::Incomplete {
                        origin: self.origin(),
                        message: format!(
                            "{} employees read over {} page(s), Personio says {total} (offset_unit may be wrong)",
                            out.len(),
                            page + 1
                        ),
                    });
                }
                return Ok(out);
            }
        }
        unreachable!("the page loop returns")
    }
}

/// One attribute's value: the `value` of its wrapper, an object value by `name` (department,
/// office, team) or by `id` (supervisor), a scalar as text.
fn attribute(wrapper: &Value) -> Field {
    let value = match wrapper {
        Value::Object(o) if o.contains_key("value") => &o["value"],
        Value::Object(_) => {
            return Field::Invalid("an attribute without its {label, value} wrapper".into());
        }
        other => other,
    };
    match value {
        Value::Null => Field::Null,
        Value::String(s) if s.is_empty() => Field::Null,
        Value::String(s) => Field::Text(s.clone()),
        Value::Number(n) => Field::Text(n.to_string()),
        Value::Bool(b) => Field::Text(b.to_string()),
        Value::Object(o) => {
            let attrs = &o.get("attributes").cloned().unwrap_or(Value::Null);
            let by = |k: &str| match &attrs[k] {
                Value::Object(w) => w.get("value").cloned(),
                v if !v.is_null() => Some(v.clone()),
                _ => None,
            };
            match by("name").or_else(|| by("id")) {
                Some(Value::String(s)) => Field::Text(s),
                Some(Value::Number(n)) => Field::Text(n.to_string()),
                _ => Field::Invalid("an object value with neither a name nor an id".into()),
            }
        }
        Value::Array(_) => Field::Invalid("a list where Personio writes one value".into()),
    }
}

fn vendor_record(row: usize, employee: &Value) -> VendorRecord {
    let Some(attributes) = employee.get("attributes").and_then(Value::as_object) else {
        return VendorRecord {
            row,
            fields: Default::default(),
            malformed: Some(format!("not an Employee with attributes but {employee}")),
        };
    };
    VendorRecord {
        row,
        fields: attributes
            .iter()
            .map(|(k, v)| (k.clone(), attribute(v)))
            .collect(),
        malformed: None,
    }
}

#[async_trait]
impl HrSource for PersonioSource {
    fn name(&self) -> &str {
        &self.name
    }

    async fn list(&self) -> Result<HrListing, SourceError> {
        let employees = self.employees(None).await?;
        let records: Vec<VendorRecord> = employees
            .iter()
            .enumerate()
            .map(|(i, e)| vendor_record(i + 1, e))
            .collect();
        let withheld = self.mapping.withheld(&records);
        if !withheld.is_empty() {
            return Err(SourceError::FieldsWithheld {
                origin: self.origin(),
                fields: withheld,
                hint: "add them to the API credentials' attribute whitelist in Personio".into(),
            });
        }
        Ok(self.mapping.apply(&records))
    }

    async fn changed_since(&self, since: Timestamp) -> Result<Option<Vec<String>>, SourceError> {
        let changed = self.employees(Some(since)).await?;
        Ok(Some(
            changed
                .iter()
                .filter_map(|e| match attribute(&e["attributes"]["id"]) {
                    Field::Text(id) => Some(id),
                    _ => None,
                })
                .collect(),
        ))
    }

    fn verify_webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        _now: Timestamp,
    ) -> Result<WebhookNotice, WebhookError> {
        let origin = "Personio".to_string();
        let Some(secret) = &self.webhook_secret else {
            return Err(WebhookError::NotConfigured {
                origin,
                name: self.name.clone(),
            });
        };
        let name = &self.config.webhook_signature_header;
        let signature = header(headers, name).ok_or_else(|| WebhookError::MissingHeader {
            origin: origin.clone(),
            header: name.clone(),
        })?;
        if !hmac_sha256_hex_ok(secret.expose().as_bytes(), &[body], signature) {
            return Err(WebhookError::BadSignature {
                origin,
                header: name.clone(),
            });
        }
        let v: Value = serde_json::from_slice(body).map_err(|e| WebhookError::Malformed {
            origin: origin.clone(),
            message: e.to_string(),
        })?;
        let event = v["event_name"]
            .as_str()
            .or(v["type"].as_str())
            .unwrap_or("person.updated")
            .to_string();
        let id = ["person_id", "id", "employee_id"].iter().find_map(|k| {
            let x = &v["data"][k];
            x.as_str()
                .map(str::to_string)
                .or_else(|| x.as_u64().map(|n| n.to_string()))
        });
        Ok(WebhookNotice {
            event,
            employee_ids: id.into_iter().collect(),
            changed_fields: Vec::new(),
        })
    }
}
