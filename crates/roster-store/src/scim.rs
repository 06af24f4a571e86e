//! Storage for the SCIM server: IdP connections (tokens stored only as SHA-256 hashes),
//! SCIM users and groups as JSON documents with their indexed keys, group memberships, and
//! the per-connection request log. Filters are translated to SQL here (`scim_sql`), every
//! value a bound parameter.

use async_trait::async_trait;
use jiff::Timestamp;
use roster_core::audit::NewAuditEvent;
use roster_scim::schema::{ResourceType, Schemas};
use roster_scim::{AttrPath, Filter};
use serde::{Deserialize, Serialize};

use crate::Result;

/// An identity provider allowed to push over SCIM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScimConnection {
    pub name: String,
    /// Hex SHA-256 of the bearer token (tokens are random, so a fast hash is enough).
    pub token_hash: String,
    pub created_at: Timestamp,
}

/// One SCIM user or group as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimResource {
    pub connection: String,
    pub resource_type: ResourceType,
    pub id: String,
    pub external_id: Option<String>,
    /// `userName` (users) or `displayName` (groups) as sent; unique per connection and type,
    /// case-insensitively for users.
    pub name: String,
    /// Incremented on every write; `meta.version` is `W/"<version>"`.
    pub version: i64,
    pub created: Timestamp,
    pub last_modified: Timestamp,
    /// The resource as the client sees it minus `id`, `meta` and (groups) `members`.
    /// Attribute names must be spelt as the schema spells them (`userName`, `emails`, extension
    /// attributes under the extension's URN as the schema gives it): filters look keys up
    /// exactly, as SQL JSON paths do.
    pub doc: serde_json::Value,
}

/// A member of a group (`members[].value` is the member's id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScimMember {
    pub value: String,
    /// `User` or `Group`.
    #[serde(rename = "type")]
    pub member_type: String,
    pub display: Option<String>,
}

/// A list request: filter, sort and the 1-based page.
#[derive(Debug, Clone)]
pub struct ScimListQuery<'a> {
    /// The schemas the filter and `sort_by` are resolved against (they carry the policy's
    /// custom attributes, which only the server knows).
    pub schemas: &'a Schemas,
    pub filter: Option<&'a Filter>,
    pub sort_by: Option<&'a AttrPath>,
    pub descending: bool,
    /// 1-based, as SCIM counts.
    pub start_index: u64,
    pub count: u64,
}

/// Why a write was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScimWriteError {
    #[error("{0}")]
    Uniqueness(String),
    #[error("resource {0} not found")]
    NotFound(String),
    /// `If-Match` / expected version did not match the stored version.
    #[error("version mismatch: stored version is {stored}")]
    VersionMismatch { stored: i64 },
    /// The filter (or `sortBy`) names an attribute the store cannot evaluate, or compares in a
    /// way the attribute does not allow (400 `invalidFilter`).
    #[error("{0}")]
    InvalidFilter(String),
    /// A value the store cannot accept, such as a group member that is not a user or group of
    /// the same connection (400 `invalidValue`).
    #[error("{0}")]
    InvalidValue(String),
    #[error(transparent)]
    Store(#[from] crate::StoreError),
}

/// One request and its response, redacted before it is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScimLogEntry {
    pub id: u64,
    pub connection: String,
    pub at: Timestamp,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub request_body: Option<String>,
    pub response_body: Option<String>,
    pub duration_ms: u64,
}

/// Every write appends its audit event in the same transaction, so the audit log holds each
/// SCIM write exactly once.
#[async_trait]
pub trait ScimStore: Send + Sync {
    async fn scim_connections(&self) -> Result<Vec<ScimConnection>>;
    /// True when the store queues SCIM creates and updates itself (SQLite's single writer
    /// commits the writes queued together in one transaction), so callers should not
    /// serialise them first: that would leave the writer one write per transaction.
    fn scim_writes_queued(&self) -> bool {
        false
    }
    /// Creates the connection, or replaces its token hash if it exists.
    async fn put_scim_connection(&self, connection: &ScimConnection) -> Result<()>;

    /// Inserts a new resource (version 1). `Uniqueness` when the name is taken.
    async fn scim_create(
        &self,
        resource: &ScimResource,
        members: &[ScimMember],
        event: &NewAuditEvent,
    ) -> Result<(), ScimWriteError>;
    async fn scim_get(
        &self,
        connection: &str,
        resource_type: ResourceType,
        id: &str,
    ) -> Result<Option<ScimResource>>;
    /// Replaces the document (and for groups applies member additions and removals), setting
    /// `version = expected + 1` only if the stored version is `expected`.
    async fn scim_update(
        &self,
        resource: &ScimResource,
        expected_version: i64,
        add_members: &[ScimMember],
        remove_members: &[String],
        event: &NewAuditEvent,
    ) -> Result<(), ScimWriteError>;
    /// Deletes a resource and its memberships (as member and as group). False if absent.
    async fn scim_delete(
        &self,
        connection: &str,
        resource_type: ResourceType,
        id: &str,
        event: &NewAuditEvent,
    ) -> Result<bool>;
    /// One page of resources matching the query, and the total number matching.
    async fn scim_list(
        &self,
        connection: &str,
        resource_type: ResourceType,
        query: &ScimListQuery<'_>,
    ) -> Result<(u64, Vec<ScimResource>), ScimWriteError>;
    /// A group's members, ordered by id. `display` is the member's displayName, or its
    /// userName when it has none.
    async fn scim_members(&self, connection: &str, group_id: &str) -> Result<Vec<ScimMember>>;
    /// The members of several groups in one query (for list pages): `(group id, member)`,
    /// ordered by group id, then member id.
    async fn scim_members_of(
        &self,
        connection: &str,
        group_ids: &[String],
    ) -> Result<Vec<(String, ScimMember)>>;
    /// The groups a user is a direct member of: `(group id, displayName)`, ordered by id.
    async fn scim_groups_of(
        &self,
        connection: &str,
        user_id: &str,
    ) -> Result<Vec<(String, String)>>;
    /// The groups of several users in one query (for list pages): `(user id, group id,
    /// displayName)`, ordered by user id, then group id.
    async fn scim_groups_of_many(
        &self,
        connection: &str,
        user_ids: &[String],
    ) -> Result<Vec<(String, String, String)>>;

    /// Appends to the request log, keeping the newest `keep` entries per connection.
    async fn append_scim_log(&self, entry: &ScimLogEntry, keep: u32) -> Result<()> {
        self.append_scim_logs(std::slice::from_ref(entry), keep)
            .await
    }
    /// Appends several entries in one transaction (the server buffers its log: one write
    /// transaction per request would cap SQLite at a few thousand requests per second), then
    /// keeps the newest `keep` entries of each connection written to. `id` is assigned here.
    async fn append_scim_logs(&self, entries: &[ScimLogEntry], keep: u32) -> Result<()>;
    /// Newest first.
    async fn scim_log(
        &self,
        connection: Option<&str>,
        failed_only: bool,
        limit: u32,
    ) -> Result<Vec<ScimLogEntry>>;
}
