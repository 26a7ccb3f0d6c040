//! Storage for the ledger (the log logic is in `tamga-ledger`; this is only SQL): entries,
//! full tiles and signed checkpoints, written together in one transaction per batch so that a
//! checkpoint is never stored for entries that are not; and the witness's latest cosigned
//! checkpoint per origin, compared and replaced atomically.

use sqlx::Row;

use crate::{Store, StoreError, now_ms};

/// One batch of a log: entries from `first`, newly completed full tiles, and the checkpoint
/// signed over the tree they make.
pub struct LedgerBatch<'a> {
    /// Log number ([`Store::ledger_log_id`]).
    pub log: i64,
    /// Index of the first entry.
    pub first: u64,
    /// The entries, in order.
    pub entries: &'a [Vec<u8>],
    /// Their leaf hashes.
    pub leaves: &'a [[u8; 32]],
    /// Full tiles: (level, index, 8192 bytes of hashes).
    pub tiles: &'a [(u32, u64, Vec<u8>)],
    /// The new tree size.
    pub size: u64,
    /// The signed checkpoint (note text).
    pub checkpoint: &'a str,
}

/// The index key of a leaf hash: its first 8 bytes as a signed integer.
pub fn leaf_key(leaf: &[u8; 32]) -> i64 {
    i64::from_be_bytes([
        leaf[0], leaf[1], leaf[2], leaf[3], leaf[4], leaf[5], leaf[6], leaf[7],
    ])
}

fn insert_sql(rows: usize) -> String {
    let mut sql = String::from("INSERT INTO ledger_entries (log_id, idx, data, leaf_key) VALUES ");
    for i in 0..rows {
        if i > 0 {
            sql.push(',');
        }
        sql.push_str(&format!(
            "(${}, ${}, ${}, ${})",
            i * 4 + 1,
            i * 4 + 2,
            i * 4 + 3,
            i * 4 + 4
        ));
    }
    sql
}

fn i64_of(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Corrupt("ledger index beyond i64".into()))
}

impl Store {
    /// The number of log `name`, registering it on first use.
    pub async fn ledger_log_id(&self, name: &str) -> Result<i64, StoreError> {
        let find = |pool| async move {
            sqlx::query("SELECT id FROM ledger_logs WHERE name = $1")
                .bind(name.to_string())
                .fetch_optional(pool)
                .await
        };
        if let Some(r) = find(self.reader()).await? {
            return Ok(r.try_get(0)?);
        }
        let mut tx = self.begin_write().await?;
        let row = sqlx::query("SELECT id FROM ledger_logs WHERE name = $1")
            .bind(name.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        let id = match row {
            Some(r) => r.try_get(0)?,
            None => {
                let next: i64 = sqlx::query("SELECT COALESCE(MAX(id), 0) + 1 FROM ledger_logs")
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get(0)?;
                sqlx::query("INSERT INTO ledger_logs (id, name) VALUES ($1, $2)")
                    .bind(next)
                    .bind(name.to_string())
                    .execute(&mut *tx)
                    .await?;
                next
            }
        };
        tx.commit().await?;
        Ok(id)
    }

    /// Writes one batch durably (one transaction); returns once committed.
    pub async fn ledger_write_batch(&self, b: &LedgerBatch<'_>) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        // Multi-row inserts in a few fixed shapes (1024, 256, 64, 16, 4, 1 rows), so the drivers.
        // prepared-statement caches hold them and a batch costs no statement parsing.
        let mut k = 0usize;
        while k < b.entries.len() {
            let left = b.entries.len() - k;
            let rows = [1024usize, 256, 64, 16, 4, 1]
                .into_iter()
                .find(|&r| r <= left)
                .unwrap_or(1);
            let sql = insert_sql(rows);
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for j in k..k + rows {
                let leaf = b
                    .leaves
                    .get(j)
                    .ok_or_else(|| StoreError::Corrupt("leaf hashes missing".into()))?;
                q = q
                    .bind(b.log)
                    .bind(i64_of(b.first + j as u64)?)
                    .bind(b.entries[j].as_slice())
                    .bind(leaf_key(leaf));
            }
            q.execute(&mut *tx).await?;
            k += rows;
        }
        for (level, idx, hashes) in b.tiles {
            sqlx::query(
                "INSERT INTO ledger_tiles (log_id, level, idx, hashes) VALUES ($1, $2, $3, $4)",
            )
            .bind(b.log)
            .bind(i64::from(*level))
            .bind(i64_of(*idx)?)
            .bind(hashes.as_slice())
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO ledger_checkpoints (log_id, size, note, created_at_ms) VALUES ($1, $2, $3, $4)",
        )
        .bind(b.log)
        .bind(i64_of(b.size)?)
        .bind(b.checkpoint.to_string())
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The latest checkpoint of `log`: (size, note).
    pub async fn ledger_latest_checkpoint(
        &self,
        log: i64,
    ) -> Result<Option<(u64, String)>, StoreError> {
        let row = sqlx::query(
            "SELECT size, note FROM ledger_checkpoints WHERE log_id = $1 ORDER BY size DESC LIMIT 1",
        )
        .bind(log)
        .fetch_optional(self.reader())
        .await?;
        row.map(|r| -> Result<(u64, String), StoreError> {
            let size: i64 = r.try_get(0)?;
            Ok((size as u64, r.try_get(1)?))
        })
        .transpose()
    }

    /// Replaces the stored checkpoint note at `size` (adding cosignatures).
    pub async fn ledger_update_checkpoint(
        &self,
        log: i64,
        size: u64,
        note: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE ledger_checkpoints SET note = $1 WHERE log_id = $2 AND size = $3")
            .bind(note.to_string())
            .bind(log)
            .bind(i64_of(size)?)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Entries `[from, to)` of `log`.
    pub async fn ledger_entries(
        &self,
        log: i64,
        from: u64,
        to: u64,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let rows = sqlx::query(
            "SELECT data FROM ledger_entries WHERE log_id = $1 AND idx >= $2 AND idx < $3 ORDER BY idx",
        )
        .bind(log)
        .bind(i64_of(from)?)
        .bind(i64_of(to)?)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| r.try_get::<Vec<u8>, _>(0).map_err(StoreError::from))
            .collect()
    }

    /// The first index whose entry has leaf hash `leaf`, below `size`.
    pub async fn ledger_index_of(
        &self,
        log: i64,
        leaf: &[u8; 32],
        size: u64,
    ) -> Result<Option<u64>, StoreError> {
        // Candidates by the 8-byte key, confirmed by rehashing their data.
        let rows = sqlx::query(
            "SELECT idx, data FROM ledger_entries WHERE log_id = $1 AND leaf_key = $2 AND idx < $3 ORDER BY idx",
        )
        .bind(log)
        .bind(leaf_key(leaf))
        .bind(i64_of(size)?)
        .fetch_all(self.reader())
        .await?;
        for r in rows {
            let data: Vec<u8> = r.try_get(1)?;
            let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
            ctx.update(&[0]);
            ctx.update(&data);
            if ctx.finish().as_ref() == leaf {
                let idx: i64 = r.try_get(0)?;
                return Ok(Some(idx as u64));
            }
        }
        Ok(None)
    }

    /// A full tile.
    pub async fn ledger_tile(
        &self,
        log: i64,
        level: u32,
        idx: u64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let row = sqlx::query(
            "SELECT hashes FROM ledger_tiles WHERE log_id = $1 AND level = $2 AND idx = $3",
        )
        .bind(log)
        .bind(i64::from(level))
        .bind(i64_of(idx)?)
        .fetch_optional(self.reader())
        .await?;
        row.map(|r| r.try_get::<Vec<u8>, _>(0).map_err(StoreError::from))
            .transpose()
    }

    /// Witness `witness`'s latest cosigned checkpoint for `origin`: (size, note).
    pub async fn witness_state(
        &self,
        witness: &str,
        origin: &str,
    ) -> Result<Option<(u64, String)>, StoreError> {
        let row =
            sqlx::query("SELECT size, note FROM ledger_witness WHERE witness = $1 AND origin = $2")
                .bind(witness.to_string())
                .bind(origin.to_string())
                .fetch_optional(self.reader())
                .await?;
        row.map(|r| -> Result<(u64, String), StoreError> {
            let size: i64 = r.try_get(0)?;
            Ok((size as u64, r.try_get(1)?))
        })
        .transpose()
    }

    /// Replaces the witness state for `origin` if it is still at `old_size` (compare and swap
    /// inside the write transaction); returns the size found when it was not.
    pub async fn witness_advance(
        &self,
        witness: &str,
        origin: &str,
        old_size: u64,
        new_size: u64,
        note: &str,
    ) -> Result<Result<(), u64>, StoreError> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query("SELECT size FROM ledger_witness WHERE witness = $1 AND origin = $2")
            .bind(witness.to_string())
            .bind(origin.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        let current = match row {
            Some(r) => r.try_get::<i64, _>(0)? as u64,
            None => 0,
        };
        if current != old_size {
            return Ok(Err(current));
        }
        sqlx::query("DELETE FROM ledger_witness WHERE witness = $1 AND origin = $2")
            .bind(witness.to_string())
            .bind(origin.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO ledger_witness (witness, origin, size, note, updated_at_ms) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(witness.to_string())
        .bind(origin.to_string())
        .bind(i64_of(new_size)?)
        .bind(note.to_string())
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }
}
