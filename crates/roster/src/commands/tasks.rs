//! `roster task list` and `roster task done`, and the webhook that announces new tasks.

use std::process::ExitCode;

use anyhow::{Result, bail};
use async_trait::async_trait;
use jiff::Timestamp;
use roster_connectors::http::{HttpClient, HttpPolicy, Idempotence};
use roster_engine::Notifier;
use roster_store::ManualTask;

use super::Global;

pub async fn list(
    global: &Global<'_>,
    system: Option<&str>,
    all: bool,
    json: bool,
) -> Result<ExitCode> {
    let store = global.open_store().await?;
    let tasks = store.manual_tasks(system, !all).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&tasks)?);
        return Ok(ExitCode::SUCCESS);
    }
    if tasks.is_empty() {
        println!("No {}manual tasks.", if all { "" } else { "open " });
        return Ok(ExitCode::SUCCESS);
    }
    for t in &tasks {
        let state = match (&t.done_by, t.done_at) {
            (Some(by), Some(at)) => format!("done by {by} at {at}"),
            _ => format!("open since {}", t.created_at),
        };
        println!("{:>5}  {:<20} {}  [{state}]", t.id, t.system, t.description);
    }
    if !all {
        println!("\nWhen one is done: roster task done ID --by YOUR-EMAIL");
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn done(global: &Global<'_>, id: u64, by: &str, note: Option<&str>) -> Result<ExitCode> {
    if by.trim().is_empty() {
        bail!("--by must name who did the task (it goes into the audit log)");
    }
    let store = global.open_store().await?;
    let task = store
        .complete_manual_task(id, by.trim(), note, Timestamp::now())
        .await?;
    println!(
        "task {id} done by {by}: {}\nThe next `roster apply` completes the step.",
        task.description
    );
    Ok(ExitCode::SUCCESS)
}

/// Posts each new task as JSON to a URL (a chat or ticketing integration).
pub struct WebhookNotifier {
    http: HttpClient,
    url: String,
}

impl WebhookNotifier {
    pub fn new(system: &str, url: &str) -> Result<Self> {
        Ok(WebhookNotifier {
            http: HttpClient::new(format!("webhook of {system}"), HttpPolicy::default())?,
            url: url.to_string(),
        })
    }
}

#[async_trait]
impl Notifier for WebhookNotifier {
    async fn task_opened(&self, task: &ManualTask) -> Result<(), String> {
        let body = serde_json::json!({
            "event": "roster.manual_task.opened",
            "task_id": task.id,
            "system": task.system,
            "description": task.description,
            "action": task.action,
            "created_at": task.created_at,
            "complete_with": format!("roster task done {} --by EMAIL", task.id),
        });
        self.http
            .send("announce a manual task", Idempotence::Idempotent, |c| {
                c.post(&self.url).json(&body)
            })
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}
