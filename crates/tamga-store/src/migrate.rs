//! Schema migrations, one SQL file per backend and version, embedded in the binary.
//!
//! All pending migrations apply in one transaction (both engines have transactional DDL), so a
//! crash leaves the schema either before or after, never between. On PostgreSQL an advisory lock
//! serialises nodes that start at the same moment. A checksum of each applied file is kept: an
//! edited migration, or a database from a newer binary, is refused rather than guessed at.

use sqlx::Row;

use crate::{Backend, Store, StoreError, now_ms};

/// One schema step.
#[derive(Debug)]
pub struct Migration {
    /// Strictly increasing from 1.
    pub version: i64,
    /// Short description.
    pub name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

impl Migration {
    fn sql(&self, backend: Backend) -> &'static str {
        match backend {
            Backend::Sqlite => self.sqlite,
            Backend::Postgres => self.postgres,
        }
    }

    fn checksum(&self, backend: Backend) -> String {
        hex::encode(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            self.sql(backend).as_bytes(),
        ))
    }
}

macro_rules! migration {
    ($version:expr, $name:literal) => {
        Migration {
            version: $version,
            name: $name,
            sqlite: include_str!(concat!("../migrations/sqlite/", $name, ".sql")),
            postgres: include_str!(concat!("../migrations/postgres/", $name, ".sql")),
        }
    };
}

/// Every migration this binary knows, in order.
pub static MIGRATIONS: &[Migration] = &[
    migration!(1, "0001_foundation"),
    migration!(2, "0002_trust_services"),
    migration!(3, "0003_ledger"),
    migration!(4, "0004_exchange"),
    migration!(5, "0005_identity"),
    migration!(6, "0006_portal"),
    migration!(7, "0007_applications"),
    migration!(8, "0008_archive"),
    migration!(9, "0009_notary"),
];

const ADVISORY_LOCK_KEY: i64 = 0x0074_616d_6761; // "tamga"

/// Where a database's schema stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrationStatus {
    /// Every migration is applied.
    Current {
        /// The schema version.
        version: i64,
    },
    /// Some migrations are not applied yet.
    Pending {
        /// The newest applied version (0: none).
        applied: i64,
        /// The newest version this binary knows.
        latest: i64,
    },
}

fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS tamga_schema_migrations (
    version BIGINT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at_ms BIGINT NOT NULL)";

impl Store {
    /// Applies every pending migration.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        if self.backend() == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(ADVISORY_LOCK_KEY)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(CREATE_TABLE).execute(&mut *tx).await?;
        let rows =
            sqlx::query("SELECT version, checksum FROM tamga_schema_migrations ORDER BY version")
                .fetch_all(&mut *tx)
                .await?;
        let mut applied = 0;
        for row in rows {
            let version: i64 = row.try_get(0)?;
            let checksum: String = row.try_get(1)?;
            let Some(known) = MIGRATIONS.iter().find(|m| m.version == version) else {
                return Err(StoreError::SchemaTooNew {
                    found: version,
                    supported: latest(),
                });
            };
            if known.checksum(self.backend()) != checksum {
                return Err(StoreError::Migration {
                    version,
                    reason: format!(
                        "{} was changed after it was applied (checksum mismatch)",
                        known.name
                    ),
                });
            }
            applied = applied.max(version);
        }
        for m in MIGRATIONS.iter().filter(|m| m.version > applied) {
            sqlx::raw_sql(sqlx::AssertSqlSafe(m.sql(self.backend())))
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::Migration {
                    version: m.version,
                    reason: format!("{}: {e}", m.name),
                })?;
            sqlx::query(
                "INSERT INTO tamga_schema_migrations (version, name, checksum, applied_at_ms) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(m.version)
            .bind(m.name)
            .bind(m.checksum(self.backend()))
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
            tracing::info!(
                version = m.version,
                name = m.name,
                backend = self.backend().name(),
                "applied migration"
            );
        }
        tx.commit().await?;
        Ok(())
    }

    /// Where the schema stands, without changing it.
    pub async fn migration_status(&self) -> Result<MigrationStatus, StoreError> {
        let exists = match self.backend() {
            Backend::Sqlite => sqlx::query(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tamga_schema_migrations'",
            ),
            Backend::Postgres => sqlx::query(
                "SELECT 1 FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = 'tamga_schema_migrations'",
            ),
        }
        .fetch_optional(self.reader())
        .await?
        .is_some();
        let applied: i64 = if exists {
            sqlx::query("SELECT COALESCE(MAX(version), 0) FROM tamga_schema_migrations")
                .fetch_one(self.reader())
                .await?
                .try_get(0)?
        } else {
            0
        };
        Ok(if applied >= latest() {
            MigrationStatus::Current { version: applied }
        } else {
            MigrationStatus::Pending {
                applied,
                latest: latest(),
            }
        })
    }
}
