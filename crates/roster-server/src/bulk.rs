//! Bulk (RFC 7644 §3.7): many writes in one request, run one after the other, each in its own
//! transaction. `bulkId:<id>` anywhere in an operation's `path` or `data` stands for the
//! resource another operation of the same request creates; an operation waits until the one
//! it refers to has run, so the client's order does not matter. References that can never be
//! resolved (unknown, failed, or circular) fail with 409. `failOnErrors` stops the job after
//! that many errors; operations not run are not in the answer.

use std::collections::HashMap;

use roster_scim::ScimType;
use roster_scim::schema::ResourceType;
use serde_json::{Map, Value, json};

use crate::error::{ApiError, ApiResult};
use crate::query::{Precondition, Projection};
use crate::render::Ctx;
use crate::resources;

pub const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
pub const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

const PREFIX: &str = "bulkId:";

struct Operation {
    method: String,
    bulk_id: Option<String>,
    version: Option<String>,
    path: String,
    data: Option<Value>,
}

fn field<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    map.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn parse_operation(n: usize, value: &Value) -> ApiResult<Operation> {
    let bad =
        |what: &str| ApiError::bad(ScimType::InvalidSyntax, format!("Operations[{n}]: {what}"));
    let Value::Object(map) = value else {
        return Err(bad("must be an object"));
    };
    let text = |name: &str| field(map, name).and_then(Value::as_str).map(str::to_string);
    Ok(Operation {
        method: text("method")
            .ok_or_else(|| bad("needs a method"))?
            .to_ascii_uppercase(),
        bulk_id: text("bulkId"),
        version: text("version"),
        path: text("path").ok_or_else(|| bad("needs a path"))?,
        data: field(map, "data").cloned(),
    })
}

/// The `bulkId`s an operation refers to.
fn references(op: &Operation) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => {
                if let Some(id) = s.strip_prefix(PREFIX) {
                    out.push(id.to_string());
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            Value::Object(map) => map.values().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for segment in op.path.split('/') {
        if let Some(id) = segment.strip_prefix(PREFIX) {
            out.push(id.to_string());
        }
    }
    if let Some(data) = &op.data {
        walk(data, &mut out);
    }
    out
}

fn substitute(v: &mut Value, ids: &HashMap<String, String>) {
    match v {
        Value::String(s) => {
            if let Some(id) = s.strip_prefix(PREFIX).and_then(|b| ids.get(b)) {
                *s = id.clone();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| substitute(i, ids)),
        Value::Object(map) => map.values_mut().for_each(|i| substitute(i, ids)),
        _ => {}
    }
}

/// `/Users`, `/Groups/{id}` (leading slash optional).
fn target(path: &str) -> ApiResult<(ResourceType, Option<String>)> {
    let trimmed = path.trim_start_matches('/');
    let (kind, id) = match trimmed.split_once('/') {
        Some((k, id)) => (k, Some(id.to_string())),
        None => (trimmed, None),
    };
    let rt = crate::routes::kind(kind).map_err(|_| {
        ApiError::bad(
            ScimType::InvalidPath,
            format!("\"{path}\" names no resource type (/Users, /Groups)"),
        )
    })?;
    Ok((rt, id.filter(|i| !i.is_empty())))
}

async fn execute(ctx: &Ctx<'_>, op: Operation) -> ApiResult<resources::Outcome> {
    let (rt, id) = target(&op.path)?;
    let projection = Projection::default();
    let if_match = op.version.as_deref().map(Precondition::parse);
    let data = || {
        op.data.clone().ok_or_else(|| {
            ApiError::bad(
                ScimType::InvalidSyntax,
                format!("{} {} needs data", op.method, op.path),
            )
        })
    };
    let need_id = || {
        id.clone().ok_or_else(|| {
            ApiError::bad(
                ScimType::InvalidPath,
                format!("{} needs /{}/{{id}}", op.method, &rt.endpoint()[1..]),
            )
        })
    };
    match op.method.as_str() {
        "POST" if id.is_none() => resources::create(ctx, rt, data()?, &projection).await,
        "PUT" => {
            resources::replace(
                ctx,
                rt,
                &need_id()?,
                data()?,
                if_match.as_ref(),
                &projection,
            )
            .await
        }
        "PATCH" => {
            resources::patch(
                ctx,
                rt,
                &need_id()?,
                data()?,
                if_match.as_ref(),
                &projection,
            )
            .await
        }
        "DELETE" => resources::delete(ctx, rt, &need_id()?, if_match.as_ref()).await,
        other => Err(ApiError::bad(
            ScimType::InvalidSyntax,
            format!(
                "method {other} on {} is not a bulk operation (POST to a collection, PUT, PATCH or DELETE on a resource)",
                op.path
            ),
        )),
    }
}

fn result_json(
    method: &str,
    bulk_id: Option<&str>,
    r: &ApiResult<resources::Outcome>,
    location: Option<String>,
) -> Value {
    let mut out = json!({"method": method});
    if let Some(b) = bulk_id {
        out["bulkId"] = json!(b);
    }
    match r {
        Ok(outcome) => {
            out["status"] = json!(outcome.status.to_string());
            if let Some(l) = outcome.location.clone().or(location) {
                out["location"] = json!(l);
            }
            if let Some(v) = outcome.version {
                out["version"] = json!(crate::query::etag(v));
            }
        }
        Err(e) => {
            out["status"] = json!(e.error.status.to_string());
            if let Some(l) = location {
                out["location"] = json!(l);
            }
            out["response"] = e.error.to_json();
        }
    }
    out
}

/// `POST /Bulk`.
pub async fn run(ctx: &Ctx<'_>, body: Value) -> ApiResult<Value> {
    let Value::Object(request) = &body else {
        return Err(ApiError::bad(
            ScimType::InvalidSyntax,
            "a BulkRequest must be a JSON object",
        ));
    };
    let Some(Value::Array(raw)) = field(request, "Operations") else {
        return Err(ApiError::bad(
            ScimType::InvalidSyntax,
            "a BulkRequest needs an Operations list",
        ));
    };
    let max = ctx.app.config.max_operations;
    if raw.len() > max {
        return Err(ApiError::new(
            413,
            Some(ScimType::TooMany),
            format!(
                "the request has {} operations; at most {max} are accepted (maxOperations)",
                raw.len()
            ),
        ));
    }
    let fail_on_errors = match field(request, "failOnErrors") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_u64().filter(|n| *n >= 1).ok_or_else(|| {
            ApiError::bad(
                ScimType::InvalidValue,
                "failOnErrors must be a positive integer",
            )
        })?),
    };
    let ops: Vec<Operation> = raw
        .iter()
        .enumerate()
        .map(|(n, v)| parse_operation(n, v))
        .collect::<ApiResult<_>>()?;
    let declared: HashMap<&str, usize> = ops
        .iter()
        .enumerate()
        .filter(|(_, o)| o.method == "POST")
        .filter_map(|(i, o)| o.bulk_id.as_deref().map(|b| (b, i)))
        .collect();

    let mut results: Vec<Option<Value>> = vec![None; ops.len()];
    let mut created: HashMap<String, String> = HashMap::new();
    let mut failed_ids: Vec<String> = Vec::new();
    let mut pending: Vec<usize> = (0..ops.len()).collect();
    let mut errors = 0u64;
    let stop = |errors: u64| fail_on_errors.is_some_and(|n| errors >= n);
    'passes: while !pending.is_empty() && !stop(errors) {
        let mut progressed = false;
        let mut waiting = Vec::new();
        for i in pending {
            if stop(errors) {
                break 'passes;
            }
            let op = &ops[i];
            let refs = references(op);
            let blocked = refs.iter().find(|r| !created.contains_key(*r));
            if let Some(r) = blocked {
                let resolvable = declared.contains_key(r.as_str()) && !failed_ids.contains(r);
                if resolvable {
                    waiting.push(i);
                    continue;
                }
                let e: ApiResult<resources::Outcome> = Err(ApiError::new(
                    409,
                    Some(ScimType::InvalidValue),
                    format!(
                        "bulkId:{r} refers to no operation of this request that created a resource"
                    ),
                ));
                results[i] = Some(result_json(&op.method, op.bulk_id.as_deref(), &e, None));
                errors += 1;
                progressed = true;
                if let Some(b) = &op.bulk_id {
                    failed_ids.push(b.clone());
                }
                continue;
            }
            let mut op = Operation {
                method: op.method.clone(),
                bulk_id: op.bulk_id.clone(),
                version: op.version.clone(),
                path: op.path.clone(),
                data: op.data.clone(),
            };
            for r in &refs {
                op.path = op.path.replace(&format!("{PREFIX}{r}"), &created[r]);
            }
            if let Some(data) = &mut op.data {
                substitute(data, &created);
            }
            let (method, bulk_id) = (op.method.clone(), op.bulk_id.clone());
            let location = target(&op.path)
                .ok()
                .and_then(|(rt, id)| id.map(|id| ctx.location(rt, &id)));
            let outcome = execute(ctx, op).await;
            progressed = true;
            match &outcome {
                Ok(o) if method == "POST" => {
                    if let (Some(b), Some(id)) = (
                        &bulk_id,
                        o.location.as_deref().and_then(|l| l.rsplit('/').next()),
                    ) {
                        created.insert(b.clone(), id.to_string());
                    }
                }
                Ok(_) => {}
                Err(_) => {
                    errors += 1;
                    if let Some(b) = &bulk_id {
                        failed_ids.push(b.clone());
                    }
                }
            }
            results[i] = Some(result_json(&method, bulk_id.as_deref(), &outcome, location));
        }
        if !progressed {
            // Every operation left waits for another one left: a cycle.
            for i in waiting {
                let op = &ops[i];
                let e: ApiResult<resources::Outcome> = Err(ApiError::new(
                    409,
                    Some(ScimType::InvalidValue),
                    "circular bulkId references: this operation and the ones it refers to wait for each other",
                ));
                results[i] = Some(result_json(&op.method, op.bulk_id.as_deref(), &e, None));
            }
            break;
        }
        pending = waiting;
    }
    Ok(json!({
        "schemas": [BULK_RESPONSE],
        "Operations": results.into_iter().flatten().collect::<Vec<_>>(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_found_in_paths_and_data() {
        let op = parse_operation(
            0,
            &json!({"method": "PATCH", "path": "/Groups/bulkId:g1", "data": {"Operations": [
                {"op": "add", "path": "members", "value": [{"value": "bulkId:u1"}, {"value": "x"}]}]}}),
        )
        .unwrap();
        assert_eq!(references(&op), vec!["g1".to_string(), "u1".to_string()]);
        let mut data = op.data.unwrap();
        substitute(
            &mut data,
            &HashMap::from([("u1".to_string(), "ID1".to_string())]),
        );
        assert_eq!(data["Operations"][0]["value"][0]["value"], "ID1");
    }

    #[test]
    fn targets_name_a_collection_or_a_resource() {
        assert_eq!(target("/Users").unwrap(), (ResourceType::User, None));
        assert_eq!(
            target("Groups/abc").unwrap(),
            (ResourceType::Group, Some("abc".into()))
        );
        assert_eq!(
            target("/Nope").unwrap_err().error.scim_type,
            Some(ScimType::InvalidPath)
        );
    }
}
