//! Node settings: small key/value facts a node keeps about itself (its id, first start).

use sqlx::Row;

use crate::{Store, StoreError};

impl Store {
    /// The value stored under `key`, if any.
    pub async fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query("SELECT value FROM node_settings WHERE key = $1")
                .bind(key.to_owned())
                .fetch_optional(self.reader())
                .await?
                .map(|r| r.try_get::<String, _>(0))
                .transpose()?,
        )
    }

    /// Stores `value` under `key` unless a value is there already; returns the value that is
    /// stored afterwards (so concurrent first starts agree on one).
    pub async fn setting_or_insert(&self, key: &str, value: &str) -> Result<String, StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO node_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key.to_owned())
        .bind(value.to_owned())
        .execute(&mut *tx)
        .await?;
        let stored: String = sqlx::query("SELECT value FROM node_settings WHERE key = $1")
            .bind(key.to_owned())
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Stores `value` under `key`, replacing what was there.
    pub async fn set_setting(&self, key: &str, value: &str) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO node_settings (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key.to_owned())
        .bind(value.to_owned())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
