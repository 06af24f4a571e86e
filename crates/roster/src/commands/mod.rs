//! One module per group of commands; this one dispatches and holds what they share.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use roster_core::{Policy, Target};
use roster_engine::MemoryTarget;
use roster_store::Store;

use crate::config::{self, DEFAULT_DATABASE, Loaded, SystemConfig};
use crate::{Cli, Command};

mod audit;
mod demo;
mod flow;
mod inspect;
mod scim;
mod serve;
mod sim;
mod status;
mod sync;
mod tasks;

pub async fn run(cli: Cli) -> Result<ExitCode> {
    let Cli {
        config,
        database,
        command,
    } = cli;
    let global = Global {
        config: config.as_deref(),
        database: database.as_deref(),
    };
    match command {
        Command::Demo { dir, target } => demo::run(&dir, target).await,
        Command::Plan(args) => flow::plan(&global, &args).await,
        Command::Apply(args) => flow::apply(&global, &args).await,
        Command::Policy(crate::PolicyCommand::Check { file }) => inspect::policy_check(&file),
        Command::Audit(crate::AuditCommand::Verify) => audit::verify(&global).await,
        Command::Audit(crate::AuditCommand::Export { since, format, out }) => {
            audit::export(&global, since, format, out.as_deref()).await
        }
        Command::Access(crate::AccessCommand::At {
            time,
            person,
            space,
            system,
            json,
        }) => {
            let filter = roster_store::AccessFilter {
                email: person,
                space,
                system,
            };
            inspect::access_at(&global, time, &filter, json).await
        }
        Command::Quarantine(crate::QuarantineCommand::List { json }) => {
            inspect::quarantine_list(&global, json).await
        }
        Command::Sim { kind, args } => sim::run(kind, &args).await,
        Command::Status(args) => status::run(&global, &args).await,
        Command::Sync(args) if args.once => sync::once(&global, &args).await,
        Command::Sync(_) => sync::forever(&global).await,
        Command::Task(crate::TaskCommand::List { system, all, json }) => {
            tasks::list(&global, system.as_deref(), all, json).await
        }
        Command::Task(crate::TaskCommand::Done { id, by, note }) => {
            tasks::done(&global, id, &by, note.as_deref()).await
        }
        Command::Serve(args) => serve::run(&global, &args).await,
        Command::Scim(crate::ScimCommand::Log {
            connection,
            failed,
            limit,
            json,
        }) => scim::log(&global, connection.as_deref(), failed, limit, json).await,
        Command::Connect(crate::ConnectCommand::Test { system }) => {
            connect_test(&global, &system).await
        }
        Command::Example(crate::ExampleCommand::Generate { out, people, seed }) => {
            let company = roster_examples::write_example_dir(&out, seed, people)
                .with_context(|| format!("cannot write the example into {}", out.display()))?;
            println!(
                "wrote {} people (seed {seed}) into {}: policy.toml, hr.csv, hr-previous.csv, expected.toml, README.md",
                company.people.len(),
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The global options every command may use.
pub struct Global<'a> {
    pub config: Option<&'a Path>,
    pub database: Option<&'a str>,
}

impl Global<'_> {
    /// The configuration file, required.
    pub fn load_config(&self) -> Result<Loaded> {
        config::find(self.config)
    }

    /// The database URL: `--database`/`ROSTER_DATABASE`, else the file's, else the default.
    /// Commands that only read the database need no configuration file.
    pub fn database_url(&self) -> Result<String> {
        if let Some(url) = self.database {
            return Ok(url.to_string());
        }
        let configured = match self.config {
            Some(path) => Some(config::Config::load(path)?),
            None if Path::new("roster.toml").exists() => {
                Some(config::Config::load(Path::new("roster.toml"))?)
            }
            None => None,
        };
        Ok(configured
            .and_then(|l| l.config.database)
            .unwrap_or_else(|| DEFAULT_DATABASE.to_string()))
    }

    pub async fn open_store(&self) -> Result<Arc<dyn Store>> {
        let url = self.database_url()?;
        Ok(Arc::from(roster_store::open(&url).await?))
    }
}

/// Reads and checks the policy, or explains every problem in it.
pub fn load_policy(path: &Path) -> Result<Policy> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the policy {}", path.display()))?;
    Policy::parse(&text).map_err(|errors| {
        let lines: Vec<String> = errors
            .0
            .iter()
            .map(|e| format!("  {}:{e}", path.display()))
            .collect();
        anyhow::anyhow!(
            "the policy has {} problem(s); nothing was planned:\n{}",
            errors.0.len(),
            lines.join("\n")
        )
    })
}

/// Opens the target a system's configuration describes. Secrets come from the environment
/// variables the configuration names.
pub fn open_target(
    name: &str,
    system: &SystemConfig,
    store: &Arc<dyn Store>,
) -> Result<Box<dyn Target>> {
    Ok(match system {
        SystemConfig::Manual { webhook_url } => {
            let target = roster_engine::ManualTarget::new(name, store.clone());
            match webhook_url {
                Some(url) => Box::new(
                    target.with_notifier(Arc::new(tasks::WebhookNotifier::new(name, url)?)),
                ),
                None => Box::new(target),
            }
        }
        SystemConfig::Memory {
            state_file,
            latency_ms,
        } => Box::new(
            MemoryTarget::open_file(name, state_file)
                .map_err(|e| anyhow::anyhow!("system {name}: {e}"))?
                .with_latency(Duration::from_millis(*latency_ms)),
        ),
        SystemConfig::ConfluenceCloud(config) => Box::new(
            roster_connectors::confluence_cloud::ConfluenceCloudTarget::from_env(
                name,
                config.clone(),
            )
            .map_err(|e| anyhow::anyhow!("system {name}: {e}"))?,
        ),
        SystemConfig::ConfluenceDc(config) => Box::new(
            roster_connectors::confluence_dc::ConfluenceDcTarget::from_env(name, config.clone())
                .map_err(|e| anyhow::anyhow!("system {name}: {e}"))?,
        ),
        SystemConfig::Scim(config) => Box::new(
            roster_connectors::scim_target::ScimTarget::from_env(name, config)
                .map_err(|e| anyhow::anyhow!("system {name}: {e}"))?,
        ),
    })
}

/// `roster connect test SYSTEM`: reads the system once and, for Confluence Cloud, checks each
/// API the connector uses.
async fn connect_test(global: &Global<'_>, system: &str) -> Result<ExitCode> {
    let loaded = global.load_config()?;
    if let Some(directory) = loaded.config.directories.get(system) {
        return connect_test_directory(system, directory).await;
    }
    let (name, config) = selected_systems(&loaded, Some(system))?
        .into_iter()
        .next()
        .context("no such system")?;
    let checks = match config {
        SystemConfig::ConfluenceCloud(config) => Some(
            roster_connectors::confluence_cloud::ConfluenceCloudTarget::from_env(
                name,
                config.clone(),
            )
            .map_err(|e| anyhow::anyhow!("system {name}: {e}"))?
            .check_connection()
            .await,
        ),
        SystemConfig::ConfluenceDc(config) => Some(
            roster_connectors::confluence_dc::ConfluenceDcTarget::from_env(name, config.clone())
                .map_err(|e| anyhow::anyhow!("system {name}: {e}"))?
                .check_connection()
                .await,
        ),
        _ => None,
    };
    let mut ok = true;
    for check in checks.into_iter().flatten() {
        let mark = if check.ok { "ok  " } else { "FAIL" };
        println!("{mark}  {}: {}", check.name, check.detail);
        ok &= check.ok;
    }
    let store = global.open_store().await?;
    let target = open_target(name, config, &store)?;
    match target.read_state().await {
        Ok(state) => println!(
            "ok    read {name}: {} account(s), {} group(s), {} group space permission(s)",
            state.accounts.len(),
            state.groups.len(),
            state.group_space_permissions.len()
        ),
        Err(e) => {
            println!("FAIL  read {name}: {e}");
            ok = false;
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `roster connect test NAME` for a `[directories.NAME]`: each credential and permission
/// checked, then one full read.
async fn connect_test_directory(
    name: &str,
    config: &roster_connectors::directory::DirectoryConfig,
) -> Result<ExitCode> {
    use roster_connectors::directory::{build_reader, process_env};
    let reader = build_reader(name, config, &process_env).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut ok = true;
    for check in reader.check().await {
        let mark = if check.ok { "ok  " } else { "FAIL" };
        println!("{mark}  {}: {}", check.name, check.detail);
        ok &= check.ok;
    }
    match reader.read_accounts().await {
        Ok(listing) => {
            let can_sign_in = listing
                .accounts
                .iter()
                .filter(|a| a.status.can_sign_in())
                .count();
            println!(
                "ok    read {name}: {} account(s), {can_sign_in} able to sign in",
                listing.accounts.len()
            );
            for w in &listing.warnings {
                println!("warn  {w}");
            }
        }
        Err(e) => {
            println!("FAIL  read {name}: {e}");
            ok = false;
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The systems a command works on: `--system` or all configured ones.
pub fn selected_systems<'a>(
    loaded: &'a Loaded,
    only: Option<&str>,
) -> Result<Vec<(&'a String, &'a SystemConfig)>> {
    let systems: Vec<_> = loaded
        .config
        .systems
        .iter()
        .filter(|(name, _)| only.is_none_or(|o| o == name.as_str()))
        .collect();
    if systems.is_empty() {
        match only {
            Some(o) => bail!(
                "no system \"{o}\" in {}; configured: {}",
                loaded.file.display(),
                loaded
                    .config
                    .systems
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => bail!(
                "{} configures no [systems]; add one (see roster.example.toml)",
                loaded.file.display()
            ),
        }
    }
    Ok(systems)
}
