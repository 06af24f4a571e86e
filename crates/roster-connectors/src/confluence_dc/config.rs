//! The configuration keys and secrets of the Confluence Data Center target.

use std::collections::BTreeMap;

use roster_core::TargetError;
use serde::Deserialize;

use crate::http::HttpPolicy;

/// `[systems.NAME]` of kind `confluence_dc`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfluenceDcConfig {
    /// `https://{host}[/{context}]`; REST is under `{base_url}/rest/api`.
    pub base_url: String,
    /// Username for Basic authentication (with `password_env`).
    #[serde(default)]
    pub username: Option<String>,
    /// Environment variable holding the password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// Environment variable holding a personal access token (preferred when set).
    #[serde(default)]
    pub pat_env: Option<String>,
    /// Licence product → the group whose membership gives it.
    #[serde(default = "default_licence_groups")]
    pub licence_groups: BTreeMap<String, String>,
    #[serde(default)]
    pub http: HttpPolicy,
}

fn default_licence_groups() -> BTreeMap<String, String> {
    BTreeMap::from([("confluence".to_string(), "confluence-users".to_string())])
}

/// Secrets already read from wherever they live.
#[derive(Clone, Default)]
pub struct DcSecrets {
    pub password: Option<String>,
    pub pat: Option<String>,
}

impl std::fmt::Debug for DcSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hide = |s: &Option<String>| s.as_ref().map(|_| "***");
        f.debug_struct("DcSecrets")
            .field("password", &hide(&self.password))
            .field("pat", &hide(&self.pat))
            .finish()
    }
}

impl DcSecrets {
    /// Reads the variables the configuration names.
    pub fn from_env(config: &ConfluenceDcConfig) -> Result<Self, TargetError> {
        let read = |name: &Option<String>| -> Result<Option<String>, TargetError> {
            match name {
                None => Ok(None),
                Some(var) => std::env::var(var).map(Some).map_err(|_| {
                    TargetError::Permanent(format!(
                        "environment variable {var} (named in the Confluence DC configuration) is not set"
                    ))
                }),
            }
        };
        Ok(DcSecrets {
            password: read(&config.password_env)?,
            pat: read(&config.pat_env)?,
        })
    }
}
