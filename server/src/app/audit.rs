//! The audit log: whether its chain of hashes still holds.

use super::{App, Core};
use crate::domain::access::{Caller, Role};
use crate::domain::audit::{Break, ChainCheck};
use crate::error::Result;

const VERIFY: &[Role] = &[Role::Admin, Role::Coordinator, Role::Supervisor];

/// The outcome of walking the whole chain.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainReport {
    /// Entries found intact before the first break (all, when none).
    pub intact: u64,
    pub first_break: Option<Break>,
}

impl App {
    pub async fn verify_audit_chain_as(&self, caller: &Caller) -> Result<ChainReport> {
        caller.require(VERIFY)?;
        self.verify_audit_chain().await
    }
}

impl Core {
    /// Walks the log from its first entry, a page at a time, and stops at
    /// the first entry that breaks the chain.
    pub async fn verify_audit_chain(&self) -> Result<ChainReport> {
        const PAGE: i64 = 1000;
        let mut check = ChainCheck::default();
        let mut after = 0;
        loop {
            let page = self.store.audit_entries(after, PAGE).await?;
            for e in &page {
                if let Err(b) = check.next(e) {
                    return Ok(ChainReport {
                        intact: check.checked,
                        first_break: Some(b),
                    });
                }
            }
            match page.last() {
                Some(last) if page.len() as i64 == PAGE => after = last.seq,
                _ => {
                    return Ok(ChainReport {
                        intact: check.checked,
                        first_break: None,
                    });
                }
            }
        }
    }
}
