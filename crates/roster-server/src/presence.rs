//! Whether a connection has any group at all, so that reading users of a connection that
//! pushes only users (many IdP set-ups do) skips the membership query a user's `groups`
//! attribute needs: on SQLite every query is a round trip to a database thread, and the
//! `userName eq` lookup IdPs send before each create would otherwise cost two.
//!
//! The answer is remembered for [`FRESH`]; this server's own group creates and deletes update
//! it at once. Another instance sharing the database can thus create a connection's first
//! group up to [`FRESH`] before this one notices, during which its users show no `groups`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use roster_scim::schema::{ResourceType, Schemas};
use roster_store::{ScimListQuery, ScimWriteError, Store, StoreError};

/// How long an answer read from the database is trusted.
pub const FRESH: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct GroupPresence {
    known: Mutex<HashMap<String, (bool, Instant)>>,
}

impl GroupPresence {
    pub async fn has_groups(
        &self,
        store: &dyn Store,
        schemas: &Schemas,
        connection: &str,
    ) -> Result<bool, StoreError> {
        if let Some((has, at)) = self.lock().get(connection)
            && at.elapsed() < FRESH
        {
            return Ok(*has);
        }
        let query = ScimListQuery {
            schemas,
            filter: None,
            sort_by: None,
            descending: false,
            start_index: 1,
            count: 0,
        };
        let (total, _) = store
            .scim_list(connection, ResourceType::Group, &query)
            .await
            .map_err(|e| match e {
                ScimWriteError::Store(e) => e,
                other => StoreError::Invalid(other.to_string()),
            })?;
        let has = total > 0;
        self.lock()
            .insert(connection.to_string(), (has, Instant::now()));
        Ok(has)
    }

    /// A group was created: the connection has groups from now on.
    pub fn created(&self, connection: &str) {
        self.lock()
            .insert(connection.to_string(), (true, Instant::now()));
    }

    /// A group was deleted: it may have been the last one; ask the database next time.
    pub fn deleted(&self, connection: &str) {
        self.lock().remove(connection);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (bool, Instant)>> {
        self.known.lock().unwrap_or_else(|p| p.into_inner())
    }
}
