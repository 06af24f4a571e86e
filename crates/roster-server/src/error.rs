//! Every failure the SCIM endpoint answers with, as an RFC 7644 §3.12 error body.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use roster_scim::{ScimError, ScimType};
use roster_store::ScimWriteError;
use roster_store::StoreError;

use crate::SCIM_CONTENT_TYPE;

/// A SCIM error on its way to the client. Internal failures keep their cause for the server's
/// standard error and tell the client only that the server failed.
#[derive(Debug)]
pub struct ApiError {
    pub error: ScimError,
    /// Extra headers some errors need (`WWW-Authenticate`, `Retry-After`).
    pub headers: Vec<(header::HeaderName, HeaderValue)>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: u16, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        ScimError::new(status, scim_type, detail).into()
    }

    pub fn bad(scim_type: ScimType, detail: impl Into<String>) -> Self {
        ScimError::bad(scim_type, detail).into()
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        ScimError::not_found(detail).into()
    }

    /// A failure of the server itself (the database): logged here, generic to the client.
    pub fn internal(context: &str, cause: &dyn std::fmt::Display) -> Self {
        eprintln!("roster serve: {context}: {cause}");
        ApiError::new(
            500,
            None,
            format!("the server failed while {context}; see its log"),
        )
    }

    /// 401 for a missing, malformed or unknown token: the same answer whatever was wrong.
    pub fn unauthorized() -> Self {
        let mut e = ApiError::new(
            401,
            None,
            "authentication required: send a valid bearer token",
        );
        e.headers.push((
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"roster\""),
        ));
        e
    }

    pub fn status(&self) -> u16 {
        self.error.status
    }
}

impl From<ScimError> for ApiError {
    fn from(error: ScimError) -> Self {
        ApiError {
            error,
            headers: Vec::new(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ApiError::not_found(format!("{what} not found")),
            other => ApiError::internal("reading or writing the database", &other),
        }
    }
}

impl From<ScimWriteError> for ApiError {
    fn from(e: ScimWriteError) -> Self {
        match e {
            ScimWriteError::Uniqueness(detail) => {
                ApiError::new(409, Some(ScimType::Uniqueness), detail)
            }
            ScimWriteError::NotFound(id) => ApiError::not_found(format!("resource {id} not found")),
            ScimWriteError::VersionMismatch { stored } => ApiError::new(
                412,
                Some(ScimType::InvalidVers),
                format!(
                    "the resource has changed: its version is W/\"{stored}\"; read it again and retry"
                ),
            ),
            ScimWriteError::InvalidFilter(detail) => ApiError::bad(ScimType::InvalidFilter, detail),
            ScimWriteError::InvalidValue(detail) => ApiError::bad(ScimType::InvalidValue, detail),
            ScimWriteError::Store(e) => e.into(),
        }
    }
}

/// The JSON body and headers of an error, shared by HTTP answers and Bulk operation results.
pub fn error_response(error: &ScimError) -> Response {
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, error.to_json().to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(SCIM_CONTENT_TYPE),
    );
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = error_response(&self.error);
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        response
    }
}
