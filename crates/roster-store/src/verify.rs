//! Verifying the audit chain end to end, page by page, so a million events need little memory.

use roster_core::audit::{ChainBreak, ChainVerifier, StoredAuditEvent};

use crate::{Store, StoreError};

/// Events read per page while verifying.
const PAGE: u32 = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The chain is broken: an event was altered, removed or relinked, or the tail was cut.
    #[error(transparent)]
    Broken(#[from] ChainBreak),
    /// The store could not be read; nothing is known about the chain.
    #[error("cannot verify the audit chain: {0}")]
    Store(#[from] StoreError),
}

/// Walks the whole chain in sequence order and checks its end against the stored head.
/// `progress` gets the number of events checked so far after each page. Returns the number of
/// events in the intact chain.
pub async fn verify_audit(
    store: &dyn Store,
    mut progress: impl FnMut(u64),
) -> Result<u64, VerifyError> {
    let mut verifier = ChainVerifier::new();
    loop {
        verifier = verify_from(store, verifier, &mut progress).await?;
        let head = store.audit_head().await?;
        // Events appended after the last page but before the head was read would look like a
        // head ahead of the log: read on until nothing follows, then judge.
        if store.audit_page(verifier.count(), 1).await?.is_empty() {
            return Ok(verifier.finish(head)?);
        }
    }
}

/// Reads every event after those `verifier` has checked and checks them. Reading (and
/// decoding rows) happens here while a blocking thread hashes the pages already read, so
/// the two use both cores.
async fn verify_from(
    store: &dyn Store,
    mut verifier: ChainVerifier,
    progress: &mut impl FnMut(u64),
) -> Result<ChainVerifier, VerifyError> {
    let mut after = verifier.count();
    let (pages, mut inbox) = tokio::sync::mpsc::channel::<Vec<StoredAuditEvent>>(2);
    let hasher = tokio::task::spawn_blocking(move || {
        while let Some(page) = inbox.blocking_recv() {
            for event in &page {
                verifier.check(event)?;
            }
        }
        Ok::<_, ChainBreak>(verifier)
    });
    let mut read = 0;
    let outcome = loop {
        let page = match store.audit_page(after, PAGE).await {
            Ok(page) => page,
            Err(e) => break Err(e),
        };
        let last_page = page.len() < PAGE as usize;
        read += page.len() as u64;
        after = page.last().map_or(after, |e| e.seq);
        // A closed channel means the hasher stopped at a break: its result says which.
        if page.is_empty() || pages.send(page).await.is_err() {
            break Ok(());
        }
        progress(read);
        if last_page {
            break Ok(());
        }
    };
    drop(pages);
    let verifier = hasher
        .await
        .map_err(|e| StoreError::Invalid(format!("the audit hasher stopped: {e}")))??;
    outcome?;
    Ok(verifier)
}
