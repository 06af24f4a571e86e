//! Accounts as an identity provider (Okta, Entra ID, Google Workspace) reports them: the
//! second opinion the status comparison sets beside HR and each target. Readers in
//! `roster-connectors` fill these from the vendors' APIs; nothing here talks to them.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// An account's lifecycle state in a directory, folded from the vendor's own values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DirectoryStatus {
    /// The person can sign in (Okta ACTIVE, PASSWORD_EXPIRED, LOCKED_OUT, RECOVERY; Entra
    /// `accountEnabled: true`; Google not suspended and not archived).
    Active,
    /// Created but not yet usable (Okta STAGED, PROVISIONED).
    Pending,
    /// Sign-in blocked, account kept (Okta SUSPENDED; Entra `accountEnabled: false`; Google
    /// `suspended: true` or `archived: true`).
    Suspended,
    /// Deactivated for good (Okta DEPROVISIONED).
    Deprovisioned,
}

impl DirectoryStatus {
    /// Whether the account still lets someone in (what an active leaver is about).
    pub fn can_sign_in(self) -> bool {
        matches!(self, DirectoryStatus::Active)
    }
}

/// One account of an identity provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryAccount {
    /// The directory's own id (Okta user id, Entra object id, Google user id).
    pub id: String,
    /// What the person signs in with (Okta `profile.login`, Entra `userPrincipalName`,
    /// Google `primaryEmail`).
    pub login: String,
    /// The e-mail address, when the directory has one apart from the login.
    #[serde(default)]
    pub email: Option<String>,
    /// The HR employee id the directory holds (Okta `profile.employeeNumber`, Entra
    /// `employeeId`, Google `externalIds` of type `organization`), when it holds one.
    #[serde(default)]
    pub employee_id: Option<String>,
    #[serde(default)]
    pub display_name: String,
    pub status: DirectoryStatus,
    /// The vendor's own status text (`SUSPENDED`, `accountEnabled=false`, ...), for display.
    #[serde(default)]
    pub vendor_status: String,
    #[serde(default)]
    pub last_sign_in: Option<Timestamp>,
    /// Names of the groups the account belongs to.
    #[serde(default)]
    pub groups: Vec<String>,
}
