//! `roster serve`: the SCIM endpoint. With a configuration file, people the identity providers
//! change are planned and applied to the configured systems as they arrive (the leaver path
//! included); without one, Roster only records them.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, bail};
use async_trait::async_trait;
use jiff::Timestamp;
use roster_core::Policy;
use roster_server::{
    Extensions, PeopleHook, RateLimit, Server, ServerConfig, StatusApi, StatusApiError,
};
use roster_store::{ImportSummary, Store};

use super::sync::{Syncer, Webhooks};
use super::{Global, load_policy};
use crate::ServeArgs;
use crate::config::{self, Loaded};

pub async fn run(global: &Global<'_>, args: &ServeArgs) -> Result<ExitCode> {
    let non_negative = |v: f64| v.is_finite() && v >= 0.0;
    if !non_negative(args.people_sync_interval) || !non_negative(args.rate_limit) {
        bail!("--people-sync-interval and --rate-limit must be zero or more");
    }
    let store = global.open_store().await?;
    let loaded = match global.config {
        Some(path) => Some(config::Config::load(path)?),
        None if std::path::Path::new("roster.toml").exists() => Some(config::find(None)?),
        None => None,
    };
    let policy = match &loaded {
        Some(l) => Some(load_policy(&l.config.policy)?),
        None => None,
    };
    if let Ok(token) = std::env::var("ROSTER_SCIM_BOOTSTRAP_TOKEN")
        && !token.trim().is_empty()
    {
        roster_server::ensure_bootstrap(store.as_ref(), token.trim()).await?;
    }
    let config = ServerConfig {
        public_url: args.public_url.clone(),
        rate_limit: RateLimit {
            per_second: args.rate_limit,
            burst: args.rate_burst.unwrap_or(args.rate_limit * 2.0),
        },
        log_keep: args.log_keep.max(1),
        custom_attributes: policy
            .as_ref()
            .map(|p| p.custom_attributes.iter().cloned().collect())
            .unwrap_or_default(),
        admin_token: std::env::var("ROSTER_ADMIN_TOKEN")
            .ok()
            .filter(|t| !t.trim().is_empty()),
        people_sync_interval: Duration::from_secs_f64(args.people_sync_interval),
        ..ServerConfig::default()
    };
    let status: Option<Arc<dyn StatusApi>> = match (&loaded, &policy) {
        (Some(loaded), Some(policy)) => Some(Arc::new(StatusReport {
            store: store.clone(),
            loaded: loaded.clone(),
            policy: policy.clone(),
        })),
        _ => None,
    };
    // With a configuration: the sync loop (polls and webhooks) and plan → apply after SCIM
    // pushes, through one Syncer so that no two cycles overlap.
    let syncer = match (loaded, policy) {
        (Some(loaded), Some(policy)) => Some(Arc::new(Syncer::new(store.clone(), loaded, policy)?)),
        _ => None,
    };
    let (wake, woken) = tokio::sync::mpsc::unbounded_channel();
    let config = ServerConfig {
        extensions: Extensions {
            webhooks: syncer.as_ref().map(|s| {
                Arc::new(Webhooks {
                    syncer: s.clone(),
                    wake,
                }) as Arc<dyn roster_server::WebhookSink>
            }),
            status,
        },
        ..config
    };
    let hook: Option<Arc<dyn PeopleHook>> = syncer
        .as_ref()
        .filter(|s| s.has_systems())
        .map(|s| Arc::new(PlanAndApply { syncer: s.clone() }) as Arc<dyn PeopleHook>);
    let sources = syncer.as_ref().map_or(0, |s| s.source_count());
    if let Some(s) = &syncer {
        tokio::spawn(s.clone().run(woken));
    }
    let planning = hook.is_some();
    let server = Server::bind(&args.listen, store, config, hook).await?;
    println!("roster serve: SCIM 2.0 at {}", server.scim_url());
    if sources > 0 {
        let root = server
            .scim_url()
            .trim_end_matches(roster_server::SCIM_PREFIX)
            .to_string();
        eprintln!(
            "syncing {sources} HR source(s): polled at their intervals; webhooks at {root}/webhooks/SOURCE"
        );
    }
    eprintln!(
        "database {}; {}",
        roster_store::redact_url(&global.database_url()?),
        if planning {
            "people changed by identity providers are planned and applied to the configured systems"
        } else {
            "no systems configured: people are recorded, nothing is applied"
        }
    );
    server.run(shutdown()).await?;
    eprintln!("roster serve: stopped");
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C or SIGTERM.
async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

/// Plans every configured system after an identity provider changed people, and applies the
/// plans the safety check does not hold, the way `roster apply` does.
struct PlanAndApply {
    syncer: Arc<Syncer>,
}

#[async_trait]
impl PeopleHook for PlanAndApply {
    async fn people_imported(&self, source: &str, summary: &ImportSummary) {
        eprintln!(
            "{source}: {} people listed ({} new, {} changed, {} no longer listed); planning",
            summary.listed, summary.added, summary.changed, summary.newly_absent
        );
        for e in self.syncer.plan_and_apply().await.errors {
            eprintln!("{source}: {e}");
        }
    }
}

/// `GET /api/status`: the same report as `roster status --json`, read live.
struct StatusReport {
    store: Arc<dyn Store>,
    loaded: Loaded,
    policy: Policy,
}

#[async_trait]
impl StatusApi for StatusReport {
    async fn status(&self, category: Option<&str>) -> Result<serde_json::Value, StatusApiError> {
        let category =
            match category.filter(|c| !c.trim().is_empty()) {
                None => None,
                Some(c) => Some(roster_core::status::Category::parse(c).ok_or_else(|| {
                    StatusApiError::BadRequest(format!("unknown category \"{c}\""))
                })?),
            };
        let gathered =
            super::status::gather(&self.store, &self.loaded, &self.policy, Timestamp::now())
                .await
                .map_err(|e| StatusApiError::Failed(format!("{e:#}")))?;
        let report = match category {
            Some(c) => super::status::only(gathered.report, c),
            None => gathered.report,
        };
        let mut value =
            serde_json::to_value(&report).map_err(|e| StatusApiError::Failed(e.to_string()))?;
        value["warnings"] = serde_json::json!(gathered.warnings);
        Ok(value)
    }
}
