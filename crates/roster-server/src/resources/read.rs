//! The reads of Users and Groups: one resource (with `If-None-Match`), a page of one type,
//! and the root `/.search` across both (RFC 7644 §3.4).

use roster_scim::schema::ResourceType;
use roster_store::{ScimListQuery, ScimWriteError};
use serde_json::Value;

use super::{Outcome, load};
use crate::error::ApiResult;
use crate::query::{ListParams, Precondition, Projection};
use crate::render::{self, Ctx, list_response};

/// `GET /{Users|Groups}/{id}`; 304 when `If-None-Match` names the current version.
pub async fn get(
    ctx: &Ctx<'_>,
    rt: ResourceType,
    id: &str,
    projection: &Projection,
    if_none_match: Option<&Precondition>,
) -> ApiResult<Outcome> {
    let r = load(ctx, rt, id).await?;
    if if_none_match.is_some_and(|p| p.matches(r.version)) {
        return Ok(Outcome {
            status: 304,
            body: None,
            version: Some(r.version),
            location: None,
        });
    }
    Ok(Outcome {
        status: 200,
        body: Some(render::shown(ctx, &r, projection).await?),
        version: Some(r.version),
        location: Some(ctx.location(rt, id)),
    })
}

/// One page of a resource type.
pub async fn list(ctx: &Ctx<'_>, rt: ResourceType, params: &ListParams) -> ApiResult<Value> {
    let (total, page) = page(ctx, rt, params, params.start_index, params.count).await?;
    Ok(list_response(total, params.start_index, page))
}

async fn page(
    ctx: &Ctx<'_>,
    rt: ResourceType,
    params: &ListParams,
    start_index: u64,
    count: u64,
) -> ApiResult<(u64, Vec<Value>)> {
    let query = ScimListQuery {
        schemas: &ctx.app.schemas,
        filter: params.filter.as_ref(),
        sort_by: params.sort_by.as_ref(),
        descending: params.descending,
        start_index,
        count,
    };
    let (total, found) = ctx.app.store.scim_list(ctx.connection, rt, &query).await?;
    let shown = render::shown_many(ctx, rt, found, &params.projection).await?;
    Ok((total, shown))
}

/// `POST /.search` at the root: users, then groups, as one listing. A filter naming an
/// attribute only one type has simply matches nothing of the other.
pub async fn search_all(ctx: &Ctx<'_>, params: &ListParams) -> ApiResult<Value> {
    let users_total = count_matching(ctx, ResourceType::User, params).await?;
    let groups_total = count_matching(ctx, ResourceType::Group, params).await?;
    let mut resources = Vec::new();
    let start = params.start_index;
    if start <= users_total && params.count > 0 {
        let (_, users) = page(ctx, ResourceType::User, params, start, params.count).await?;
        resources.extend(users);
    }
    let wanted = params.count.saturating_sub(resources.len() as u64);
    if wanted > 0 {
        let group_start = start.saturating_sub(users_total).max(1);
        let (_, groups) = page(ctx, ResourceType::Group, params, group_start, wanted).await?;
        resources.extend(groups);
    }
    Ok(list_response(users_total + groups_total, start, resources))
}

async fn count_matching(ctx: &Ctx<'_>, rt: ResourceType, params: &ListParams) -> ApiResult<u64> {
    let query = ScimListQuery {
        schemas: &ctx.app.schemas,
        filter: params.filter.as_ref(),
        sort_by: None,
        descending: false,
        start_index: 1,
        count: 0,
    };
    match ctx.app.store.scim_list(ctx.connection, rt, &query).await {
        Ok((total, _)) => Ok(total),
        // An attribute of the other resource type: nothing of this one matches.
        Err(ScimWriteError::InvalidFilter(_)) if params.filter.is_some() => Ok(0),
        Err(e) => Err(e.into()),
    }
}
