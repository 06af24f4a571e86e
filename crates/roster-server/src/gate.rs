//! One SQLite writer at a time, queued in this process.
//!
//! SQLite allows a single writer; a second `BEGIN IMMEDIATE` waits in SQLite's busy handler,
//! which sleeps in growing steps (up to 100 ms) rather than being woken when the lock frees.
//! Sixteen concurrent SCIM writes then spend most of their time asleep: throughput halves and
//! the slowest writes take hundreds of milliseconds. Queuing the server's writes on an async
//! mutex first hands the lock over at once. PostgreSQL needs no gate (row locks, many writers).
//!
//! SCIM creates and updates skip the gate when the store queues them itself
//! (`ScimStore::scim_writes_queued`: SQLite's writer thread commits the writes queued together
//! in one transaction); gating them here would hand that writer one write at a time. People
//! imports skip it too (they hold the lock only to record their changes, see
//! `roster_store`'s `store_people`). Deletes and the request log still queue here.

use tokio::sync::{Mutex, MutexGuard};

pub struct WriteGate(Option<Mutex<()>>);

impl WriteGate {
    /// A gate for this backend (`sqlite` gets one; others pass straight through).
    pub fn for_backend(backend: &str) -> Self {
        WriteGate((backend == "sqlite").then(|| Mutex::new(())))
    }

    /// Held for the duration of one write.
    pub async fn enter(&self) -> Option<MutexGuard<'_, ()>> {
        match &self.0 {
            Some(m) => Some(m.lock().await),
            None => None,
        }
    }
}
