//! `roster connect test` for Data Center: one check per API the target uses, each saying ok
//! or exactly what is wrong and how to fix it (ref §4.1, §4.3–§4.7, §4.9). Secrets are never
//! part of a detail.

use serde_json::Value;

use super::mapping::{enc, text};
use super::{Auth, ConfluenceDcTarget};
use crate::check::{ConnectionCheck, check, explain};
use crate::http::{HttpError, Idempotence};

const ADMIN_NEEDED: &str = "the account must be a Confluence administrator (member of confluence-administrators) to manage users and groups";

/// A 404 or 405 whose body is not JSON: the route does not exist on this version (ref §4.9).
fn missing_route(e: &HttpError) -> bool {
    matches!(e.status(), Some(404 | 405))
        && matches!(e, HttpError::Status { message, .. } if message.trim_start().starts_with('<'))
}

impl ConfluenceDcTarget {
    async fn probe(&self, what: &str, path: &str) -> Result<Value, HttpError> {
        let url = self.url(path);
        self.http
            .json(what, Idempotence::Idempotent, |c| self.authed(c.get(&url)))
            .await
    }

    /// What a 401 means for the credential in use.
    fn rejected(&self) -> String {
        match &self.auth {
            Auth::Bearer(_) => format!(
                "personal access token rejected: check {} (a token stops working when it expires, is revoked, or its owner is deactivated)",
                self.pat_env.as_deref().unwrap_or("pat_env")
            ),
            Auth::Basic { username, .. } => format!(
                "password rejected for {username}: check {} and that {username} can log in (after failed logins Confluence may ask for a CAPTCHA, which blocks Basic authentication until someone logs in through the browser)",
                self.password_env.as_deref().unwrap_or("password_env")
            ),
        }
    }

    /// Checks every API the target uses: the credentials (`user/current`), administrator
    /// rights, group listing and the licence groups, space listing and one space's
    /// permissions (the 9.2+ REST).
    pub async fn check_connection(&self) -> Vec<ConnectionCheck> {
        let rejected = self.rejected();
        let mut checks = Vec::new();
        let mut who = match &self.auth {
            Auth::Basic { username, .. } => username.clone(),
            Auth::Bearer(_) => "the token's owner".to_string(),
        };

        let credential = match &self.auth {
            Auth::Bearer(_) => "personal access token",
            Auth::Basic { .. } => "password",
        };
        let current = self
            .probe("read the current user", "/rest/api/user/current")
            .await;
        checks.push(check(
            "Confluence DC credentials",
            match current {
                Ok(v) if v["type"] == "anonymous" || text(&v, "username").is_empty() => Err(
                    format!("{} answered as an anonymous user: {rejected}", self.base),
                ),
                Ok(v) => {
                    who = text(&v, "username");
                    let name = text(&v, "displayName");
                    let name = if name.is_empty() { who.clone() } else { name };
                    Ok(format!(
                        "authenticated as {name} ({who}) with a {credential}"
                    ))
                }
                Err(e) => Err(explain(
                    &e,
                    &rejected,
                    &format!(
                        "{who} may not use Confluence (it needs the Can use global permission)"
                    ),
                )),
            },
        ));

        let forbidden = format!("{who} is not an administrator: {ADMIN_NEEDED}");
        let admin = match self
            .probe(
                "list active users",
                "/rest/api/admin/users/list/active?limit=1",
            )
            .await
        {
            Ok(v) => Ok(match v["totalCount"].as_u64() {
                Some(n) => format!("{who} has administrator rights; {n} active user(s)"),
                None => format!("{who} has administrator rights"),
            }),
            // Before 9.3 the admin user listing does not exist: the user list Roster reads
            // answers only to administrators too.
            Err(e) if missing_route(&e) => {
                match self
                    .probe("list users", "/rest/api/user/list?limit=1")
                    .await
                {
                    Ok(_) => Ok(format!(
                        "{who} may list users (admin user listing needs Confluence 9.3 or later)"
                    )),
                    Err(e) => Err(explain(&e, &rejected, &forbidden)),
                }
            }
            Err(e) => Err(explain(&e, &rejected, &forbidden)),
        };
        checks.push(check("Administrator rights", admin));

        let groups = match self.probe("list groups", "/rest/api/group?limit=1").await {
            Ok(_) => self.check_licence_groups().await,
            Err(e) => Err(explain(
                &e,
                &rejected,
                &format!("{who} may not list groups: {ADMIN_NEEDED}"),
            )),
        };
        checks.push(check("Confluence groups", groups));

        let mut first_space = None;
        let spaces = match self.probe("list spaces", "/rest/api/space?limit=1").await {
            Ok(v) => match v["results"].as_array().and_then(|r| r.first()) {
                Some(s) => {
                    first_space = Some(text(s, "key")).filter(|k| !k.is_empty());
                    Ok("spaces can be listed".to_string())
                }
                None => Err(format!(
                    "{who} sees no spaces: space permissions can only be read and changed in spaces it can see (make it a space admin of the managed spaces, or a Confluence administrator)"
                )),
            },
            Err(e) => Err(explain(
                &e,
                &rejected,
                &format!("{who} may not list spaces"),
            )),
        };
        checks.push(check("Confluence spaces", spaces));

        let permissions = match &first_space {
            None => Err("no space to read permissions from (see Confluence spaces)".to_string()),
            Some(key) => {
                let path = format!("/rest/api/space/{}/permissions", enc(key));
                match self
                    .probe(&format!("read the permissions of space {key}"), &path)
                    .await
                {
                    Ok(v) => Ok(format!(
                        "the permissions of space {key} can be read ({} assignment(s))",
                        v.as_array().map_or(0, Vec::len)
                    )),
                    Err(e) if missing_route(&e) => Err(format!(
                        "{} has no space permissions REST API ({path} answers HTTP {}): Roster needs Confluence Data Center 9.2 or later",
                        self.base,
                        e.status().unwrap_or_default()
                    )),
                    Err(e) if e.status() == Some(404) => Err(format!(
                        "space {key} was listed but its permissions are not found for {who} ({e})"
                    )),
                    Err(e) => Err(explain(
                        &e,
                        &rejected,
                        &format!(
                            "{who} may not read the permissions of space {key}: it must be an admin of that space or a Confluence administrator"
                        ),
                    )),
                }
            }
        };
        checks.push(check("Space permissions", permissions));
        checks
    }

    /// Every configured licence group exists.
    async fn check_licence_groups(&self) -> Result<String, String> {
        let mut found = Vec::new();
        for (product, group) in &self.licence_groups {
            let path = format!("/rest/api/group/{}", enc(group));
            match self.probe(&format!("look up group {group}"), &path).await {
                Ok(_) => found.push(group.as_str()),
                Err(e) if e.status() == Some(404) => {
                    return Err(format!(
                        "licence group {group} (licence_groups.{product}) does not exist: create it or change licence_groups"
                    ));
                }
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok(if found.is_empty() {
            "groups can be listed".to_string()
        } else {
            format!(
                "groups can be listed; licence group(s) {} exist",
                found.join(", ")
            )
        })
    }
}
