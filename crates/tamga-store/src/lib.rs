//! Tamga's database layer: one API over SQLite (the default, embedded) and PostgreSQL.
//!
//! The backend is chosen by URL (`sqlite://…` or `postgres://…`); the same SQL (with `$N`
//! placeholders, which both accept) runs on both through sqlx's `Any` driver, and each backend
//! has its own migration files. SQLite runs in WAL mode with `synchronous=FULL` (a commit is on
//! disk before it is acknowledged), a busy timeout, one writer connection (SQLite serialises
//! writers anyway; one connection makes that explicit and avoids `SQLITE_BUSY` storms) and
//! `query_only` reader connections. Write transactions start with `BEGIN IMMEDIATE` so they take
//! the write lock up front instead of failing on upgrade.
//!
//! Domain logic lives in the crates that own it; this crate holds only storage: connections,
//! migrations, group commit, and the tables of the foundation (settings, audit log).

mod applications;
mod archive;
mod audit;
mod error;
mod exchange;
mod group_commit;
mod identity;
mod ledger;
mod migrate;
mod notary;
mod portal;
mod settings;
mod trust;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Connection, Transaction};

pub use applications::{Application, InboxMessage};
pub use archive::ArchivedRow;
pub use audit::{AuditEvent, AuditLog};
pub use error::{StoreError, redact_url};
pub use exchange::{BatchRow as ExchangeBatch, PendingRecord, RecordRow, StoredRecord};
pub use group_commit::{BatchRow, GroupCommitter};
pub use identity::{AccountRow, CredentialRow, GrantRow, MandateRow, Rotation};
pub use ledger::LedgerBatch;
pub use migrate::{MIGRATIONS, MigrationStatus};
pub use notary::{ContractRow, RegisterRow};
pub use portal::{Share, WalletDocument};
pub use sqlx;
pub use trust::{CaRecord, CertEvent, CertRecord, TrustedListEntry};

/// Which database engine a [`Store`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

impl Backend {
    /// Which backend a database URL names.
    pub fn of_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            Err(StoreError::InvalidUrl {
                url: redact_url(url),
                reason: "expected sqlite://PATH or postgres://…".into(),
            })
        }
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// Connection settings beyond the URL.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// Connections for reads (PostgreSQL: all connections).
    pub max_connections: u32,
    /// How long to wait for a connection before failing.
    pub connect_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// A connected database.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
    reader: AnyPool,
    writer: AnyPool,
    url_redacted: String,
}

impl Store {
    /// Connects to `url`, checking that the database answers. Does not migrate.
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url)?;
        let url_redacted = redact_url(url);
        let connect_options =
            AnyConnectOptions::from_str(url).map_err(|e| StoreError::InvalidUrl {
                url: url_redacted.clone(),
                reason: e.to_string(),
            })?;
        let pool = |max: u32, read_only: bool| {
            let opts = AnyPoolOptions::new()
                .max_connections(max.max(1))
                .acquire_timeout(options.connect_timeout);
            let opts = if backend == Backend::Sqlite {
                opts.after_connect(move |conn, _meta| {
                    Box::pin(async move {
                        // Pragmas go here, not in the URL: they are per connection.
                        sqlx::raw_sql(
                            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; \
                             PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON;",
                        )
                        .execute(&mut *conn)
                        .await?;
                        if read_only {
                            sqlx::raw_sql("PRAGMA query_only=ON;")
                                .execute(&mut *conn)
                                .await?;
                        }
                        Ok(())
                    })
                })
            } else {
                opts
            };
            opts.connect_lazy_with(connect_options.clone())
        };
        // One direct connection first: a pool's acquire timeout would hide the real cause
        // ("connection refused", "no such file") behind "pool timed out".
        let unreachable = |error| StoreError::Unreachable {
            url: url_redacted.clone(),
            error,
        };
        let probe = tokio::time::timeout(
            options.connect_timeout,
            sqlx::AnyConnection::connect_with(&connect_options),
        )
        .await
        .map_err(|_| unreachable(sqlx::Error::PoolTimedOut))?
        .map_err(unreachable)?;
        probe.close().await?;
        let (reader, writer) = match backend {
            Backend::Sqlite => {
                // The writer opens (and so creates) the file before any reader does.
                let writer = pool(1, false);
                check_reachable(&writer, &url_redacted).await?;
                (pool(options.max_connections, true), writer)
            }
            Backend::Postgres => {
                let p = pool(options.max_connections, false);
                (p.clone(), p)
            }
        };
        check_reachable(&reader, &url_redacted).await?;
        Ok(Self {
            backend,
            reader,
            writer,
            url_redacted,
        })
    }

    /// Connects and applies pending migrations.
    pub async fn open(url: &str, options: &StoreOptions) -> Result<Self, StoreError> {
        let store = Self::connect(url, options).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Which engine this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL with any password replaced, for logs and errors.
    pub fn url_redacted(&self) -> &str {
        &self.url_redacted
    }

    /// The pool for reads.
    pub fn reader(&self) -> &AnyPool {
        &self.reader
    }

    /// Starts a write transaction (SQLite: `BEGIN IMMEDIATE` on the single writer).
    pub async fn begin_write(&self) -> Result<Transaction<'static, Any>, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => self.writer.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.writer.begin().await?,
        })
    }

    /// Whether the database answers and the schema is current: what `/readyz` reports.
    pub async fn readiness(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        match self.migration_status().await? {
            MigrationStatus::Current { .. } => Ok(()),
            MigrationStatus::Pending { applied, latest } => Err(StoreError::Migration {
                version: latest,
                reason: format!("not applied (database is at version {applied})"),
            }),
        }
    }

    /// Closes every connection, waiting for them to be returned.
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

async fn check_reachable(pool: &AnyPool, url_redacted: &str) -> Result<(), StoreError> {
    pool.acquire()
        .await
        .map(drop)
        .map_err(|error| StoreError::Unreachable {
            url: url_redacted.to_owned(),
            error,
        })
}

/// Milliseconds since the Unix epoch, the time format of every table (sqlx `Any` has no
/// timestamp type).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
