//! `roster connect test`: one check per API the target uses, each saying ok or exactly what
//! is wrong and how to fix it.

use reqwest::Method;
use serde_json::Value;

use super::ConfluenceCloudTarget;
use super::wire::User;
use crate::check::{ConnectionCheck, check, explain};
use crate::http::{HttpError, Idempotence};
use crate::scim_client::{ListResponse, ScimUser};

impl ConfluenceCloudTarget {
    /// Checks every API the target uses: the Confluence API token (`user/current`), the SCIM
    /// directory key, group listing, space listing and, when configured, the org admin API.
    pub async fn check_connection(&self) -> Vec<ConnectionCheck> {
        let email = &self.config.email;
        let token_rejected = format!(
            "API token rejected for {email}: check {} and that the token belongs to {email} and has not expired",
            self.config.api_token_env
        );
        let mut checks = Vec::new();

        let current = self.wiki.current_user().await;
        checks.push(check(
            "Confluence API token",
            match &current {
                Ok(User {
                    account_id,
                    display_name,
                    ..
                }) if !account_id.is_empty() => Ok(format!(
                    "authenticated as {} ({account_id})",
                    display_name.as_deref().unwrap_or(email)
                )),
                Ok(_) => Err(format!(
                    "{} answered as an anonymous user: {token_rejected}",
                    self.config.site_url
                )),
                Err(e) => Err(explain(
                    e,
                    &token_rejected,
                    &format!("{email} may not use Confluence"),
                )),
            },
        ));

        let scim: Result<ListResponse<ScimUser>, HttpError> =
            self.scim.page("/Users", None, 1, 1).await;
        checks.push(check(
            "SCIM directory",
            match scim {
                Ok(page) => Ok(format!("directory answers; {} user(s) provisioned", page.total_results)),
                Err(e) if e.status() == Some(404) => Err(format!(
                    "no such directory at {}: check scim_base_url ({e})",
                    self.config.scim_base_url
                )),
                Err(e) => Err(explain(
                    &e,
                    &format!(
                        "directory API key rejected: check {} (the key is shown once when user provisioning is set up, and regenerating it invalidates the old one)",
                        self.config.scim_key_env
                    ),
                    "the directory API key may not call the provisioning API (Atlassian Guard is required)",
                )),
            },
        ));

        let groups: Result<Value, HttpError> = self
            .wiki
            .get("list groups", "/wiki/rest/api/group?start=0&limit=1")
            .await;
        checks.push(check(
            "Confluence groups",
            match groups {
                Ok(_) => Ok("groups can be listed".into()),
                Err(e) => Err(explain(
                    &e,
                    &token_rejected,
                    &format!("{email} may not read groups: the account must be a site admin (member of site-admins) to change groups"),
                )),
            },
        ));

        let spaces: Result<Value, HttpError> = self
            .wiki
            .get("list spaces", "/wiki/api/v2/spaces?limit=1")
            .await;
        checks.push(check(
            "Confluence spaces",
            match spaces {
                Ok(v) if v["results"].as_array().is_some_and(|r| r.is_empty()) => Err(format!(
                    "{email} sees no spaces: space permissions can only be read and changed in spaces where it is a space admin"
                )),
                Ok(_) => Ok("spaces can be listed".into()),
                Err(e) => Err(explain(
                    &e,
                    &token_rejected,
                    &format!("{email} may not list spaces: it needs Confluence access and space admin on the managed spaces"),
                )),
            },
        ));

        if let Some(c) = self.check_org().await {
            checks.push(c);
        }
        checks
    }

    async fn check_org(&self) -> Option<ConnectionCheck> {
        let c = &self.config;
        let name = "Organization admin API";
        let configured = [
            c.admin_api_url.is_some(),
            c.org_id.is_some(),
            c.org_key_env.is_some(),
        ];
        if configured.iter().all(|x| !x) {
            return None;
        }
        let (Some(url), Some(org), Some(key)) = (&c.admin_api_url, &c.org_id, &self.org_key) else {
            return Some(check(
                name,
                Err("admin_api_url, org_id and org_key_env must be set together".into()),
            ));
        };
        let path = format!(
            "{}/admin/v1/orgs/{}/users",
            url.trim_end_matches('/'),
            crate::scim_client::path_segment(org)
        );
        let result: Result<Value, HttpError> = self
            .wiki
            .http
            .json(
                "list the organization's managed accounts",
                Idempotence::Idempotent,
                |client| {
                    client
                        .request(Method::GET, &path)
                        .bearer_auth(key)
                        .header(reqwest::header::ACCEPT, "application/json")
                },
            )
            .await;
        Some(check(
            name,
            match result {
                Ok(v) => Ok(match v.pointer("/meta/total").and_then(Value::as_u64) {
                    Some(n) => format!("organization {org} answers; {n} managed account(s)"),
                    None => format!("organization {org} answers"),
                }),
                Err(e) if e.status() == Some(404) => {
                    Err(format!("no organization {org}: check org_id ({e})"))
                }
                Err(e) => Err(explain(
                    &e,
                    &format!(
                        "organization API key rejected: check {}",
                        c.org_key_env.as_deref().unwrap_or("org_key_env")
                    ),
                    &format!(
                        "the organization API key may not read the accounts of organization {org} (use an unscoped key or add the read:accounts:admin scope)"
                    ),
                )),
            },
        ))
    }
}
