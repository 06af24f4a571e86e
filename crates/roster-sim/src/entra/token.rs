//! The Microsoft identity platform's token endpoint for the client-credentials grant
//! (`POST /{tenant}/oauth2/v2.0/token`, reference §10.1), refusing what Microsoft refuses with
//! its `AADSTS` error bodies (RFC 6749 §5.2 shape plus `error_codes`, `trace_id`, ...).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::state::{App, json_response};

fn aad_error(status: StatusCode, error: &str, code: u32, description: &str) -> Response {
    let trace = uuid::Uuid::new_v4().to_string();
    let correlation = uuid::Uuid::new_v4().to_string();
    let now = jiff::Timestamp::now()
        .strftime("%Y-%m-%d %H:%M:%SZ")
        .to_string();
    json_response(
        status,
        &json!({
            "error": error,
            "error_description": format!(
                "AADSTS{code}: {description}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}\r\nTimestamp: {now}"
            ),
            "error_codes": [code],
            "timestamp": now,
            "trace_id": trace,
            "correlation_id": correlation,
            "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
        }),
    )
}

pub async fn token(
    State(app): State<App>,
    Path(tenant): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let cfg = &app.cfg;
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    if !tenant.eq_ignore_ascii_case(&cfg.tenant_id) {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            &format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        );
    }
    if field("grant_type") != "client_credentials" {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type.",
        );
    }
    if field("client_id") != cfg.client_id {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.",
                field("client_id")
            ),
        );
    }
    if field("client_secret") != cfg.client_secret {
        return aad_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            &format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{}'.",
                cfg.client_id
            ),
        );
    }
    // Client credentials take the resource's `/.default` scope, for Graph or this simulator.
    let scope = field("scope");
    let resource = scope.strip_suffix("/.default").unwrap_or("");
    if resource != "https://graph.microsoft.com" && resource != cfg.graph_url {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            70011,
            &format!(
                "The provided value for the input parameter 'scope' isn't valid. The scope {scope} isn't valid. A client credentials request must ask for the resource's /.default scope."
            ),
        );
    }
    let token = format!("eyJ0eXAiOiJKV1Qi.{}", crate::random_secret());
    let lifetime = cfg.token_lifetime_secs;
    app.tenant().tokens.insert(
        token.clone(),
        Instant::now() + Duration::from_secs(lifetime),
    );
    json_response(
        StatusCode::OK,
        &json!({
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": token,
        }),
    )
}
