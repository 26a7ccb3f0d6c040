//! The node's audit log: security-relevant events of the node itself, group-committed.
//!
//! Not for personal data: `subject` names objects (a key label, a config key), never a person.
//! Accesses to citizens' data are recorded by the exchange's message log, with commitments only.

use sqlx::Row;
use sqlx::any::AnyArguments;
use sqlx::query::Query;

use crate::{BatchRow, GroupCommitter, Store, StoreError, now_ms};

/// One audit record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    /// When, in ms since the Unix epoch.
    pub at_ms: i64,
    /// Who: a role, an operator account, a key label.
    pub actor: String,
    /// What, as a dotted verb: `key.generated`, `node.started`.
    pub action: String,
    /// On what.
    pub subject: String,
    /// Anything else, as short text or JSON.
    pub detail: String,
}

impl AuditEvent {
    /// An event stamped now.
    pub fn now(actor: &str, action: &str, subject: &str, detail: &str) -> Self {
        Self {
            at_ms: now_ms(),
            actor: actor.into(),
            action: action.into(),
            subject: subject.into(),
            detail: detail.into(),
        }
    }
}

impl BatchRow for AuditEvent {
    const NAME: &'static str = "audit log";
    const INSERT: &'static str = "INSERT INTO audit_log (at_ms, actor, action, subject, detail)";
    const COLUMNS: usize = 5;
    fn bind(
        self,
        q: Query<'static, sqlx::Any, AnyArguments>,
    ) -> Query<'static, sqlx::Any, AnyArguments> {
        q.bind(self.at_ms)
            .bind(self.actor)
            .bind(self.action)
            .bind(self.subject)
            .bind(self.detail)
    }
}

/// Appends to and reads the audit log.
#[derive(Clone)]
pub struct AuditLog {
    store: Store,
    committer: GroupCommitter<AuditEvent>,
}

impl AuditLog {
    /// Batches of up to this many events share one commit.
    pub const DEFAULT_BATCH: usize = 256;

    /// Starts the audit writer.
    pub fn new(store: Store) -> Self {
        Self {
            committer: GroupCommitter::spawn(store.clone(), Self::DEFAULT_BATCH),
            store,
        }
    }

    /// Appends one event; returns once it is on disk.
    pub async fn record(&self, event: AuditEvent) -> Result<(), StoreError> {
        self.committer.append(event).await
    }

    /// The newest `limit` events, newest first.
    pub async fn recent(&self, limit: i64) -> Result<Vec<AuditEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT at_ms, actor, action, subject, detail FROM audit_log ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.store.reader())
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(AuditEvent {
                    at_ms: r.try_get(0)?,
                    actor: r.try_get(1)?,
                    action: r.try_get(2)?,
                    subject: r.try_get(3)?,
                    detail: r.try_get(4)?,
                })
            })
            .collect()
    }

    /// How many events are stored.
    pub async fn count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) FROM audit_log")
            .fetch_one(self.store.reader())
            .await?
            .try_get(0)?)
    }
}
