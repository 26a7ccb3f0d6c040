//! Storage for the exchange (the logic is in `tamga-exchange`; this is only SQL): the
//! registry's versioned state, gateways' message-log records and their accountability batches.

use sqlx::Row;

use crate::{Store, StoreError, now_ms};

/// One message-log record to insert.
#[derive(Debug, Clone)]
pub struct RecordRow {
    /// Gateway (member id) that logged it.
    pub gateway: String,
    /// `X-Road-Id`.
    pub x_road_id: String,
    /// `consumer` or `provider`.
    pub side: &'static str,
    /// Client subsystem.
    pub client: String,
    /// Service id.
    pub service: String,
    /// HTTP status returned.
    pub status: i64,
    /// When (ms).
    pub at_ms: i64,
    /// Data subject of a personal-data exchange.
    pub subject: Option<String>,
    /// Hidden from the subject until (ms).
    pub disclose_after_ms: Option<i64>,
    /// The record (JSON text, hashed as stored).
    pub record: String,
    /// SHA-256 of `record`.
    pub record_hash: Vec<u8>,
    /// SHA-256 of the record's tracker entry, when personal.
    pub access_commitment: Option<Vec<u8>>,
}

/// A stored record.
#[derive(Debug, Clone)]
pub struct StoredRecord {
    /// Sequence number within the gateway's log.
    pub seq: i64,
    /// `consumer` or `provider`.
    pub side: String,
    /// When (ms).
    pub at_ms: i64,
    /// The record text.
    pub record: String,
    /// SHA-256 of the record.
    pub record_hash: Vec<u8>,
    /// Data subject, when personal.
    pub subject: Option<String>,
    /// SHA-256 of the tracker entry, when personal.
    pub access_commitment: Option<Vec<u8>>,
}

/// A record waiting for its batch.
#[derive(Debug, Clone)]
pub struct PendingRecord {
    /// Sequence number.
    pub seq: i64,
    /// When (ms).
    pub at_ms: i64,
    /// SHA-256 of the record.
    pub record_hash: Vec<u8>,
    /// SHA-256 of its tracker entry, when personal.
    pub access_commitment: Option<Vec<u8>>,
}

/// A stored batch.
#[derive(Debug, Clone)]
pub struct BatchRow {
    /// First record.
    pub first_seq: i64,
    /// Last record.
    pub last_seq: i64,
    /// Merkle root of the records' hashes.
    pub root: Vec<u8>,
    /// RFC 3161 token over the root.
    pub tsa_token: Vec<u8>,
    /// Ledger indices, 8 bytes each.
    pub exchange_indices: Vec<u8>,
    /// Access-log indices, 8 bytes each.
    pub access_indices: Vec<u8>,
}

fn record_of(r: &sqlx::any::AnyRow) -> Result<StoredRecord, StoreError> {
    Ok(StoredRecord {
        seq: r.try_get("seq")?,
        side: r.try_get("side")?,
        at_ms: r.try_get("at_ms")?,
        record: r.try_get("record")?,
        record_hash: r.try_get("record_hash")?,
        subject: r.try_get("subject")?,
        access_commitment: r.try_get("access_commitment")?,
    })
}

const RECORD_COLUMNS: &str = "seq, side, at_ms, record, record_hash, subject, access_commitment";

/// Bound values per inserted record.
const RECORD_INSERT_COLUMNS: usize = 13;

/// Rows per insert statement, largest first.
const RECORD_SHAPES: [usize; 4] = [64, 16, 4, 1];

fn record_insert_sql(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO exchange_records (gateway, seq, x_road_id, side, client, service, status, at_ms, subject, disclose_after_ms, record, record_hash, access_commitment) VALUES ",
    );
    for i in 0..rows {
        if i > 0 {
            sql.push(',');
        }
        sql.push('(');
        for c in 0..RECORD_INSERT_COLUMNS {
            if c > 0 {
                sql.push(',');
            }
            sql.push_str(&format!("${}", i * RECORD_INSERT_COLUMNS + c + 1));
        }
        sql.push(')');
    }
    sql
}

impl Store {
    /// The registry's latest (version, state), if any.
    pub async fn registry_latest(&self) -> Result<Option<(i64, String)>, StoreError> {
        let row = sqlx::query(
            "SELECT version, state FROM exchange_registry ORDER BY version DESC LIMIT 1",
        )
        .fetch_optional(self.reader())
        .await?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
    }

    /// Stores the registry's next version after `previous`; `Ok(false)` if someone else
    /// stored it first (the caller retries on the newer state).
    pub async fn registry_put(
        &self,
        previous: i64,
        state: &str,
        actor: &str,
        why: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let latest: i64 = sqlx::query("SELECT COALESCE(MAX(version), 0) FROM exchange_registry")
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        if latest != previous {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO exchange_registry (version, state, actor, why, created_at_ms) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(previous + 1)
        .bind(state.to_owned())
        .bind(actor.to_owned())
        .bind(why.to_owned())
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The registry's change history, newest first: (version, actor, why, at ms).
    pub async fn registry_history(
        &self,
        limit: i64,
    ) -> Result<Vec<(i64, String, String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT version, actor, why, created_at_ms FROM exchange_registry ORDER BY version DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
            .collect()
    }

    /// The highest record sequence number of a gateway (0 if none).
    pub async fn exchange_last_seq(&self, gateway: &str) -> Result<i64, StoreError> {
        Ok(
            sqlx::query("SELECT COALESCE(MAX(seq), 0) FROM exchange_records WHERE gateway = $1")
                .bind(gateway.to_owned())
                .fetch_one(self.reader())
                .await?
                .try_get(0)?,
        )
    }

    /// Inserts records with consecutive sequence numbers from `first_seq`, in one transaction,
    /// in multi-row statements of a few fixed sizes (each prepared once and cached), so a batch
    /// costs a handful of statements rather than one per record.
    pub async fn exchange_insert_records(
        &self,
        first_seq: i64,
        rows: &[RecordRow],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let mut at = 0;
        while at < rows.len() {
            let n = RECORD_SHAPES
                .iter()
                .copied()
                .find(|s| *s <= rows.len() - at)
                .unwrap_or(1);
            let sql = record_insert_sql(n);
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (i, r) in rows[at..at + n].iter().enumerate() {
                q = q
                    .bind(r.gateway.clone())
                    .bind(first_seq + (at + i) as i64)
                    .bind(r.x_road_id.clone())
                    .bind(r.side)
                    .bind(r.client.clone())
                    .bind(r.service.clone())
                    .bind(r.status)
                    .bind(r.at_ms)
                    .bind(r.subject.clone())
                    .bind(r.disclose_after_ms)
                    .bind(r.record.clone())
                    .bind(r.record_hash.clone())
                    .bind(r.access_commitment.clone());
            }
            q.execute(&mut *tx).await?;
            at += n;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The last record sequence number covered by a batch (0 if none).
    pub async fn exchange_last_batched(&self, gateway: &str) -> Result<i64, StoreError> {
        Ok(sqlx::query(
            "SELECT COALESCE(MAX(last_seq), 0) FROM exchange_batches WHERE gateway = $1",
        )
        .bind(gateway.to_owned())
        .fetch_one(self.reader())
        .await?
        .try_get(0)?)
    }

    /// Records after `after_seq`, in order, at most `limit`.
    pub async fn exchange_records_after(
        &self,
        gateway: &str,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<StoredRecord>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {RECORD_COLUMNS} FROM exchange_records WHERE gateway = $1 AND seq > $2 ORDER BY seq LIMIT $3"
        )))
        .bind(gateway.to_owned())
        .bind(after_seq)
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(record_of).collect()
    }

    /// What a batch needs of the records after `after_seq` (at most `limit`, in order):
    /// (seq, at ms, record hash, access commitment) — not the records themselves.
    pub async fn exchange_pending(
        &self,
        gateway: &str,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<PendingRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, at_ms, record_hash, access_commitment FROM exchange_records WHERE gateway = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(gateway.to_owned())
        .bind(after_seq)
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PendingRecord {
                    seq: r.try_get(0)?,
                    at_ms: r.try_get(1)?,
                    record_hash: r.try_get(2)?,
                    access_commitment: r.try_get(3)?,
                })
            })
            .collect()
    }

    /// Stores a batch.
    pub async fn exchange_insert_batch(
        &self,
        gateway: &str,
        b: &BatchRow,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO exchange_batches (gateway, first_seq, last_seq, root, tsa_token, exchange_indices, access_indices, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(gateway.to_owned())
        .bind(b.first_seq)
        .bind(b.last_seq)
        .bind(b.root.clone())
        .bind(b.tsa_token.clone())
        .bind(b.exchange_indices.clone())
        .bind(b.access_indices.clone())
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The batch covering record `seq`.
    pub async fn exchange_batch_of(
        &self,
        gateway: &str,
        seq: i64,
    ) -> Result<Option<BatchRow>, StoreError> {
        let row = sqlx::query(
            "SELECT first_seq, last_seq, root, tsa_token, exchange_indices, access_indices FROM exchange_batches \
             WHERE gateway = $1 AND first_seq <= $2 AND last_seq >= $2",
        )
        .bind(gateway.to_owned())
        .bind(seq)
        .fetch_optional(self.reader())
        .await?;
        row.map(|r| {
            Ok(BatchRow {
                first_seq: r.try_get(0)?,
                last_seq: r.try_get(1)?,
                root: r.try_get(2)?,
                tsa_token: r.try_get(3)?,
                exchange_indices: r.try_get(4)?,
                access_indices: r.try_get(5)?,
            })
        })
        .transpose()
    }

    /// Record hashes of records `first..=last` (for batch proofs).
    pub async fn exchange_hashes(
        &self,
        gateway: &str,
        first: i64,
        last: i64,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let rows = sqlx::query(
            "SELECT record_hash FROM exchange_records WHERE gateway = $1 AND seq >= $2 AND seq <= $3 ORDER BY seq",
        )
        .bind(gateway.to_owned())
        .bind(first)
        .bind(last)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    /// One record by sequence number.
    pub async fn exchange_records_by_seq(
        &self,
        gateway: &str,
        seq: i64,
    ) -> Result<Option<StoredRecord>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {RECORD_COLUMNS} FROM exchange_records WHERE gateway = $1 AND seq = $2"
        )))
        .bind(gateway.to_owned())
        .bind(seq)
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(record_of).transpose()
    }

    /// Records of one exchange (`X-Road-Id`) at a gateway.
    pub async fn exchange_records_by_id(
        &self,
        gateway: &str,
        x_road_id: &str,
    ) -> Result<Vec<StoredRecord>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {RECORD_COLUMNS} FROM exchange_records WHERE gateway = $1 AND x_road_id = $2 ORDER BY seq"
        )))
        .bind(gateway.to_owned())
        .bind(x_road_id.to_owned())
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(record_of).collect()
    }

    /// Provider-side personal-data records about `subject` at a gateway that may be disclosed
    /// at `now_ms` (delayed ones are left out until their date), newest first.
    pub async fn exchange_usage(
        &self,
        gateway: &str,
        subject: &str,
        now_ms: i64,
        limit: i64,
    ) -> Result<Vec<StoredRecord>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {RECORD_COLUMNS} FROM exchange_records WHERE subject = $1 AND gateway = $2 AND side = 'provider' \
             AND (disclose_after_ms IS NULL OR disclose_after_ms <= $3) ORDER BY seq DESC LIMIT $4"
        )))
        .bind(subject.to_owned())
        .bind(gateway.to_owned())
        .bind(now_ms)
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(record_of).collect()
    }
}
