//! Discovery (RFC 7644 §4): `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas`. Rendered
//! from the same schema definitions and limits the server enforces.

use roster_scim::schema::ResourceType;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::render::{Ctx, list_response};

pub const SERVICE_PROVIDER_CONFIG: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";

/// RFC 7644 §4: these endpoints take no filter, and a filter SHOULD get 403.
pub fn refuse_filter(pairs: &[(String, String)]) -> ApiResult<()> {
    if pairs.iter().any(|(k, _)| k.eq_ignore_ascii_case("filter")) {
        return Err(ApiError::new(
            403,
            None,
            "discovery endpoints do not support filtering (RFC 7644 §4)",
        ));
    }
    Ok(())
}

pub fn service_provider_config(ctx: &Ctx<'_>) -> Value {
    let config = &ctx.app.config;
    json!({
        "schemas": [SERVICE_PROVIDER_CONFIG],
        "patch": {"supported": true},
        "bulk": {
            "supported": true,
            "maxOperations": config.max_operations,
            "maxPayloadSize": config.max_payload_size,
        },
        "filter": {"supported": true, "maxResults": config.max_results},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "One long-lived bearer token per identity-provider connection (RFC 6750).",
            "specUri": "https://www.rfc-editor.org/info/rfc6750",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{}/ServiceProviderConfig", ctx.base),
        },
    })
}

fn resource_type_json(ctx: &Ctx<'_>, rt: ResourceType) -> Value {
    rt.to_json(&format!("{}/ResourceTypes/{}", ctx.base, rt.name()))
}

pub fn resource_types(ctx: &Ctx<'_>) -> Value {
    let all: Vec<Value> = ResourceType::ALL
        .into_iter()
        .map(|rt| resource_type_json(ctx, rt))
        .collect();
    list_response(all.len() as u64, 1, all)
}

pub fn resource_type(ctx: &Ctx<'_>, name: &str) -> ApiResult<Value> {
    ResourceType::from_name(name)
        .map(|rt| resource_type_json(ctx, rt))
        .ok_or_else(|| ApiError::not_found(format!("no resource type \"{name}\" (User, Group)")))
}

pub fn schemas(ctx: &Ctx<'_>) -> Value {
    let all: Vec<Value> = ctx
        .app
        .schemas
        .all()
        .into_iter()
        .map(|s| s.to_json(&format!("{}/Schemas/{}", ctx.base, s.id)))
        .collect();
    list_response(all.len() as u64, 1, all)
}

pub fn schema(ctx: &Ctx<'_>, urn: &str) -> ApiResult<Value> {
    ctx.app
        .schemas
        .by_id(urn)
        .map(|s| s.to_json(&format!("{}/Schemas/{}", ctx.base, s.id)))
        .ok_or_else(|| ApiError::not_found(format!("no schema \"{urn}\"")))
}
