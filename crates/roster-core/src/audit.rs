//! The audit chain: append-only events, each carrying the SHA-256 of the previous event and of
//! its own canonical bytes, so that any edit, insertion or deletion is detected.
//!
//! `hash = SHA-256(prev_hash ‖ body)` where `body` is the event's canonical JSON (keys in a
//! fixed order, no insignificant whitespace). The body is stored verbatim; the columns a
//! query filters on are copies, and verification checks that they agree with the body.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

/// The hash the first event points back to.
pub const GENESIS: Hash = [0; 32];

/// An event before it is given its place in the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAuditEvent {
    pub at: Timestamp,
    /// Who or what made the change: `roster apply`, `admin:alice@acme.example`, `scim:okta`.
    pub actor: String,
    /// What happened, e.g. `add to group`, `plan confirmed`.
    pub action: String,
    pub system: Option<String>,
    /// Whom or what it happened to: an e-mail, a group, a plan id.
    pub subject: String,
    /// Why, with the before/after and any ids: free-form JSON.
    pub detail: serde_json::Value,
}

/// The canonical, hashed form of an event. Field order is fixed by this struct.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditBody {
    pub seq: u64,
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub system: Option<String>,
    pub subject: String,
    pub detail: serde_json::Value,
}

/// An event as stored: its body and place in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAuditEvent {
    pub seq: u64,
    pub at_micros: i64,
    pub actor: String,
    pub action: String,
    pub system: Option<String>,
    pub subject: String,
    pub prev_hash: String,
    pub hash: String,
    pub body: String,
}

impl StoredAuditEvent {
    pub fn parsed(&self) -> Result<AuditBody, serde_json::Error> {
        serde_json::from_str(&self.body)
    }
}

pub fn chain_hash(prev: &Hash, body: &str) -> Hash {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(body.as_bytes());
    h.finalize().into()
}

/// Gives `event` sequence number `seq` after the event whose hash is `prev`.
pub fn seal(seq: u64, prev: &Hash, event: &NewAuditEvent) -> (StoredAuditEvent, Hash) {
    let body = AuditBody {
        seq,
        at: event.at,
        actor: event.actor.clone(),
        action: event.action.clone(),
        system: event.system.clone(),
        subject: event.subject.clone(),
        detail: event.detail.clone(),
    };
    // Serialising plain structs and serde_json's sorted maps cannot fail.
    let body = serde_json::to_string(&body).unwrap_or_default();
    let hash = chain_hash(prev, &body);
    (
        StoredAuditEvent {
            seq,
            at_micros: event.at.as_microsecond(),
            actor: event.actor.clone(),
            action: event.action.clone(),
            system: event.system.clone(),
            subject: event.subject.clone(),
            prev_hash: hex::encode(prev),
            hash: hex::encode(hash),
            body,
        },
        hash,
    )
}

/// Where and how the chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("audit event {expected} is missing (the next event found is {found})")]
    Missing { expected: u64, found: u64 },
    #[error("audit event {seq} was altered: its stored hash does not match its contents")]
    Altered { seq: u64 },
    #[error("audit event {seq} does not follow event {}: its previous-hash link is wrong", seq - 1)]
    Relinked { seq: u64 },
    #[error("audit event {seq} was altered: column {column} disagrees with the hashed body")]
    ColumnEdited { seq: u64, column: &'static str },
    #[error("audit event {seq} is unreadable: {message}")]
    Unreadable { seq: u64, message: String },
    #[error(
        "the audit log ends at event {last}, but the chain head records event {head}: events after {last} were deleted"
    )]
    Truncated { last: u64, head: u64 },
    #[error("the chain head does not match the last event {last}")]
    HeadMismatch { last: u64 },
}

/// The hashed body's fields that are also stored as columns.
#[derive(Deserialize)]
struct BodyColumns<'a> {
    seq: u64,
    at: Timestamp,
    #[serde(borrow)]
    actor: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    action: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    system: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    subject: std::borrow::Cow<'a, str>,
}

/// Compares a hash with its stored lower-case hex form without allocating.
fn same_hash(hash: &Hash, stored: &str) -> bool {
    let mut decoded = [0u8; 32];
    hex::decode_to_slice(stored, &mut decoded).is_ok() && &decoded == hash
}

/// Walks a chain in sequence order, one event at a time, so a million events need no memory.
pub struct ChainVerifier {
    next_seq: u64,
    prev: Hash,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self::new()
    }
}

impl ChainVerifier {
    pub fn new() -> Self {
        ChainVerifier {
            next_seq: 1,
            prev: GENESIS,
        }
    }

    /// Events checked so far.
    pub fn count(&self) -> u64 {
        self.next_seq - 1
    }

    pub fn check(&mut self, e: &StoredAuditEvent) -> Result<(), ChainBreak> {
        if e.seq != self.next_seq {
            return Err(ChainBreak::Missing {
                expected: self.next_seq,
                found: e.seq,
            });
        }
        let hash = chain_hash(&self.prev, &e.body);
        if !same_hash(&hash, &e.hash) {
            return Err(ChainBreak::Altered { seq: e.seq });
        }
        if !same_hash(&self.prev, &e.prev_hash) {
            return Err(ChainBreak::Relinked { seq: e.seq });
        }
        // Only the columns stored beside the body are compared; `detail` is skipped unparsed,
        // which keeps verifying a million events within seconds.
        let body: BodyColumns =
            serde_json::from_str(&e.body).map_err(|err| ChainBreak::Unreadable {
                seq: e.seq,
                message: err.to_string(),
            })?;
        let column = if body.seq != e.seq {
            Some("seq")
        } else if body.at.as_microsecond() != e.at_micros {
            Some("at")
        } else if body.actor != e.actor {
            Some("actor")
        } else if body.action != e.action {
            Some("action")
        } else if body.system.as_deref() != e.system.as_deref() {
            Some("system")
        } else if body.subject != e.subject {
            Some("subject")
        } else {
            None
        };
        if let Some(column) = column {
            return Err(ChainBreak::ColumnEdited { seq: e.seq, column });
        }
        self.prev = hash;
        self.next_seq += 1;
        Ok(())
    }

    /// Checks the end of the chain against the separately stored head (last seq and hash).
    pub fn finish(&self, head: Option<(u64, String)>) -> Result<u64, ChainBreak> {
        let last = self.count();
        match head {
            None if last == 0 => Ok(0),
            None => Err(ChainBreak::HeadMismatch { last }),
            Some((seq, _)) if seq > last => Err(ChainBreak::Truncated { last, head: seq }),
            Some((seq, hash)) if seq == last && hash == hex::encode(self.prev) => Ok(last),
            Some(_) => Err(ChainBreak::HeadMismatch { last }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: u64) -> Vec<StoredAuditEvent> {
        let mut prev = GENESIS;
        (1..=n)
            .map(|seq| {
                let (e, h) = seal(
                    seq,
                    &prev,
                    &NewAuditEvent {
                        at: Timestamp::from_second(1_700_000_000 + seq as i64).unwrap(),
                        actor: "test".into(),
                        action: "add to group".into(),
                        system: Some("wiki".into()),
                        subject: format!("p{seq}@acme.example"),
                        detail: serde_json::json!({"group": "eng", "seq": seq}),
                    },
                );
                prev = h;
                e
            })
            .collect()
    }

    fn verify(events: &[StoredAuditEvent]) -> Result<u64, ChainBreak> {
        let mut v = ChainVerifier::new();
        for e in events {
            v.check(e)?;
        }
        let last = events.last().unwrap();
        v.finish(Some((last.seq, last.hash.clone())))
    }

    #[test]
    fn intact_chain_verifies() {
        assert_eq!(verify(&chain(5)), Ok(5));
    }

    #[test]
    fn each_kind_of_tampering_is_named() {
        let mut c = chain(5);
        c[2].body = c[2].body.replace("eng", "admins");
        assert_eq!(verify(&c), Err(ChainBreak::Altered { seq: 3 }));

        let mut c = chain(5);
        c.remove(1);
        assert_eq!(
            verify(&c),
            Err(ChainBreak::Missing {
                expected: 2,
                found: 3
            })
        );

        let mut c = chain(5);
        c[3].subject = "someone-else@acme.example".into();
        assert_eq!(
            verify(&c),
            Err(ChainBreak::ColumnEdited {
                seq: 4,
                column: "subject"
            })
        );

        let c = chain(5);
        let mut v = ChainVerifier::new();
        for e in &c[..3] {
            v.check(e).unwrap();
        }
        assert_eq!(
            v.finish(Some((5, c[4].hash.clone()))),
            Err(ChainBreak::Truncated { last: 3, head: 5 })
        );
    }
}
