//! `roster serve`: the SCIM endpoint. With a configuration file, people the identity providers
//! change are planned and applied to the configured systems as they arrive (the leaver path
//! included); without one, Roster only records them.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use async_trait::async_trait;
use jiff::Timestamp;
use roster_core::Policy;
use roster_engine::ApplyError;
use roster_server::{
    Extensions, PeopleHook, RateLimit, Server, ServerConfig, StatusApi, StatusApiError,
};
use roster_store::{ImportSummary, Store};

use super::flow::{apply_stored, plan_systems, report_apply};
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
    let config = ServerConfig {
        extensions: Extensions {
            webhooks: None,
            status,
        },
        ..config
    };
    let hook: Option<Arc<dyn PeopleHook>> = match (loaded, policy) {
        (Some(loaded), Some(policy)) if !loaded.config.systems.is_empty() => {
            Some(Arc::new(PlanAndApply {
                store: store.clone(),
                loaded,
                policy,
            }))
        }
        _ => None,
    };
    let planning = hook.is_some();
    let server = Server::bind(&args.listen, store, config, hook).await?;
    println!("roster serve: SCIM 2.0 at {}", server.scim_url());
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
    store: Arc<dyn Store>,
    loaded: Loaded,
    policy: Policy,
}

#[async_trait]
impl PeopleHook for PlanAndApply {
    async fn people_imported(&self, source: &str, summary: &ImportSummary) {
        eprintln!(
            "{source}: {} people listed ({} new, {} changed, {} no longer listed); planning",
            summary.listed, summary.added, summary.changed, summary.newly_absent
        );
        if let Err(e) = self.plan_and_apply().await {
            eprintln!("{source}: planning and applying failed: {e:#}");
        }
    }
}

impl PlanAndApply {
    async fn plan_and_apply(&self) -> Result<()> {
        let planned = plan_systems(
            &self.store,
            &self.loaded,
            &self.policy,
            None,
            Timestamp::now(),
        )
        .await?;
        for p in planned {
            if let Some(hold) = &p.plan.hold {
                eprintln!(
                    "HELD: plan {} for {}: {}\n  Review it; to go ahead: roster apply {} --confirm",
                    p.id, p.plan.system, hold.message, p.id
                );
                continue;
            }
            if p.plan.is_empty() {
                continue;
            }
            match apply_stored(&self.store, &self.loaded, &p.id, false, None).await {
                Ok(report) => {
                    report_apply(&p.plan.system, &report);
                }
                Err(ApplyError::Held(message)) => {
                    eprintln!("HELD: plan {} for {}: {message}", p.id, p.plan.system)
                }
                Err(e) => {
                    return Err(e)
                        .with_context(|| format!("applying plan {} to {}", p.id, p.plan.system));
                }
            }
        }
        Ok(())
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
