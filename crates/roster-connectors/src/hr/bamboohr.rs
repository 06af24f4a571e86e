//! BambooHR (reference `hris-idp.md` §1): everyone, Active and Inactive, from the custom
//! report (one answer; the default) or the employee dataset (pages of up to 1,000);
//! changed-since from `/v1/employees/changed`; webhooks checked with BambooHR's HMAC-SHA256
//! over the raw body followed by the `X-BambooHR-Timestamp` value. The API key is the Basic
//! user name.
//!
//! BambooHR's `status` is `Active` or `Inactive`, and Inactive covers both leavers and hires
//! who have not started yet (§1.3). An Inactive record with no termination date and a hire
//! date still to come is therefore a future hire (status active; its start date governs
//! provisioning); every other Inactive record is a leaver.

use async_trait::async_trait;
use jiff::Timestamp;
use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};

use super::mapping::{
    Field, ManagerReference, Mapping, MappingConfig, VendorDefaults, VendorRecord, parse_day,
};
use super::signature::{age_secs, hmac_sha256_hex_ok, parse_timestamp};
use super::{
    DEFAULT_POLL_INTERVAL_SECS, DEFAULT_WEBHOOK_TOLERANCE_SECS, HrListing, HrSource, Secret,
    SourceError, WebhookError, WebhookNotice, header, optional_secret, secret_from, vendor_error,
};
use crate::http::{HttpClient, HttpError, HttpPolicy, Idempotence};

/// How the employees are listed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BambooHrListing {
    /// `POST /v1/reports/custom`: one answer with every employee (§1.2 a).
    #[default]
    CustomReport,
    /// `POST /v2/datasets/employee/data`: pages (§1.2 b). The dataset path through the
    /// `gateway.php` host and its field names being the classic aliases are unconfirmed.
    Dataset,
}

/// `[sources.NAME]` with `kind = "bamboohr"`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BambooHrConfig {
    /// `https://api.bamboohr.com/api/gateway.php/{companyDomain}` (or
    /// `https://{companyDomain}.bamboohr.com/api`): the client calls `{base_url}/v1/...`.
    pub base_url: String,
    /// The environment variable holding the API key.
    pub api_key_env: String,
    /// The environment variable holding the webhook's private key (returned once when the
    /// webhook is created); without it webhooks are refused.
    #[serde(default)]
    pub webhook_secret_env: Option<String>,
    #[serde(default = "default_poll")]
    pub poll_interval_secs: u64,
    #[serde(default)]
    pub listing: BambooHrListing,
    /// Dataset page size, 1..1000 (default 500).
    #[serde(default)]
    pub page_size: Option<u32>,
    #[serde(default = "default_tolerance")]
    pub webhook_tolerance_secs: u64,
    #[serde(default)]
    pub http: HttpPolicy,
    pub mapping: MappingConfig,
}

fn default_poll() -> u64 {
    DEFAULT_POLL_INTERVAL_SECS
}

fn default_tolerance() -> u64 {
    DEFAULT_WEBHOOK_TOLERANCE_SECS
}

/// BambooHR's standard aliases (§1.3) and values.
pub const DEFAULTS: VendorDefaults = VendorDefaults {
    vendor: "BambooHR",
    id_field: "id",
    fields: &[
        ("employee_id", "employeeNumber"),
        ("email", "workEmail"),
        ("first_name", "firstName"),
        ("last_name", "lastName"),
        ("department", "department"),
        ("team", "division"),
        ("title", "jobTitle"),
        ("manager_id", "supervisorId"),
        ("location", "location"),
        ("employment_type", "employmentHistoryStatus"),
        ("status", "status"),
        ("start_date", "hireDate"),
        ("end_date", "terminationDate"),
    ],
    values: &[
        (
            "status",
            &[("Active", "active"), ("Inactive", "terminated")],
        ),
        (
            "employment_type",
            &[
                ("Full-Time", "full_time"),
                ("Part-Time", "part_time"),
                ("Contractor", "contractor"),
                ("Intern", "intern"),
                // A leaver's history status; their type is of no use any more.
                ("Terminated", ""),
            ],
        ),
    ],
    date_format: "%Y-%m-%d",
    empty_dates: &["0000-00-00"],
    manager_reference: ManagerReference::EmployeeId,
};

pub struct BambooHrSource {
    name: String,
    config: BambooHrConfig,
    base: String,
    api_key: Secret,
    webhook_secret: Option<Secret>,
    mapping: Mapping,
    http: HttpClient,
}

impl BambooHrSource {
    pub fn new(
        name: &str,
        config: BambooHrConfig,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, SourceError> {
        let api_key = secret_from(name, &config.api_key_env, "BambooHR API key", env)?;
        let webhook_secret = optional_secret(
            name,
            config.webhook_secret_env.as_deref(),
            "BambooHR webhook private key",
            env,
        )?;
        let mapping = Mapping::new(name, &DEFAULTS, &config.mapping)?;
        if let Some(n) = config.page_size
            && !(1..=1000).contains(&n)
        {
            return Err(SourceError::Config {
                name: name.to_string(),
                message: format!("page_size must be between 1 and 1000, not {n}"),
            });
        }
        let http = HttpClient::new(format!("BambooHR ({name})"), config.http.clone())?;
        Ok(BambooHrSource {
            name: name.to_string(),
            base: config.base_url.trim_end_matches('/').to_string(),
            config,
            api_key,
            webhook_secret,
            mapping,
            http,
        })
    }

    fn origin(&self) -> String {
        format!("BambooHR ({})", self.base)
    }

    fn fail(&self, e: HttpError) -> SourceError {
        vendor_error(
            e,
            &self.origin(),
            "the API key",
            &self.config.api_key_env,
            "the key acts with the rights of the BambooHR user who created it: that user must see every employee and the mapped fields",
        )
    }

    async fn post_json(&self, what: &str, url: &str, body: &Value) -> Result<Value, SourceError> {
        let key = self.api_key.expose().to_string();
        let body = body.to_string();
        let response = self
            .http
            .send(what, Idempotence::Idempotent, |c| {
                c.post(url)
                    .basic_auth(&key, Some("x"))
                    .header("accept", "application/json")
                    // Exactly this: a charset suffix makes BambooHR read XML (§1.2 a).
                    .header("content-type", "application/json")
                    .body(body.clone())
            })
            .await
            .map_err(|e| self.fail(e))?;
        self.json(what, response).await
    }

    async fn json(&self, what: &str, response: reqwest::Response) -> Result<Value, SourceError> {
        response.json().await.map_err(|e| SourceError::Protocol {
            origin: self.origin(),
            what: what.to_string(),
            message: format!("not JSON: {e}"),
        })
    }

    fn fields(&self) -> Vec<String> {
        let mut fields = self.mapping.vendor_fields();
        for f in ["status", "hireDate", "terminationDate"] {
            if !fields.iter().any(|x| x == f) {
                fields.push(f.to_string());
            }
        }
        fields
    }

    async fn custom_report(&self) -> Result<Vec<VendorRecord>, SourceError> {
        let asked = self.fields();
        let url = format!(
            "{}/v1/reports/custom?format=json&onlyCurrent=true",
            self.base
        );
        let answer = self
            .post_json(
                "the custom report",
                &url,
                &json!({"title": "roster", "fields": asked}),
            )
            .await?;
        let protocol = |message: &str| SourceError::Protocol {
            origin: self.origin(),
            what: "the custom report".into(),
            message: message.to_string(),
        };
        let returned: Vec<&str> = answer["fields"]
            .as_array()
            .ok_or_else(|| protocol("no fields list"))?
            .iter()
            .filter_map(|f| f["id"].as_str())
            .collect();
        // Fields the key may not read are left out without an error (§1.2 a).
        let withheld: Vec<String> = self
            .mapping
            .vendor_fields()
            .into_iter()
            .filter(|f| !returned.contains(&f.as_str()))
            .collect();
        if !withheld.is_empty() {
            return Err(SourceError::FieldsWithheld {
                origin: self.origin(),
                fields: withheld,
                hint: "give the API key's user access to them in BambooHR, or map other fields"
                    .into(),
            });
        }
        let employees = answer["employees"]
            .as_array()
            .ok_or_else(|| protocol("no employees list"))?;
        Ok(employees
            .iter()
            .enumerate()
            .map(|(i, e)| vendor_record(i + 1, e))
            .collect())
    }

    async fn dataset(&self) -> Result<Vec<VendorRecord>, SourceError> {
        let page_size = self.config.page_size.unwrap_or(500);
        let url = format!("{}/v2/datasets/employee/data", self.base);
        let fields = self.fields();
        let mut records = Vec::new();
        let mut page = 1u64;
        loop {
            let answer = self
                .post_json(
                    "the employee dataset",
                    &url,
                    &json!({"fields": fields, "page": page, "pageSize": page_size}),
                )
                .await?;
            let rows = answer["data"]
                .as_array()
                .ok_or_else(|| SourceError::Protocol {
                    origin: self.origin(),
                    what: format!("dataset page {page}"),
                    message: "no data list".into(),
                })?;
            for row in rows {
                let fields = row.get("fields").unwrap_or(row);
                records.push(vendor_record(records.len() + 1, fields));
            }
            let total_pages = answer["meta"]["totalPages"].as_u64().unwrap_or(page);
            let more = !answer["links"]["next"].is_null() && page < total_pages;
            if !more {
                let total = answer["meta"]["totalItems"].as_u64();
                if let Some(total) = total
                    && total != records.len() as u64
                {
                    return Err(SourceError::Incomplete {
                        origin: self.origin(),
                        message: format!(
                            "{} employees read over {page} page(s), the dataset says {total}",
                            records.len()
                        ),
                    });
                }
                return Ok(records);
            }
            page += 1;
            if page > 100_000 {
                return Err(SourceError::Incomplete {
                    origin: self.origin(),
                    message: "more than 100,000 pages".into(),
                });
            }
        }
    }

    /// Inactive with no termination date and a hire date to come: a future hire (§1.3).
    fn future_hires_are_active(&self, records: &mut [VendorRecord], today: jiff::civil::Date) {
        let text = |r: &VendorRecord, f: &str| match r.fields.get(f) {
            Some(Field::Text(s)) if !s.trim().is_empty() && s.trim() != "0000-00-00" => {
                Some(s.trim().to_string())
            }
            _ => None,
        };
        for r in records.iter_mut() {
            let inactive =
                matches!(r.fields.get("status"), Some(Field::Text(s)) if s == "Inactive");
            let starts_later = text(r, "hireDate")
                .and_then(|d| parse_day(&d, DEFAULTS.date_format, self.mapping.time_zone()))
                .is_some_and(|d| d > today);
            if inactive && text(r, "terminationDate").is_none() && starts_later {
                r.fields
                    .insert("status".into(), Field::Text("Active".into()));
            }
        }
    }
}

/// One employee object as a [`VendorRecord`]: every value is a string or null (§1.2).
fn vendor_record(row: usize, e: &Value) -> VendorRecord {
    let Some(object) = e.as_object() else {
        return VendorRecord {
            row,
            fields: Default::default(),
            malformed: Some(format!("not a JSON object but {e}")),
        };
    };
    let fields = object
        .iter()
        .map(|(k, v)| {
            let field = match v {
                Value::Null => Field::Null,
                Value::String(s) => Field::Text(s.clone()),
                Value::Number(n) => Field::Text(n.to_string()),
                Value::Bool(b) => Field::Text(b.to_string()),
                other => {
                    Field::Invalid(format!("a {} where BambooHR writes a string", kind(other)))
                }
            };
            (k.clone(), field)
        })
        .collect();
    VendorRecord {
        row,
        fields,
        malformed: None,
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Array(_) => "list",
        Value::Object(_) => "object",
        _ => "value",
    }
}

#[async_trait]
impl HrSource for BambooHrSource {
    fn name(&self) -> &str {
        &self.name
    }

    async fn list(&self) -> Result<HrListing, SourceError> {
        let mut records = match self.config.listing {
            BambooHrListing::CustomReport => self.custom_report().await?,
            BambooHrListing::Dataset => self.dataset().await?,
        };
        let today = Timestamp::now()
            .to_zoned_datetime(self.mapping.time_zone().clone())
            .date();
        self.future_hires_are_active(&mut records, today);
        Ok(self.mapping.apply(&records))
    }

    async fn changed_since(&self, since: Timestamp) -> Result<Option<Vec<String>>, SourceError> {
        let since = since.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
        let url = format!("{}/v1/employees/changed", self.base);
        let key = self.api_key.expose().to_string();
        let response = self
            .http
            .send("changed employees", Idempotence::Idempotent, |c| {
                c.get(&url)
                    .query(&[("since", since.as_str())])
                    .basic_auth(&key, Some("x"))
                    .header("accept", "application/json")
            })
            .await
            .map_err(|e| self.fail(e))?;
        let answer = self.json("changed employees", response).await?;
        let employees = answer["employees"]
            .as_object()
            .ok_or_else(|| SourceError::Protocol {
                origin: self.origin(),
                what: "changed employees".into(),
                message: "employees is not an object keyed by id".into(),
            })?;
        Ok(Some(employees.keys().cloned().collect()))
    }

    fn verify_webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: Timestamp,
    ) -> Result<WebhookNotice, WebhookError> {
        let origin = "BambooHR".to_string();
        let Some(secret) = &self.webhook_secret else {
            return Err(WebhookError::NotConfigured {
                origin,
                name: self.name.clone(),
            });
        };
        let missing = |h: &str| WebhookError::MissingHeader {
            origin: origin.clone(),
            header: h.to_string(),
        };
        let signature = header(headers, "x-bamboohr-signature")
            .ok_or_else(|| missing("X-BambooHR-Signature"))?;
        let stamp = header(headers, "x-bamboohr-timestamp")
            .ok_or_else(|| missing("X-BambooHR-Timestamp"))?;
        if !hmac_sha256_hex_ok(
            secret.expose().as_bytes(),
            &[body, stamp.as_bytes()],
            signature,
        ) {
            return Err(WebhookError::BadSignature {
                origin,
                header: "X-BambooHR-Signature".into(),
            });
        }
        // Checked after the signature, so an unsigned request learns nothing about clocks.
        let signed_at = parse_timestamp(stamp).ok_or_else(|| WebhookError::Malformed {
            origin: origin.clone(),
            message: format!("X-BambooHR-Timestamp \"{stamp}\" is not a time"),
        })?;
        let age = age_secs(signed_at, now);
        if age.unsigned_abs() > self.config.webhook_tolerance_secs {
            return Err(WebhookError::Stale {
                origin,
                signed_at: signed_at.to_string(),
                age_secs: age,
                tolerance_secs: self.config.webhook_tolerance_secs,
            });
        }
        let payload: Value = serde_json::from_slice(body).map_err(|e| WebhookError::Malformed {
            origin: origin.clone(),
            message: e.to_string(),
        })?;
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        let id_text = |v: &Value| {
            v.as_str()
                .map(str::to_string)
                .or_else(|| v.as_u64().map(|n| n.to_string()))
        };
        // Event-based (§1.5, recommended) or the legacy field-based shape.
        if let Some(event) = payload["type"].as_str() {
            return Ok(WebhookNotice {
                event: event.to_string(),
                employee_ids: id_text(&payload["data"]["employeeId"])
                    .into_iter()
                    .collect(),
                changed_fields: strings(&payload["data"]["changedFields"]),
            });
        }
        if let Some(employees) = payload["employees"].as_array() {
            return Ok(WebhookNotice {
                event: "employee_with_fields.updated".into(),
                employee_ids: employees.iter().filter_map(|e| id_text(&e["id"])).collect(),
                changed_fields: employees
                    .iter()
                    .flat_map(|e| strings(&e["changedFields"]))
                    .collect(),
            });
        }
        Err(WebhookError::Malformed {
            origin,
            message: "neither an event (type, data) nor a field-based delivery (employees)".into(),
        })
    }
}
