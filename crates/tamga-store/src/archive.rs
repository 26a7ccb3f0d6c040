//! Storage for the electronic archive (the logic is in `tamga-archive`): documents with their
//! metadata, salted ledger commitment and evidence record; contents apart, deleted on disposal.

use sqlx::Row;

use crate::{Store, StoreError};

/// An archived document's row (without its content).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchivedRow {
    /// Id.
    pub document_id: String,
    /// SHA-256 of the content.
    pub sha256: Vec<u8>,
    /// Content length.
    pub size_bytes: i64,
    /// File name.
    pub file_name: String,
    /// Media type.
    pub media_type: String,
    /// Title.
    pub title: String,
    /// Who created it (organisation or person).
    pub creator: String,
    /// Classification (records schedule class).
    pub classification: String,
    /// Kept until (ms).
    pub retention_until_ms: i64,
    /// Ingested (ms).
    pub ingested_at_ms: i64,
    /// The ledger log its commitment is in.
    pub ledger_log: String,
    /// Its index there.
    pub ledger_index: i64,
    /// The commitment's salt.
    pub salt: Vec<u8>,
    /// DER RFC 4998 evidence record (none until its batch is time-stamped).
    pub evidence: Option<Vec<u8>>,
    /// When the evidence record must be renewed (ms).
    pub renew_by_ms: Option<i64>,
    /// Disposed of (ms).
    pub disposed_at_ms: Option<i64>,
    /// Why.
    pub disposal_reason: Option<String>,
    /// The disposal's ledger index.
    pub disposal_ledger_index: Option<i64>,
}

/// `SELECT <every column> FROM archive_documents <rest>`, as the static string sqlx wants.
macro_rules! select {
    ($rest:literal) => {
        concat!(
            "SELECT document_id, sha256, size_bytes, file_name, media_type, title, creator, \
             classification, retention_until_ms, ingested_at_ms, ledger_log, ledger_index, salt, \
             evidence, renew_by_ms, disposed_at_ms, disposal_reason, disposal_ledger_index \
             FROM archive_documents ",
            $rest
        )
    };
}

fn row(r: &sqlx::any::AnyRow) -> Result<ArchivedRow, StoreError> {
    Ok(ArchivedRow {
        document_id: r.try_get(0)?,
        sha256: r.try_get(1)?,
        size_bytes: r.try_get(2)?,
        file_name: r.try_get(3)?,
        media_type: r.try_get(4)?,
        title: r.try_get(5)?,
        creator: r.try_get(6)?,
        classification: r.try_get(7)?,
        retention_until_ms: r.try_get(8)?,
        ingested_at_ms: r.try_get(9)?,
        ledger_log: r.try_get(10)?,
        ledger_index: r.try_get(11)?,
        salt: r.try_get(12)?,
        evidence: r.try_get(13)?,
        renew_by_ms: r.try_get(14)?,
        disposed_at_ms: r.try_get(15)?,
        disposal_reason: r.try_get(16)?,
        disposal_ledger_index: r.try_get(17)?,
    })
}

impl Store {
    /// Records documents and their contents in one transaction: all or none.
    pub async fn archive_insert_many(
        &self,
        docs: &[(ArchivedRow, Vec<u8>)],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        for (d, content) in docs {
            sqlx::query(
                "INSERT INTO archive_documents (document_id, sha256, size_bytes, file_name, \
                 media_type, title, creator, classification, retention_until_ms, ingested_at_ms, \
                 ledger_log, ledger_index, salt) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(d.document_id.clone())
            .bind(d.sha256.clone())
            .bind(d.size_bytes)
            .bind(d.file_name.clone())
            .bind(d.media_type.clone())
            .bind(d.title.clone())
            .bind(d.creator.clone())
            .bind(d.classification.clone())
            .bind(d.retention_until_ms)
            .bind(d.ingested_at_ms)
            .bind(d.ledger_log.clone())
            .bind(d.ledger_index)
            .bind(d.salt.clone())
            .execute(&mut *tx)
            .await?;
            sqlx::query("INSERT INTO archive_contents (document_id, content) VALUES ($1, $2)")
                .bind(d.document_id.clone())
                .bind(content.clone())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Documents still waiting for their first evidence record, oldest first: (id, SHA-256).
    pub async fn archive_pending(&self, limit: i64) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let rows = sqlx::query(
            "SELECT document_id, sha256 FROM archive_documents WHERE evidence IS NULL \
             ORDER BY ingested_at_ms, document_id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    /// Stores evidence records (new or renewed) in one transaction: (id, DER, renew by ms).
    pub async fn archive_set_evidence(
        &self,
        records: &[(String, Vec<u8>, i64)],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        for (id, der, renew_by) in records {
            sqlx::query(
                "UPDATE archive_documents SET evidence = $2, renew_by_ms = $3 WHERE document_id = $1",
            )
            .bind(id.clone())
            .bind(der.clone())
            .bind(*renew_by)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Kept documents whose evidence must be renewed before `before_ms`, soonest first:
    /// (id, DER evidence record).
    pub async fn archive_due(
        &self,
        before_ms: i64,
        limit: i64,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let rows = sqlx::query(
            "SELECT document_id, evidence FROM archive_documents \
             WHERE disposed_at_ms IS NULL AND evidence IS NOT NULL AND renew_by_ms < $1 \
             ORDER BY renew_by_ms, document_id LIMIT $2",
        )
        .bind(before_ms)
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    /// Kept documents with evidence after `after` (by id), for a hash-tree renewal of all:
    /// (id, DER evidence record, content).
    pub async fn archive_kept_page(
        &self,
        after: &str,
        limit: i64,
    ) -> Result<Vec<(String, Vec<u8>, Vec<u8>)>, StoreError> {
        let rows = sqlx::query(
            "SELECT d.document_id, d.evidence, c.content FROM archive_documents d \
             JOIN archive_contents c ON c.document_id = d.document_id \
             WHERE d.disposed_at_ms IS NULL AND d.evidence IS NOT NULL AND d.document_id > $1 \
             ORDER BY d.document_id LIMIT $2",
        )
        .bind(after.to_owned())
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect()
    }

    /// One document's row.
    pub async fn archive_get(&self, id: &str) -> Result<Option<ArchivedRow>, StoreError> {
        let r = sqlx::query(select!("WHERE document_id = $1"))
            .bind(id.to_owned())
            .fetch_optional(self.reader())
            .await?;
        r.as_ref().map(row).transpose()
    }

    /// Documents, newest first (at most `limit`).
    pub async fn archive_list(&self, limit: i64) -> Result<Vec<ArchivedRow>, StoreError> {
        let rows = sqlx::query(select!(
            "ORDER BY ingested_at_ms DESC, document_id LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(row).collect()
    }

    /// A document's content (none once disposed of).
    pub async fn archive_content(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let r = sqlx::query("SELECT content FROM archive_contents WHERE document_id = $1")
            .bind(id.to_owned())
            .fetch_optional(self.reader())
            .await?;
        Ok(r.map(|r| r.try_get(0)).transpose()?)
    }

    /// Records a disposal and deletes the content, if the document is not disposed of yet;
    /// `false` when it was.
    pub async fn archive_dispose(
        &self,
        id: &str,
        at_ms: i64,
        reason: &str,
        ledger_index: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query(
            "UPDATE archive_documents SET disposed_at_ms = $2, disposal_reason = $3, \
             disposal_ledger_index = $4 WHERE document_id = $1 AND disposed_at_ms IS NULL",
        )
        .bind(id.to_owned())
        .bind(at_ms)
        .bind(reason.to_owned())
        .bind(ledger_index)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 1 {
            sqlx::query("DELETE FROM archive_contents WHERE document_id = $1")
                .bind(id.to_owned())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(n == 1)
    }
}
