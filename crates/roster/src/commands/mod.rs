//! One module per group of commands; this one dispatches and holds what they share.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use roster_core::Policy;
use roster_engine::MemoryTarget;
use roster_store::Store;

use crate::config::{self, DEFAULT_DATABASE, Loaded, SystemConfig};
use crate::{Cli, Command};

mod audit;
mod demo;
mod flow;
mod inspect;

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
        Command::Demo { dir } => demo::run(&dir).await,
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

    pub async fn open_store(&self) -> Result<Box<dyn Store>> {
        let url = self.database_url()?;
        Ok(roster_store::open(&url).await?)
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

/// Opens the target a system's configuration describes.
pub fn open_target(name: &str, system: &SystemConfig) -> Result<MemoryTarget> {
    match system {
        SystemConfig::Memory {
            state_file,
            latency_ms,
        } => Ok(MemoryTarget::open_file(name, state_file)
            .map_err(|e| anyhow::anyhow!("system {name}: {e}"))?
            .with_latency(Duration::from_millis(*latency_ms))),
    }
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
