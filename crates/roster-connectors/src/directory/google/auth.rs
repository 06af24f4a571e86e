//! A Google service account acting for a Workspace admin (domain-wide delegation, reference
//! §11.1): a JWT signed RS256 with the account's key, exchanged at the token endpoint for an
//! access token (RFC 7523 JWT bearer grant). The signing is `ring`'s, already built for
//! rustls; the JWT itself is three base64url segments and needs no crate.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use serde::Deserialize;
use serde_json::{Value, json};

use super::GoogleReader;
use crate::directory::{ReaderError, detail};
use crate::http::{HttpError, Idempotence};

/// Google's token endpoint, used when the key file names none.
pub const GOOGLE_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";

/// An assertion is valid for at most an hour.
const LIFETIME_SECS: i64 = 3600;

/// The fields of a service-account key file (`"type": "service_account"`) Roster uses.
#[derive(Deserialize)]
struct KeyFile {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    client_email: String,
    private_key: String,
    #[serde(default)]
    private_key_id: Option<String>,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    token_uri: Option<String>,
}

pub struct ServiceAccount {
    pub client_email: String,
    /// The numeric OAuth client id that domain-wide delegation is granted to.
    pub client_id: Option<String>,
    pub token_uri: String,
    key_id: Option<String>,
    key: RsaKeyPair,
}

impl ServiceAccount {
    /// Reads a key file's JSON. Errors never quote the key.
    pub fn parse(json: &str) -> Result<ServiceAccount, String> {
        let file: KeyFile = serde_json::from_str(json)
            .map_err(|e| format!("not a service-account key file ({e})"))?;
        if let Some(kind) = file.kind.as_deref()
            && kind != "service_account"
        {
            return Err(format!(
                "the key file's type is {kind:?}, not \"service_account\""
            ));
        }
        let der = pem_der(&file.private_key)?;
        let key = RsaKeyPair::from_pkcs8(&der)
            .map_err(|e| format!("the key file's private_key is not an RSA key ({e})"))?;
        Ok(ServiceAccount {
            client_email: file.client_email,
            client_id: file.client_id,
            token_uri: file
                .token_uri
                .unwrap_or_else(|| GOOGLE_TOKEN_URL.to_string()),
            key_id: file.private_key_id,
            key,
        })
    }

    /// The signed JWT asking for `scopes` on behalf of `subject`, to be sent to `audience`
    /// (the token endpoint), issued at `now` (seconds since the epoch).
    pub fn assertion(
        &self,
        subject: &str,
        scopes: &[&str],
        audience: &str,
        now: i64,
    ) -> Result<String, String> {
        let mut header = json!({"alg": "RS256", "typ": "JWT"});
        if let Some(kid) = &self.key_id {
            header["kid"] = json!(kid);
        }
        let claims = json!({
            "iss": self.client_email,
            "sub": subject,
            "scope": scopes.join(" "),
            "aud": audience,
            "iat": now,
            "exp": now + LIFETIME_SECS,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| "cannot sign the assertion with the service-account key".to_string())?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }
}

/// How the reader gets its access tokens.
pub(super) enum Auth {
    Token {
        value: String,
        env: String,
    },
    Delegated {
        account: Box<ServiceAccount>,
        subject: String,
        token_url: String,
        env: String,
        cached: tokio::sync::Mutex<Option<(String, Instant)>>,
    },
}

/// The key file's JSON: the variable's value, or the file it names.
pub(super) fn key_json(system: &str, var: &str, value: &str) -> Result<String, ReaderError> {
    if value.trim_start().starts_with('{') {
        return Ok(value.to_string());
    }
    std::fs::read_to_string(value).map_err(|e| ReaderError::Config {
        system: system.to_string(),
        message: format!(
            "{var} holds neither a service-account key (JSON) nor the path of a readable key file: {value}: {e}"
        ),
    })
}

impl GoogleReader {
    /// An access token; a delegated one is fetched afresh with `refresh`.
    pub(super) async fn token(&self, refresh: bool) -> Result<String, ReaderError> {
        match &self.auth {
            Auth::Token { value, .. } => Ok(value.clone()),
            Auth::Delegated { cached, .. } => {
                let mut cached = cached.lock().await;
                if !refresh
                    && let Some((t, _)) = cached.as_ref().filter(|(_, at)| *at > Instant::now())
                {
                    return Ok(t.clone());
                }
                let (token, lifetime) = self.exchange(&self.scopes()).await?;
                *cached = Some((
                    token.clone(),
                    Instant::now() + Duration::from_secs(lifetime.saturating_sub(60)),
                ));
                Ok(token)
            }
        }
    }

    /// The JWT-bearer exchange for `scopes`: the token and its lifetime in seconds.
    pub(super) async fn exchange(&self, scopes: &[&str]) -> Result<(String, u64), ReaderError> {
        let Auth::Delegated {
            account,
            subject,
            token_url,
            env,
            ..
        } = &self.auth
        else {
            return Err(self.protocol("no service account configured".into()));
        };
        let assertion = account
            .assertion(
                subject,
                scopes,
                token_url,
                jiff::Timestamp::now().as_second(),
            )
            .map_err(|e| ReaderError::Config {
                system: self.system.clone(),
                message: format!("{env}: {e}"),
            })?;
        let body = crate::directory::form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", &assertion),
        ]);
        let answer: Result<Value, HttpError> = self
            .http
            .json("get an access token", Idempotence::Idempotent, |c| {
                c.post(token_url)
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .header(ACCEPT, "application/json")
                    .body(body.clone())
            })
            .await;
        let answer = answer.map_err(|e| self.exchange_refused(&e, scopes))?;
        let token = answer["access_token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                self.protocol(format!("{token_url} answered without an access_token"))
            })?;
        Ok((
            token.to_string(),
            answer["expires_in"].as_u64().unwrap_or(3599),
        ))
    }

    pub(super) fn exchange_refused(&self, e: &HttpError, scopes: &[&str]) -> ReaderError {
        let Auth::Delegated {
            account,
            subject,
            env,
            ..
        } = &self.auth
        else {
            return self.protocol(e.to_string());
        };
        let text = detail(e);
        let system = self.system.clone();
        let client = account
            .client_id
            .clone()
            .unwrap_or_else(|| account.client_email.clone());
        if text.contains("unauthorized_client") {
            let names: Vec<&str> = scopes
                .iter()
                .map(|s| s.trim_start_matches("https://www.googleapis.com/auth/"))
                .collect();
            ReaderError::Permission {
                system,
                message: format!(
                    "Google: domain-wide delegation missing scope {}: in the Admin console (Security → Access and data control → API controls → Domain-wide delegation) allow client {client} these scopes ({text})",
                    names.join(" and/or ")
                ),
            }
        } else if text.contains("Invalid JWT Signature") {
            ReaderError::Credentials {
                system,
                message: format!(
                    "Google rejected the service-account key in {env} (deleted or disabled?): create a new key for {} ({text})",
                    account.client_email
                ),
            }
        } else if text.contains("invalid_grant") {
            ReaderError::Credentials {
                system,
                message: format!(
                    "Google refused to let {} act as {subject}: check subject is an existing admin of the domain ({text})",
                    account.client_email
                ),
            }
        } else {
            match e {
                HttpError::Unavailable { .. } | HttpError::Uncertain { .. } => {
                    ReaderError::Unavailable {
                        system,
                        message: e.to_string(),
                    }
                }
                _ => ReaderError::Credentials {
                    system,
                    message: format!("Google refused the service-account credentials: {text}"),
                },
            }
        }
    }
}

/// The DER inside a PEM `PRIVATE KEY` block (PKCS #8, as Google's key files hold).
fn pem_der(pem: &str) -> Result<Vec<u8>, String> {
    let body = pem
        .split("-----BEGIN PRIVATE KEY-----")
        .nth(1)
        .and_then(|rest| rest.split("-----END PRIVATE KEY-----").next())
        .ok_or("the key file's private_key is not a PEM \"PRIVATE KEY\" block")?;
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD
        .decode(b64)
        .map_err(|_| "the key file's private_key is not valid base64".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_key_files_say_what_is_wrong_without_quoting_the_key() {
        let e = ServiceAccount::parse("{}").err().unwrap();
        assert!(e.contains("not a service-account key file"), "{e}");
        let e = ServiceAccount::parse(
            r#"{"type":"authorized_user","client_email":"a","private_key":"x"}"#,
        )
        .err()
        .unwrap();
        assert!(e.contains("authorized_user"), "{e}");
        let e = ServiceAccount::parse(
            r#"{"type":"service_account","client_email":"a","private_key":"secret-bits"}"#,
        )
        .err()
        .unwrap();
        assert!(e.contains("PEM") && !e.contains("secret-bits"), "{e}");
    }
}
