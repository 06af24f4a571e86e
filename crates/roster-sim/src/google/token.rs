//! Google's OAuth token endpoint for service accounts (JWT bearer grant, RFC 7523; reference
//! §11.1): the assertion's RS256 signature is checked against the service account's key, its
//! claims against the account, and the scopes against what domain-wide delegation allows.
//!
//! The key is a fixed test key (`test_key.pem`, generated for this simulator and worthless
//! anywhere else): RSA keys cannot be generated with `ring`, and a fixed key keeps the
//! service-account JSON the simulator hands out the same from run to run.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, RsaKeyPair, UnparsedPublicKey};
use serde_json::{Value, json};

use super::state::{App, Grant, json_response};

/// PKCS #8, PEM: the private key of the simulated service account. Test material only.
pub const TEST_KEY_PEM: &str = include_str!("test_key.pem");
pub const KEY_ID: &str = "5f0c6b1e2a9d4c7b8e3f10a2b4c6d8e0f1a3b5c7";

pub fn test_key() -> std::io::Result<RsaKeyPair> {
    let b64: String = TEST_KEY_PEM
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let der = STANDARD
        .decode(b64)
        .map_err(|e| std::io::Error::other(format!("test key: {e}")))?;
    RsaKeyPair::from_pkcs8(&der).map_err(|e| std::io::Error::other(format!("test key: {e}")))
}

/// The key file a Cloud console would let one download for the service account.
pub fn key_file(app_cfg: &super::state::Config) -> Value {
    json!({
        "type": "service_account",
        "project_id": "acme-roster",
        "private_key_id": KEY_ID,
        "private_key": TEST_KEY_PEM,
        "client_email": app_cfg.client_email,
        "client_id": app_cfg.client_id,
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": app_cfg.token_url,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "universe_domain": "googleapis.com",
    })
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    json_response(
        status,
        &json!({"error": error, "error_description": description}),
    )
}

fn invalid_grant(description: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", description)
}

/// The claims of a correctly signed assertion.
fn verified(app: &App, assertion: &str) -> Result<Value, Response> {
    let parts: Vec<&str> = assertion.split('.').collect();
    let [header, claims, signature] = parts.as_slice() else {
        return Err(invalid_grant("Invalid JWT: the assertion is not a JWT."));
    };
    let decode = |s: &str| -> Result<Vec<u8>, Response> {
        URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| invalid_grant("Invalid JWT: segments must be base64url."))
    };
    let header: Value = serde_json::from_slice(&decode(header)?)
        .map_err(|_| invalid_grant("Invalid JWT: the header is not JSON."))?;
    if header["alg"] != "RS256" {
        return Err(invalid_grant("Invalid JWT: alg must be RS256."));
    }
    let public = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, app.key.public().as_ref());
    let signed = format!("{}.{}", parts[0], parts[1]);
    if public
        .verify(signed.as_bytes(), &decode(signature)?)
        .is_err()
    {
        return Err(invalid_grant("Invalid JWT Signature."));
    }
    serde_json::from_slice(&decode(claims)?)
        .map_err(|_| invalid_grant("Invalid JWT: the claims are not JSON."))
}

pub async fn token(State(app): State<App>, Form(form): Form<HashMap<String, String>>) -> Response {
    let grant = form.get("grant_type").map(String::as_str).unwrap_or("");
    if grant != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            &format!("Invalid grant_type: {grant}"),
        );
    }
    let claims = match verified(
        &app,
        form.get("assertion").map(String::as_str).unwrap_or(""),
    ) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let cfg = &app.cfg;
    if claims["iss"] != cfg.client_email.as_str() {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "The OAuth client was not found.",
        );
    }
    if claims["aud"] != cfg.token_url.as_str() {
        return invalid_grant("Invalid JWT audience: it must be the token endpoint's URL.");
    }
    let now = jiff::Timestamp::now().as_second();
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap_or(0),
        claims["exp"].as_i64().unwrap_or(0),
    );
    if exp <= now || iat > now + 300 || exp - iat > 3600 {
        return invalid_grant(
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.",
        );
    }
    let subject = claims["sub"]
        .as_str()
        .unwrap_or(&cfg.client_email)
        .to_string();
    if app.account().user(&subject).is_none() {
        return invalid_grant("Invalid email or User ID");
    }
    let scopes: Vec<String> = claims["scope"]
        .as_str()
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    if scopes.is_empty() || !scopes.iter().all(|s| cfg.delegated_scopes.contains(s)) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized_client",
            "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.",
        );
    }
    let token = format!("ya29.{}", crate::random_secret());
    app.account().tokens.insert(
        token.clone(),
        Grant {
            scopes,
            subject,
            expires: Instant::now() + Duration::from_secs(3599),
        },
    );
    json_response(
        StatusCode::OK,
        &json!({"access_token": token, "expires_in": 3599, "token_type": "Bearer"}),
    )
}
