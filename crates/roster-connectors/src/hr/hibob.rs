//! HiBob (reference `hris-idp.md` §3): `POST /v1/people/search` with `showInactive: true`
//! (leavers are hidden otherwise) and the fields the mapping reads, as a service user (Basic
//! `ID:TOKEN`). Search has no pagination; as HiBob recommends for large companies, Roster
//! first lists every id, then reads the employees in batches of `batch_size` ids
//! (`filters: [{root.id equals [...]}]`), so no answer grows without bound. List fields come
//! as list-item ids; `humanReadable: "APPEND"` adds their display values, which the default
//! mapping reads (`humanReadable.work.department`), while dates are read as machine values.
//!
//! No changed-since exists (§3.3); webhooks are signed with `Bob-Signature` = base64
//! HMAC-SHA512 of the raw body (§3.4), and the URL check ("Ping test") is answered without a
//! sync.

use async_trait::async_trait;
use jiff::Timestamp;
use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::mapping::{
    Field, ManagerReference, Mapping, MappingConfig, VendorDefaults, VendorRecord,
};
use super::signature::hmac_sha512_base64_ok;
use super::{
    DEFAULT_POLL_INTERVAL_SECS, HrListing, HrSource, PING_EVENT, Secret, SourceError, WebhookError,
    WebhookNotice, header, optional_secret, secret_from, vendor_error,
};
use crate::http::{HttpClient, HttpError, HttpPolicy, Idempotence};

/// `[sources.NAME]` with `kind = "hibob"`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HibobConfig {
    /// `https://api.hibob.com` (sandbox: `https://api.sandbox.hibob.com`).
    pub base_url: String,
    pub service_user_id_env: String,
    pub token_env: String,
    /// The webhook secret shown in Bob's webhook settings.
    #[serde(default)]
    pub webhook_secret_env: Option<String>,
    #[serde(default = "default_poll")]
    pub poll_interval_secs: u64,
    /// Employees read per search (0: all in one search).
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    #[serde(default)]
    pub http: HttpPolicy,
    pub mapping: MappingConfig,
}

fn default_poll() -> u64 {
    DEFAULT_POLL_INTERVAL_SECS
}

fn default_batch() -> usize {
    200
}

/// HiBob's field ids (§3.2); `humanReadable.*` are the display values of list fields.
pub const DEFAULTS: VendorDefaults = VendorDefaults {
    vendor: "HiBob",
    id_field: "root.id",
    fields: &[
        ("employee_id", "work.employeeIdInCompany"),
        ("email", "root.email"),
        ("first_name", "root.firstName"),
        ("last_name", "root.surname"),
        ("department", "humanReadable.work.department"),
        ("title", "humanReadable.work.title"),
        ("manager_id", "work.manager"),
        ("location", "humanReadable.work.site"),
        ("employment_type", "payroll.employment.type"),
        ("status", "internal.status"),
        ("start_date", "work.startDate"),
        ("end_date", "internal.terminationDate"),
    ],
    values: &[
        (
            "status",
            &[("Active", "active"), ("Inactive", "terminated")],
        ),
        (
            "employment_type",
            &[
                ("Full time", "full_time"),
                ("Part time", "part_time"),
                ("Contractor", "contractor"),
                ("Intern", "intern"),
            ],
        ),
    ],
    date_format: "%Y-%m-%d",
    empty_dates: &[],
    manager_reference: ManagerReference::VendorId,
};

pub struct HibobSource {
    name: String,
    config: HibobConfig,
    base: String,
    user: Secret,
    token: Secret,
    webhook_secret: Option<Secret>,
    mapping: Mapping,
    http: HttpClient,
}

impl HibobSource {
    pub fn new(
        name: &str,
        config: HibobConfig,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, SourceError> {
        let user = secret_from(
            name,
            &config.service_user_id_env,
            "HiBob service user id",
            env,
        )?;
        let token = secret_from(name, &config.token_env, "HiBob service user token", env)?;
        let webhook_secret = optional_secret(
            name,
            config.webhook_secret_env.as_deref(),
            "HiBob webhook secret",
            env,
        )?;
        let mapping = Mapping::new(name, &DEFAULTS, &config.mapping)?;
        let http = HttpClient::new(format!("HiBob ({name})"), config.http.clone())?;
        Ok(HibobSource {
            name: name.to_string(),
            base: config.base_url.trim_end_matches('/').to_string(),
            config,
            user,
            token,
            webhook_secret,
            mapping,
            http,
        })
    }

    fn origin(&self) -> String {
        format!("HiBob ({})", self.base)
    }

    fn fail(&self, e: HttpError) -> SourceError {
        vendor_error(
            e,
            &self.origin(),
            "the service user's credentials",
            &format!(
                "{} and {}",
                self.config.service_user_id_env, self.config.token_env
            ),
            "the service user's permission group must grant People's data and every lifecycle status, Terminated included",
        )
    }

    async fn search(&self, what: &str, body: Value) -> Result<Vec<Value>, SourceError> {
        let url = format!("{}/v1/people/search", self.base);
        let body = body.to_string();
        let response = self
            .http
            .send(what, Idempotence::Idempotent, |c| {
                c.post(&url)
                    .basic_auth(self.user.expose(), Some(self.token.expose()))
                    .header("content-type", "application/json")
                    .header("accept", "application/json")
                    .body(body.clone())
            })
            .await
            .map_err(|e| self.fail(e))?;
        let v: Value = response.json().await.map_err(|e| SourceError::Protocol {
            origin: self.origin(),
            what: what.to_string(),
            message: format!("not JSON: {e}"),
        })?;
        v["employees"]
            .as_array()
            .cloned()
            .ok_or_else(|| SourceError::Protocol {
                origin: self.origin(),
                what: what.to_string(),
                message: "no employees list".into(),
            })
    }

    /// The field ids to ask for: the mapped ones as HiBob names them (`humanReadable.` read
    /// from the appended mirror of the plain field).
    fn fields(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for f in self.mapping.vendor_fields() {
            let f = f.strip_prefix("humanReadable.").unwrap_or(&f).to_string();
            if !out.contains(&f) {
                out.push(f);
            }
        }
        out
    }
}

/// Flattens an employee to dotted field ids: top-level values become `root.*` (as HiBob's
/// field ids name them), nested objects `work.startDate`, the display mirror
/// `humanReadable.work.department`.
fn vendor_record(row: usize, e: &Value) -> VendorRecord {
    fn walk(
        prefix: &str,
        v: &Map<String, Value>,
        out: &mut std::collections::BTreeMap<String, Field>,
    ) {
        for (k, x) in v {
            let path = if prefix.is_empty() {
                format!("root.{k}")
            } else {
                format!("{prefix}.{k}")
            };
            match x {
                Value::Object(o) if prefix.is_empty() && k == "humanReadable" => {
                    for (section, inner) in o {
                        if let Value::Object(inner) = inner {
                            walk(&format!("humanReadable.{section}"), inner, out);
                        } else {
                            out.insert(format!("humanReadable.root.{section}"), scalar(inner));
                        }
                    }
                }
                Value::Object(o) if prefix.is_empty() => walk(k, o, out),
                // A reference (`work.reportsTo`) stands for its id.
                Value::Object(o) if o.contains_key("id") => {
                    out.insert(path.clone(), scalar(&o["id"]));
                }
                Value::Object(o) => walk(&path, o, out),
                other => {
                    out.insert(path, scalar(other));
                }
            }
        }
    }
    fn scalar(v: &Value) -> Field {
        match v {
            Value::Null => Field::Null,
            Value::String(s) if s.is_empty() => Field::Null,
            Value::String(s) => Field::Text(s.clone()),
            Value::Number(n) => Field::Text(n.to_string()),
            Value::Bool(b) => Field::Text(b.to_string()),
            _ => Field::Invalid("a list or object where HiBob writes one value".into()),
        }
    }
    let Some(o) = e.as_object() else {
        return VendorRecord {
            row,
            fields: Default::default(),
            malformed: Some(format!("not a JSON object but {e}")),
        };
    };
    let mut fields = std::collections::BTreeMap::new();
    walk("", o, &mut fields);
    VendorRecord {
        row,
        fields,
        malformed: None,
    }
}

#[async_trait]
impl HrSource for HibobSource {
    fn name(&self) -> &str {
        &self.name
    }

    async fn list(&self) -> Result<HrListing, SourceError> {
        let fields = self.fields();
        let employees = if self.config.batch_size == 0 {
            self.search(
                "the people search",
                json!({"fields": fields, "showInactive": true, "humanReadable": "APPEND"}),
            )
            .await?
        } else {
            let ids: Vec<String> = self
                .search(
                    "the list of employee ids",
                    json!({"fields": ["root.id"], "showInactive": true}),
                )
                .await?
                .iter()
                .filter_map(|e| e["id"].as_str().map(str::to_string))
                .collect();
            let mut all = Vec::with_capacity(ids.len());
            for (n, batch) in ids.chunks(self.config.batch_size).enumerate() {
                let got = self
                    .search(
                        &format!("employees batch {}", n + 1),
                        json!({
                            "fields": fields,
                            "filters": [{"fieldPath": "root.id", "operator": "equals", "values": batch}],
                            "showInactive": true,
                            "humanReadable": "APPEND",
                        }),
                    )
                    .await?;
                if got.len() != batch.len() {
                    return Err(SourceError::Incomplete {
                        origin: self.origin(),
                        message: format!(
                            "batch {} asked for {} employees and got {}",
                            n + 1,
                            batch.len(),
                            got.len()
                        ),
                    });
                }
                all.extend(got);
            }
            all
        };
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
                hint: "grant the service user's permission group those fields in Bob".into(),
            });
        }
        Ok(self.mapping.apply(&records))
    }

    async fn changed_since(&self, _since: Timestamp) -> Result<Option<Vec<String>>, SourceError> {
        Ok(None)
    }

    fn verify_webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        _now: Timestamp,
    ) -> Result<WebhookNotice, WebhookError> {
        let origin = "HiBob".to_string();
        // The URL check comes before any secret is in place (§3.4).
        let text = String::from_utf8_lossy(body);
        let ping = text.trim().trim_matches('"') == "Ping test"
            || serde_json::from_slice::<Value>(body).is_ok_and(|v| v["text"] == "Ping test");
        if ping {
            return Ok(WebhookNotice {
                event: PING_EVENT.into(),
                employee_ids: Vec::new(),
                changed_fields: Vec::new(),
            });
        }
        let Some(secret) = &self.webhook_secret else {
            return Err(WebhookError::NotConfigured {
                origin,
                name: self.name.clone(),
            });
        };
        let signature =
            header(headers, "bob-signature").ok_or_else(|| WebhookError::MissingHeader {
                origin: origin.clone(),
                header: "Bob-Signature".into(),
            })?;
        if !hmac_sha512_base64_ok(secret.expose().as_bytes(), body, signature) {
            return Err(WebhookError::BadSignature {
                origin,
                header: "Bob-Signature".into(),
            });
        }
        let v: Value = serde_json::from_slice(body).map_err(|e| WebhookError::Malformed {
            origin: origin.clone(),
            message: e.to_string(),
        })?;
        let id = ["employeeId", "id"].iter().find_map(|k| {
            let x = &v["data"][k];
            x.as_str()
                .map(str::to_string)
                .or_else(|| x.as_u64().map(|n| n.to_string()))
        });
        let fields = v["data"]["fields"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|f| f.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        Ok(WebhookNotice {
            event: v["type"].as_str().unwrap_or("employee.updated").to_string(),
            employee_ids: id.into_iter().collect(),
            changed_fields: fields,
        })
    }
}
