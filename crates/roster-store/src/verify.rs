//! Verifying the audit chain end to end, page by page, so a million events need little memory.

use roster_core::audit::{ChainBreak, ChainVerifier};

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
        loop {
            let page = store.audit_page(verifier.count(), PAGE).await?;
            for event in &page {
                verifier.check(event)?;
            }
            progress(verifier.count());
            if page.len() < PAGE as usize {
                break;
            }
        }
        let head = store.audit_head().await?;
        // Events appended after the last page but before the head was read would look like a
        // head ahead of the log: read on until nothing follows, then judge.
        if store.audit_page(verifier.count(), 1).await?.is_empty() {
            return Ok(verifier.finish(head)?);
        }
    }
}
