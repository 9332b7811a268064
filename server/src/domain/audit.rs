//! The audit log: append-only, each entry carrying the hash of the one
//! before it, so that editing or deleting any row breaks the chain at that
//! row.

use chrono::{DateTime, SecondsFormat, Utc};
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What an entry records, before it is chained.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub subject_kind: String,
    pub subject_id: String,
    /// SHA-256 of the change as stored (the new state or the step taken).
    pub digest: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub seq: i64,
    pub record: AuditRecord,
    pub prev_hash: String,
    pub hash: String,
}

/// SHA-256 of a change, as hex.
pub fn digest_of(change: &serde_json::Value) -> String {
    hex::encode(Sha256::digest(change.to_string().as_bytes()))
}

/// The hash of entry `seq` holding `r` after `prev_hash`. Each field is
/// length-prefixed so that no two different entries hash alike.
pub fn chain_hash(seq: i64, r: &AuditRecord, prev_hash: &str) -> String {
    let mut h = Sha256::new();
    let at = r.at.to_rfc3339_opts(SecondsFormat::Micros, true);
    let seq = seq.to_string();
    for part in [
        seq.as_str(),
        at.as_str(),
        &r.actor,
        &r.action,
        &r.subject_kind,
        &r.subject_id,
        &r.digest,
        prev_hash,
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

impl AuditEntry {
    /// The entry after `prev` (None for the first).
    pub fn after(prev: Option<(i64, &str)>, record: AuditRecord) -> AuditEntry {
        let (seq, prev_hash) = match prev {
            Some((seq, hash)) => (seq + 1, hash.to_string()),
            None => (1, GENESIS.to_string()),
        };
        let hash = chain_hash(seq, &record, &prev_hash);
        AuditEntry {
            seq,
            record,
            prev_hash,
            hash,
        }
    }
}

/// The first entry at which a chain breaks, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct Break {
    pub seq: i64,
    pub reason: String,
}

/// Walks entries in order of `seq`, keeping what it needs to check the
/// next one, so that a long log is verified a page at a time.
#[derive(Debug, Default)]
pub struct ChainCheck {
    last: Option<(i64, String)>,
    pub checked: u64,
}

impl ChainCheck {
    /// Checks the next entry; the first break found is returned.
    pub fn next(&mut self, e: &AuditEntry) -> Result<(), Break> {
        let fail = |reason: String| Err(Break { seq: e.seq, reason });
        let (want_seq, want_prev) = match &self.last {
            Some((seq, hash)) => (seq + 1, hash.as_str()),
            None => (1, GENESIS),
        };
        if e.seq != want_seq {
            return fail(format!(
                "entry {want_seq} is missing: the entry after {} is {}",
                want_seq - 1,
                e.seq
            ));
        }
        if e.prev_hash != want_prev {
            return fail("its prev_hash is not the hash of the entry before it".into());
        }
        if chain_hash(e.seq, &e.record, &e.prev_hash) != e.hash {
            return fail("its content does not match its hash (the row was changed)".into());
        }
        self.last = Some((e.seq, e.hash.clone()));
        self.checked += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(action: &str) -> AuditRecord {
        AuditRecord {
            at: "2026-11-28T08:00:00Z".parse().unwrap(),
            actor: "lin".into(),
            action: action.into(),
            subject_kind: "rectification_item".into(),
            subject_id: "x".into(),
            digest: digest_of(&serde_json::json!({"a": action})),
        }
    }

    #[test]
    fn a_changed_or_missing_entry_breaks_the_chain() {
        let a = AuditEntry::after(None, record("create"));
        let b = AuditEntry::after(Some((a.seq, &a.hash)), record("submit"));
        let c = AuditEntry::after(Some((b.seq, &b.hash)), record("approve"));
        let mut check = ChainCheck::default();
        for e in [&a, &b, &c] {
            check.next(e).unwrap();
        }
        let mut edited = b.clone();
        edited.record.actor = "someone else".into();
        let mut check = ChainCheck::default();
        check.next(&a).unwrap();
        assert_eq!(check.next(&edited).unwrap_err().seq, 2);
        let mut check = ChainCheck::default();
        check.next(&a).unwrap();
        let gap = check.next(&c).unwrap_err();
        assert_eq!(gap.seq, 3);
        assert!(gap.reason.contains("entry 2 is missing"), "{}", gap.reason);
    }
}
