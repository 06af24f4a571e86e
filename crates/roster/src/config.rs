//! The configuration file (`roster.toml`) and how command-line options and `ROSTER_*`
//! environment variables override it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use roster_connectors::SourceConfig;
use serde::Deserialize;

/// The database used when neither the file, `--database` nor `ROSTER_DATABASE` names one.
pub const DEFAULT_DATABASE: &str = "sqlite://roster.db";

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub database: Option<String>,
    pub policy: PathBuf,
    #[serde(default)]
    pub sources: BTreeMap<String, SourceConfig>,
    #[serde(default)]
    pub systems: BTreeMap<String, SystemConfig>,
    /// Identity providers whose account status is read (never written).
    #[serde(default)]
    pub directories: BTreeMap<String, roster_connectors::directory::DirectoryConfig>,
    #[serde(default)]
    pub apply: ApplyConfig,
    /// How accounts are matched to people across systems.
    #[serde(default)]
    pub matching: roster_core::matching::MatchOptions,
    #[serde(default)]
    pub status: StatusConfig,
}

/// `[status]`: what the status comparison counts as administrative access.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StatusConfig {
    /// Group names whose members are administrators.
    pub admin_groups: Vec<String>,
}

impl Default for StatusConfig {
    fn default() -> Self {
        StatusConfig {
            admin_groups: [
                "site-admins",
                "confluence-admins",
                "confluence-administrators",
                "administrators",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

/// A system Roster provisions into, told apart by `kind`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SystemConfig {
    /// The in-memory target, its state kept in a JSON file: for trying Roster out and tests.
    Memory {
        state_file: PathBuf,
        /// Simulated latency per write (makes a long apply observable).
        #[serde(default)]
        latency_ms: u64,
    },
    /// Confluence Cloud: Atlassian SCIM for users, Confluence REST for groups and spaces.
    ConfluenceCloud(roster_connectors::confluence_cloud::ConfluenceCloudConfig),
    /// Confluence Data Center REST API.
    ConfluenceDc(roster_connectors::confluence_dc::ConfluenceDcConfig),
    /// Any application that speaks SCIM 2.0 (users and groups).
    Scim(roster_connectors::scim_target::ScimTargetConfig),
    /// An application with no API: each step becomes a task for a person
    /// (`roster task list`, `roster task done`), announced to `webhook_url` when given.
    Manual {
        #[serde(default)]
        webhook_url: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApplyConfig {
    pub batch_size: usize,
    pub max_attempts: u32,
}

impl Default for ApplyConfig {
    fn default() -> Self {
        ApplyConfig {
            batch_size: 200,
            max_attempts: 5,
        }
    }
}

/// A configuration with every relative path resolved against the file's directory.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub file: PathBuf,
    pub config: Config,
}

impl Config {
    pub fn parse(text: &str) -> Result<Config, toml::de::Error> {
        toml::from_str(text)
    }

    /// Reads `path` and resolves its relative paths against the file's directory.
    pub fn load(path: &Path) -> Result<Loaded> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
        let mut config =
            Config::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let dir = path.parent().unwrap_or(Path::new(""));
        config.policy = resolve(dir, &config.policy);
        for source in config.sources.values_mut() {
            if let SourceConfig::Csv(csv) = source {
                csv.path = resolve(dir, &csv.path);
            }
        }
        for system in config.systems.values_mut() {
            match system {
                SystemConfig::Memory { state_file, .. } => *state_file = resolve(dir, state_file),
                SystemConfig::ConfluenceCloud(_)
                | SystemConfig::ConfluenceDc(_)
                | SystemConfig::Scim(_)
                | SystemConfig::Manual { .. } => {}
            }
        }
        if let Some(db) = &config.database {
            config.database = Some(resolve_sqlite_url(dir, db));
        }
        if config.apply.batch_size == 0 {
            bail!("{}: apply.batch_size must be at least 1", path.display());
        }
        Ok(Loaded {
            file: path.to_path_buf(),
            config,
        })
    }
}

fn resolve(dir: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() || dir.as_os_str().is_empty() {
        path.to_path_buf()
    } else {
        dir.join(path)
    }
}

/// `sqlite://relative.db` in a configuration file means relative to that file.
fn resolve_sqlite_url(dir: &Path, url: &str) -> String {
    let Some(rest) = url.strip_prefix("sqlite://") else {
        return url.to_string();
    };
    let (path, query) = rest
        .split_once('?')
        .map_or((rest, None), |(p, q)| (p, Some(q)));
    if path.is_empty() || path.starts_with('/') || path == ":memory:" {
        return url.to_string();
    }
    let full = resolve(dir, Path::new(path));
    match query {
        Some(q) => format!("sqlite://{}?{q}", full.display()),
        None => format!("sqlite://{}", full.display()),
    }
}

/// Finds the configuration: `--config`/`ROSTER_CONFIG`, else `roster.toml` in the current
/// directory when it exists.
pub fn find(explicit: Option<&Path>) -> Result<Loaded> {
    if let Some(path) = explicit {
        return Config::load(path);
    }
    let default = Path::new("roster.toml");
    if default.exists() {
        return Config::load(default);
    }
    bail!(
        "no configuration: pass --config FILE (or set ROSTER_CONFIG), or create roster.toml from \
         roster.example.toml; `roster demo` writes a working one into roster-demo/"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_configuration_parses_and_names_what_exists() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../roster.example.toml");
        let loaded = Config::load(&path).unwrap();
        let config = &loaded.config;
        assert!(config.policy.ends_with("examples/acme/policy.toml"));
        assert!(config.policy.exists(), "{}", config.policy.display());
        let Some(SourceConfig::Csv(hr)) = config.sources.get("hr") else {
            panic!("the example names a CSV source called hr");
        };
        assert!(hr.path.exists(), "{}", hr.path.display());
        assert!(matches!(
            config.systems.get("acme.atlassian.net"),
            Some(SystemConfig::Memory { .. })
        ));
        assert_eq!(config.apply, ApplyConfig::default());
        let db = config.database.as_deref().unwrap();
        assert!(
            db.starts_with("sqlite://") && db.ends_with("/roster.db"),
            "{db}"
        );
    }

    /// The commented-out HR sources in the example parse too, once uncommented.
    #[test]
    fn the_example_sources_parse_when_uncommented() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../roster.example.toml");
        let text = std::fs::read_to_string(path).unwrap();
        let start = text.find("# [sources.bamboo]").unwrap();
        let end = text.find("# Systems Roster provisions into").unwrap();
        let uncommented: String = text[start..end]
            .lines()
            .filter(|l| l.starts_with("# "))
            .map(|l| &l[2..])
            .collect::<Vec<_>>()
            .join("\n");
        let config = Config::parse(&format!("policy = \"p.toml\"\n{uncommented}\n")).unwrap();
        let Some(SourceConfig::Bamboohr(b)) = config.sources.get("bamboo") else {
            panic!("{:?}", config.sources);
        };
        assert_eq!(b.poll_interval_secs, 300);
        assert_eq!(b.mapping.time_zone, "Europe/Paris");
        let env = |k: &str| {
            (k == "ROSTER_BAMBOOHR_API_KEY" || k == "ROSTER_BAMBOOHR_WEBHOOK_KEY")
                .then(|| "x".to_string())
        };
        roster_connectors::hr::build_source("bamboo", &config.sources["bamboo"], &env).unwrap();
    }

    /// The commented-out systems in the example parse too, once uncommented.
    #[test]
    fn the_example_systems_parse_when_uncommented() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../roster.example.toml");
        let text = std::fs::read_to_string(path).unwrap();
        let start = text.find("# [systems.\"acme.atlassian.net\"]").unwrap();
        let uncommented: String = text[start..]
            .lines()
            .filter(|l| l.starts_with("# ") && !l.starts_with("#  "))
            .map(|l| &l[2..])
            .collect::<Vec<_>>()
            .join("\n");
        let config = Config::parse(&format!("policy = \"p.toml\"\n{uncommented}\n")).unwrap();
        let kinds: Vec<&str> = config
            .systems
            .values()
            .map(|s| match s {
                SystemConfig::Memory { .. } => "memory",
                SystemConfig::ConfluenceCloud(_) => "confluence_cloud",
                SystemConfig::ConfluenceDc(_) => "confluence_dc",
                SystemConfig::Scim(_) => "scim",
                SystemConfig::Manual { .. } => "manual",
            })
            .collect();
        assert_eq!(kinds.len(), 4, "{kinds:?}");
        for kind in ["confluence_cloud", "confluence_dc", "scim", "manual"] {
            assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
        }
    }

    /// The commented-out identity providers parse once uncommented, one of each kind.
    #[test]
    fn the_example_directories_parse_when_uncommented() {
        use roster_connectors::directory::DirectoryConfig;
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../roster.example.toml");
        let text = std::fs::read_to_string(path).unwrap();
        let start = text.find("# [directories.okta]").unwrap();
        let uncommented: String = text[start..]
            .lines()
            .filter(|l| l.starts_with("# ") && !l.starts_with("#  "))
            .map(|l| &l[2..])
            .collect::<Vec<_>>()
            .join("\n");
        let config = Config::parse(&format!("policy = \"p.toml\"\n{uncommented}\n")).unwrap();
        let kinds: Vec<&str> = config
            .directories
            .values()
            .map(|d| match d {
                DirectoryConfig::Okta(_) => "okta",
                DirectoryConfig::Entra(_) => "entra",
                DirectoryConfig::Google(_) => "google",
            })
            .collect();
        assert_eq!(kinds, ["entra", "google", "okta"]);
    }

    #[test]
    fn unknown_keys_are_errors_that_name_the_key() {
        let err = Config::parse("policy = \"p.toml\"\ndatabse = \"x\"\n").unwrap_err();
        assert!(err.to_string().contains("databse"), "{err}");
    }

    #[test]
    fn sqlite_urls_resolve_against_the_file() {
        let dir = Path::new("/etc/roster");
        assert_eq!(
            resolve_sqlite_url(dir, "sqlite://r.db"),
            "sqlite:///etc/roster/r.db"
        );
        assert_eq!(
            resolve_sqlite_url(dir, "sqlite:///var/r.db"),
            "sqlite:///var/r.db"
        );
        assert_eq!(
            resolve_sqlite_url(dir, "postgres://u@h/db"),
            "postgres://u@h/db"
        );
    }
}
