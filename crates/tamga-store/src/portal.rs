//! Storage for the portal's document wallet (the logic is in `tamga-portal`): documents,
//! share links by token hash, and the openings of shared links.

use sqlx::Row;

use crate::{Store, StoreError, now_ms};

/// A document in a citizen's wallet (without its content).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletDocument {
    /// Id.
    pub document_id: String,
    /// Owner's registration number.
    pub owner: String,
    /// Title, Mongolian.
    pub title_mn: String,
    /// Title, English.
    pub title_en: String,
    /// MIME type.
    pub media_type: String,
    /// File name for downloads.
    pub file_name: String,
    /// SHA-256 of the content.
    pub sha256: Vec<u8>,
    /// Who issued it.
    pub issuer: String,
    /// When it was added (ms).
    pub created_at_ms: i64,
}

/// A share link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    /// Id (shown to the owner; not the token).
    pub share_id: String,
    /// Document.
    pub document_id: String,
    /// Owner.
    pub owner: String,
    /// Whom it is for (as the owner wrote it).
    pub recipient: String,
    /// Expiry (ms).
    pub expires_at_ms: i64,
    /// Revoked at (ms).
    pub revoked_at_ms: Option<i64>,
    /// Openings so far.
    pub opens: i64,
}

const DOC_COLUMNS: &str =
    "document_id, owner, title_mn, title_en, media_type, file_name, sha256, issuer, created_at_ms";

pub(crate) fn doc(r: &sqlx::any::AnyRow) -> Result<WalletDocument, StoreError> {
    Ok(WalletDocument {
        document_id: r.try_get(0)?,
        owner: r.try_get(1)?,
        title_mn: r.try_get(2)?,
        title_en: r.try_get(3)?,
        media_type: r.try_get(4)?,
        file_name: r.try_get(5)?,
        sha256: r.try_get(6)?,
        issuer: r.try_get(7)?,
        created_at_ms: r.try_get(8)?,
    })
}

impl Store {
    /// Adds a document to a wallet.
    pub async fn wallet_put(&self, d: &WalletDocument, content: &[u8]) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO portal_documents (document_id, owner, title_mn, title_en, media_type, \
             file_name, content, sha256, issuer, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(d.document_id.clone())
        .bind(d.owner.clone())
        .bind(d.title_mn.clone())
        .bind(d.title_en.clone())
        .bind(d.media_type.clone())
        .bind(d.file_name.clone())
        .bind(content.to_vec())
        .bind(d.sha256.clone())
        .bind(d.issuer.clone())
        .bind(d.created_at_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A citizen's documents, newest first.
    pub async fn wallet_of(&self, owner: &str) -> Result<Vec<WalletDocument>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {DOC_COLUMNS} FROM portal_documents WHERE owner = $1 \
             ORDER BY created_at_ms DESC, document_id"
        )))
        .bind(owner.to_owned())
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(doc).collect()
    }

    /// A document and its content, if `owner` owns it.
    pub async fn wallet_get(
        &self,
        owner: &str,
        document_id: &str,
    ) -> Result<Option<(WalletDocument, Vec<u8>)>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {DOC_COLUMNS}, content FROM portal_documents \
             WHERE owner = $1 AND document_id = $2"
        )))
        .bind(owner.to_owned())
        .bind(document_id.to_owned())
        .fetch_optional(self.reader())
        .await?;
        row.map(|r| Ok((doc(&r)?, r.try_get(9)?))).transpose()
    }

    /// Creates a share link (the token's hash is stored, never the token).
    pub async fn share_put(
        &self,
        share_id: &str,
        token_hash: &[u8],
        document_id: &str,
        owner: &str,
        recipient: &str,
        expires_at_ms: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO portal_shares (share_id, token_hash, document_id, owner, recipient, \
             expires_at_ms, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(share_id.to_owned())
        .bind(token_hash.to_vec())
        .bind(document_id.to_owned())
        .bind(owner.to_owned())
        .bind(recipient.to_owned())
        .bind(expires_at_ms)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The shares of a citizen's document, with their opening counts.
    pub async fn shares_of(
        &self,
        owner: &str,
        document_id: &str,
    ) -> Result<Vec<Share>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.share_id, s.document_id, s.owner, s.recipient, s.expires_at_ms, \
             s.revoked_at_ms, (SELECT COUNT(*) FROM portal_share_opens o WHERE o.share_id = s.share_id) \
             FROM portal_shares s WHERE s.owner = $1 AND s.document_id = $2 ORDER BY s.created_at_ms",
        )
        .bind(owner.to_owned())
        .bind(document_id.to_owned())
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Share {
                    share_id: r.try_get(0)?,
                    document_id: r.try_get(1)?,
                    owner: r.try_get(2)?,
                    recipient: r.try_get(3)?,
                    expires_at_ms: r.try_get(4)?,
                    revoked_at_ms: r.try_get(5)?,
                    opens: r.try_get(6)?,
                })
            })
            .collect()
    }

    /// Revokes a share of `owner`; `false` if there is no live one.
    pub async fn share_revoke(&self, owner: &str, share_id: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query(
            "UPDATE portal_shares SET revoked_at_ms = $3 \
             WHERE owner = $1 AND share_id = $2 AND revoked_at_ms IS NULL",
        )
        .bind(owner.to_owned())
        .bind(share_id.to_owned())
        .bind(now_ms())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(n == 1)
    }

    /// Opens a share link: the document and its content when the link is live (and the opening
    /// is recorded in the same transaction); `None` when unknown, expired or revoked.
    pub async fn share_open(
        &self,
        token_hash: &[u8],
    ) -> Result<Option<(WalletDocument, Vec<u8>)>, StoreError> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "SELECT share_id, document_id, owner FROM portal_shares WHERE token_hash = $1 \
             AND revoked_at_ms IS NULL AND expires_at_ms > $2",
        )
        .bind(token_hash.to_vec())
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let (share_id, document_id, owner): (String, String, String) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        sqlx::query("INSERT INTO portal_share_opens (share_id, at_ms) VALUES ($1, $2)")
            .bind(share_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let doc_row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {DOC_COLUMNS}, content FROM portal_documents \
             WHERE owner = $1 AND document_id = $2"
        )))
        .bind(owner)
        .bind(document_id)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        doc_row.map(|r| Ok((doc(&r)?, r.try_get(9)?))).transpose()
    }
}
