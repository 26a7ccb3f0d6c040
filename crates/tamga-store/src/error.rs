//! Storage errors, each naming its cause; URLs in them never carry a password.

/// A storage operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database URL is not one Tamga understands.
    #[error("database URL {url}: {reason}")]
    InvalidUrl {
        /// The URL, password redacted.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// The database could not be reached or opened.
    #[error("database {url} unreachable: {error}")]
    Unreachable {
        /// The URL, password redacted.
        url: String,
        /// The driver's error (in the message, not the error chain, so it prints once).
        error: sqlx::Error,
    },
    /// A migration failed or the schema does not match this binary.
    #[error("schema migration {version}: {reason}")]
    Migration {
        /// The migration's version.
        version: i64,
        /// What went wrong.
        reason: String,
    },
    /// The database was migrated by a newer Tamga.
    #[error("database schema version {found} is newer than this binary supports ({supported})")]
    SchemaTooNew {
        /// The newest version in the database.
        found: i64,
        /// The newest version this binary knows.
        supported: i64,
    },
    /// A group committer's writer task has stopped.
    #[error("the {0} writer has stopped")]
    WriterStopped(&'static str),
    /// A group-committed batch failed; none of its rows was kept.
    #[error("{writer} batch not committed: {reason}")]
    BatchFailed {
        /// The writer's name.
        writer: &'static str,
        /// The database's error.
        reason: String,
    },
    /// Any other database error.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// Stored data that cannot be what it claims.
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match (authority.rfind('@'), authority.find(':')) {
        (Some(at), Some(colon)) if colon < at => format!(
            "{}{}:***{}",
            &url[..scheme_end + 3],
            &authority[..colon],
            &rest[at..]
        ),
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://tamga:s3cr%40t@db:5432/tamga?sslmode=require"),
            "postgres://tamga:***@db:5432/tamga?sslmode=require"
        );
        assert_eq!(redact_url("postgres://db/tamga"), "postgres://db/tamga");
        assert_eq!(redact_url("postgres://u@db/x"), "postgres://u@db/x");
        assert_eq!(
            redact_url("sqlite:///var/lib/tamga.db"),
            "sqlite:///var/lib/tamga.db"
        );
    }
}
