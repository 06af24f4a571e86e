//! `roster scim log`: what identity providers sent to the SCIM endpoint and what they got.

use std::process::ExitCode;

use anyhow::Result;

use super::Global;

pub async fn log(
    global: &Global<'_>,
    connection: Option<&str>,
    failed: bool,
    limit: u32,
    json: bool,
) -> Result<ExitCode> {
    let store = global.open_store().await?;
    let entries = store.scim_log(connection, failed, limit).await?;
    if json {
        for e in &entries {
            println!("{}", serde_json::to_string(e)?);
        }
        return Ok(ExitCode::SUCCESS);
    }
    if entries.is_empty() {
        println!(
            "No {}SCIM requests logged{}. (`roster serve` writes its log every few seconds.)",
            if failed { "failed " } else { "" },
            connection
                .map(|c| format!(" for connection {c}"))
                .unwrap_or_default()
        );
        return Ok(ExitCode::SUCCESS);
    }
    for e in &entries {
        println!(
            "{}  {}  {} {} → {} ({} ms)",
            e.at, e.connection, e.method, e.path, e.status, e.duration_ms
        );
        if let Some(body) = &e.request_body {
            println!("  request:  {body}");
        }
        if let Some(body) = &e.response_body {
            println!("  response: {body}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
