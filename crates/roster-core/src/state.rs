//! Systems, accounts, entitlements, grants and the actual state read from a target.

use std::collections::{BTreeSet, HashMap};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Something an account can hold in a system.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entitlement {
    /// Membership of a group.
    Group { group: String },
    /// A space permission held directly by the account (not through a group).
    SpacePermission { space: String, operation: String },
    /// A product licence.
    Licence { product: String },
}

impl Entitlement {
    pub fn group(name: impl Into<String>) -> Self {
        Entitlement::Group { group: name.into() }
    }
    pub fn space(space: impl Into<String>, operation: impl Into<String>) -> Self {
        Entitlement::SpacePermission {
            space: space.into(),
            operation: operation.into(),
        }
    }
    pub fn licence(product: impl Into<String>) -> Self {
        Entitlement::Licence {
            product: product.into(),
        }
    }
}

impl std::fmt::Display for Entitlement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Entitlement::Group { group } => write!(f, "group {group}"),
            Entitlement::SpacePermission { space, operation } => {
                write!(f, "space {space}: {operation}")
            }
            Entitlement::Licence { product } => write!(f, "licence {product}"),
        }
    }
}

/// A space permission held by a group, managed by the policy's `[[spaces]]` tables.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct GroupSpacePermission {
    pub group: String,
    pub space: String,
    pub operation: String,
}

/// Space permission operations as written in policy: `operation[:target]`, target
/// defaulting to `space` (Confluence's `read`/`space`, `create`/`page`, ...).
pub const SPACE_OPERATIONS: &[&str] = &[
    "read",
    "administer",
    "export",
    "restrict_content",
    "delete_own",
    "archive",
    "create:page",
    "delete:page",
    "create:blogpost",
    "delete:blogpost",
    "create:comment",
    "delete:comment",
    "create:attachment",
    "delete:attachment",
];

/// The operation that every other space permission depends on (Confluence requires read first).
pub const READ: &str = "read";

/// An entitlement given outside rules: an approved request or an exception. Always has an owner
/// and a reason; usually an expiry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub id: String,
    pub employee_id: String,
    pub entitlement: Entitlement,
    pub owner: String,
    pub reason: String,
    #[serde(default)]
    pub starts_at: Option<Timestamp>,
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
}

impl Grant {
    pub fn is_in_force(&self, now: Timestamp) -> bool {
        self.starts_at.is_none_or(|s| s <= now) && self.expires_at.is_none_or(|e| now < e)
    }
}

/// A person's (or an orphan's) identity inside one system, as read from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The system's own id for the account (accountId, userKey, SCIM id).
    pub external_id: String,
    /// The HR employee id Roster stored on the account (SCIM externalId), when known.
    pub employee_id: Option<String>,
    pub email: String,
    pub display_name: String,
    pub active: bool,
    #[serde(default)]
    pub last_active: Option<Timestamp>,
    #[serde(default)]
    pub entitlements: BTreeSet<Entitlement>,
}

/// What a target holds right now.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActualState {
    pub accounts: Vec<Account>,
    pub groups: BTreeSet<String>,
    pub group_space_permissions: BTreeSet<GroupSpacePermission>,
}

/// A connected app or directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct System {
    pub name: String,
    pub kind: String,
}

/// Accounts of an actual state indexed for matching: by employee id first, then by e-mail.
pub struct AccountIndex<'a> {
    // Hash maps: built and probed once per account per plan, 100,000 accounts at a time.
    by_employee_id: HashMap<&'a str, usize>,
    by_email: HashMap<String, Vec<usize>>,
    accounts: &'a [Account],
}

impl<'a> AccountIndex<'a> {
    pub fn new(accounts: &'a [Account]) -> Self {
        let mut by_employee_id = HashMap::with_capacity(accounts.len());
        let mut by_email: HashMap<String, Vec<usize>> = HashMap::with_capacity(accounts.len());
        for (i, a) in accounts.iter().enumerate() {
            if let Some(id) = a.employee_id.as_deref() {
                by_employee_id.entry(id).or_insert(i);
            }
            by_email
                .entry(crate::person::normalise_email(&a.email))
                .or_default()
                .push(i);
        }
        AccountIndex {
            by_employee_id,
            by_email,
            accounts,
        }
    }

    /// Finds the account of a person. An account linked to another employee id is never taken,
    /// even if the e-mail matches: that is a conflict to report, not a match.
    pub fn find(&self, employee_id: &str, email: &str) -> AccountMatch<'a> {
        if let Some(&i) = self.by_employee_id.get(employee_id) {
            return AccountMatch::Linked(&self.accounts[i]);
        }
        let email = crate::person::normalise_email(email);
        if let Some(idx) = self.by_email.get(&email) {
            let unlinked: Vec<&Account> = idx
                .iter()
                .map(|&i| &self.accounts[i])
                .filter(|a| a.employee_id.is_none())
                .collect();
            if let Some(a) = unlinked.first() {
                return AccountMatch::ByEmail(a);
            }
            return AccountMatch::Conflict(&self.accounts[idx[0]]);
        }
        AccountMatch::None
    }
}

pub enum AccountMatch<'a> {
    Linked(&'a Account),
    ByEmail(&'a Account),
    /// An account with this e-mail exists but belongs to another employee id.
    Conflict(&'a Account),
    None,
}
