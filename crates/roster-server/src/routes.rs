//! The HTTP handlers of `/scim/v2`: thin wrappers that parse the request, call
//! [`crate::resources`] / [`crate::discovery`] / [`crate::bulk`], and shape the answer.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use roster_scim::ScimType;
use roster_scim::schema::ResourceType;
use serde_json::Value;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::query::{Precondition, list_from_body, list_from_query, projection_from_query};
use crate::render::Ctx;
use crate::resources::Outcome;
use crate::{App, SCIM_CONTENT_TYPE, auth, bulk, discovery, reqlog, resources};

type Pairs = Result<Query<Vec<(String, String)>>, QueryRejection>;

pub fn scim(app: Arc<App>) -> Router<Arc<App>> {
    Router::new()
        .route(
            "/ServiceProviderConfig",
            get(service_provider_config).fallback(method_not_allowed),
        )
        .route(
            "/ResourceTypes",
            get(resource_types).fallback(method_not_allowed),
        )
        .route(
            "/ResourceTypes/{name}",
            get(resource_type).fallback(method_not_allowed),
        )
        .route("/Schemas", get(schemas).fallback(method_not_allowed))
        .route("/Schemas/{urn}", get(schema).fallback(method_not_allowed))
        .route("/Bulk", post(bulk_request).fallback(method_not_allowed))
        .route("/.search", post(search_all).fallback(method_not_allowed))
        .route("/Me", any(me))
        .route("/Me/{*rest}", any(me))
        .route(
            "/{kind}",
            get(list).post(create).fallback(method_not_allowed),
        )
        .route("/{kind}/.search", post(search).fallback(method_not_allowed))
        .route(
            "/{kind}/{id}",
            get(get_one)
                .put(replace)
                .patch(patch)
                .delete(delete)
                .fallback(method_not_allowed),
        )
        .fallback(not_found)
        .layer(from_fn_with_state(app.clone(), reqlog::capture))
        .layer(from_fn_with_state(app, auth::require_connection))
}

pub async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint")
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::new(405, None, "this endpoint does not support the method")
}

async fn me() -> ApiError {
    ApiError::new(
        501,
        None,
        "/Me is not implemented: a bearer token belongs to an identity-provider connection, not to a user",
    )
}

/// A JSON answer with the SCIM media type.
pub fn scim_json(status: u16, body: &Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(SCIM_CONTENT_TYPE),
    );
    response
}

fn respond(outcome: Outcome) -> Response {
    let mut response = match &outcome.body {
        Some(body) => scim_json(outcome.status, body),
        None => StatusCode::from_u16(outcome.status)
            .unwrap_or(StatusCode::NO_CONTENT)
            .into_response(),
    };
    let headers = response.headers_mut();
    if let Some(version) = outcome.version
        && let Ok(v) = HeaderValue::from_str(&crate::query::etag(version))
    {
        headers.insert(header::ETAG, v);
    }
    if outcome.status == 201
        && let Some(location) = &outcome.location
        && let Ok(v) = HeaderValue::from_str(location)
    {
        headers.insert(header::LOCATION, v);
    }
    response
}

fn result(r: ApiResult<Outcome>) -> Response {
    match r {
        Ok(outcome) => respond(outcome),
        Err(e) => e.into_response(),
    }
}

fn json(r: ApiResult<Value>) -> Response {
    match r {
        Ok(body) => scim_json(200, &body),
        Err(e) => e.into_response(),
    }
}

fn pairs(query: Pairs) -> ApiResult<Vec<(String, String)>> {
    query.map(|Query(p)| p).map_err(|e| {
        ApiError::bad(
            ScimType::InvalidValue,
            format!("the query string is malformed: {e}"),
        )
    })
}

/// `Users` or `Groups` (any case).
pub fn kind(segment: &str) -> ApiResult<ResourceType> {
    ResourceType::ALL
        .into_iter()
        .find(|rt| rt.endpoint()[1..].eq_ignore_ascii_case(segment))
        .ok_or_else(|| ApiError::not_found(format!("no such endpoint /{segment}")))
}

/// The request body as JSON, or 400 `invalidSyntax` saying where it broke.
pub fn json_body(body: &Bytes) -> ApiResult<Value> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad(
            ScimType::InvalidSyntax,
            "the request has no body; expected a JSON object",
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad(
            ScimType::InvalidSyntax,
            format!("the body is not valid JSON: {e}"),
        )
    })
}

fn precondition(headers: &HeaderMap, name: header::HeaderName) -> Option<Precondition> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(Precondition::parse)
}

async fn service_provider_config(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Arc<Caller>>,
    headers: HeaderMap,
    query: Pairs,
) -> Response {
    let ctx = Ctx::new(&app, &caller.connection, &headers);
    json(
        pairs(query)
            .and_then(|p| discovery::refuse_filter(&p))
            .map(|()| discovery::service_provider_config(&ctx)),
    )
}

async fn resource_types(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Arc<Caller>>,
    headers: HeaderMap,
    query: Pairs,
) -> Response {
    let ctx = Ctx::new(&app, &caller.connection, &headers);
    json(
        pairs(query)
            .and_then(|p| discovery::refuse_filter(&p))
            .map(|()| discovery::resource_types(&ctx)),
    )
}

async fn resource_type(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Arc<Caller>>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    let ctx = Ctx::new(&app, &caller.connection, &headers);
    json(discovery::resource_type(&ctx, &name))
}

async fn schemas(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Arc<Caller>>,
    headers: HeaderMap,
    query: Pairs,
) -> Response {
    let ctx = Ctx::new(&app, &caller.connection, &headers);
    json(
        pairs(query)
            .and_then(|p| discovery::refuse_filter(&p))
            .map(|()| discovery::schemas(&ctx)),
    )
}

async fn schema(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Arc<Caller>>,
    headers: HeaderMap,
    Path(urn): Path<String>,
) -> Response {
    let ctx = Ctx::new(&app, &caller.connection, &headers);
    json(discovery::schema(&ctx, &urn))
}

async fn list(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Arc<Caller>>,
    headers: HeaderMap,
    Path(segment): Path<String>,
    query: Pairs,
) -> Response {
    let ctx = Ctx::new(&app, &caller.connection, &headers);
    let run = async {
        let rt = kind(&segment)?;
        let params = list_from_query(&pairs(query)?, app.config.max_results)?;
        resources::list(&ctx, rt, &params).await
    };
    json(run.await)
}

async fn search(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Arc<Caller>>,
    headers: HeaderMap,
    Path(segment): Path<String>,
    body: Bytes,
) -> Response {
    let ctx = Ctx::new(&app, &caller.connection, &headers);
    let run = async {
        let rt = kind(&segment)?;
        let params = list_from_body(&json_body(&body)?, app.config.max_results)?;
        resources::list(&ctx, rt, &params).await
    };
    json(run.await)
}

async fn search_all(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Arc<Caller>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ctx = Ctx::new(&app, &caller.connection, &headers);
    let run = async {
        let params = list_from_body(&json_body(&body)?, app.config.max_results)?;
        resources::search_all(&ctx, &params).await
    };
    json(run.await)
}

async fn get_one(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Arc<Caller>>,
    headers: HeaderMap,
    Path((segment, id)): Path<(String, String)>,
    query: Pairs,
) -> Response {
    let ctx = Ctx::new(&app, &caller.connection, &headers);
    let run = async {
        let rt = kind(&segment)?;
        let projection = projection_from_query(&pairs(query)?)?;
        let if_none_match = precondition(&headers, header::IF_NONE_MATCH);
        resources::get(&ctx, rt, &id, &projection, if_none_match.as_ref()).await
    };
    result(run.await)
}

async fn create(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Arc<Caller>>,
    headers: HeaderMap,
    Path(segment): Path<String>,
    query: Pairs,
    body: Bytes,
) -> Response {
    let ctx = Ctx::new(&app, &caller.connection, &headers);
    let run = async {
        let rt = kind(&segment)?;
        let projection = projection_from_query(&pairs(query)?)?;
        resources::create(&ctx, rt, json_body(&body)?, &projection).await
    };
    result(run.await)
}

async fn replace(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Arc<Caller>>,
    headers: HeaderMap,
    Path((segment, id)): Path<(String, String)>,
    query: Pairs,
    body: Bytes,
) -> Response {
    let ctx = Ctx::new(&app, &caller.connection, &headers);
    let run = async {
        let rt = kind(&segment)?;
        let projection = projection_from_query(&pairs(query)?)?;
        let if_match = precondition(&headers, header::IF_MATCH);
        resources::replace(
            &ctx,
            rt,
            &id,
            json_body(&body)?,
            if_match.as_ref(),
            &projection,
        )
        .await
    };
    result(run.await)
}

async fn patch(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Arc<Caller>>,
    headers: HeaderMap,
    Path((segment, id)): Path<(String, String)>,
    query: Pairs,
    body: Bytes,
) -> Response {
    let ctx = Ctx::new(&app, &caller.connection, &headers);
    let run = async {
        let rt = kind(&segment)?;
        let projection = projection_from_query(&pairs(query)?)?;
        let if_match = precondition(&headers, header::IF_MATCH);
        resources::patch(
            &ctx,
            rt,
            &id,
            json_body(&body)?,
            if_match.as_ref(),
            &projection,
        )
        .await
    };
    result(run.await)
}

async fn delete(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Arc<Caller>>,
    headers: HeaderMap,
    Path((segment, id)): Path<(String, String)>,
) -> Response {
    let ctx = Ctx::new(&app, &caller.connection, &headers);
    let run = async {
        let rt = kind(&segment)?;
        let if_match = precondition(&headers, header::IF_MATCH);
        resources::delete(&ctx, rt, &id, if_match.as_ref()).await
    };
    result(run.await)
}

async fn bulk_request(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Arc<Caller>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ctx = Ctx::new(&app, &caller.connection, &headers);
    let run = async { bulk::run(&ctx, json_body(&body)?).await };
    json(run.await)
}
