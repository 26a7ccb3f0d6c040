//! Store behaviour, run on SQLite always and on PostgreSQL when `TAMGA_TEST_DATABASE_URL` is set.

use std::sync::Arc;
use std::time::Duration;

use tamga_store::sqlx::{self, Row};
use tamga_store::{
    AuditEvent, AuditLog, Backend, MigrationStatus, Store, StoreError, StoreOptions,
};
use tamga_testkit::TestDatabase;

async fn open(db: &TestDatabase) -> Store {
    Store::open(&db.url, &StoreOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", db.backend))
}

#[tokio::test]
async fn migrations_apply_once_and_report_current() {
    for db in TestDatabase::all().await {
        let store = open(&db).await;
        assert_eq!(store.backend().name(), db.backend);
        assert!(
            matches!(store.migration_status().await.unwrap(), MigrationStatus::Current { version } if version >= 1)
        );
        store.readiness().await.unwrap();
        // A second start applies nothing new.
        store.migrate().await.unwrap();
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM tamga_schema_migrations")
            .fetch_one(store.reader())
            .await
            .unwrap()
            .try_get(0)
            .unwrap();
        assert_eq!(n as usize, tamga_store::MIGRATIONS.len(), "{}", db.backend);
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn fresh_database_is_not_ready_until_migrated() {
    for db in TestDatabase::all().await {
        let store = Store::connect(&db.url, &StoreOptions::default())
            .await
            .unwrap();
        assert!(matches!(
            store.migration_status().await.unwrap(),
            MigrationStatus::Pending { applied: 0, .. }
        ));
        let err = store.readiness().await.unwrap_err();
        assert!(err.to_string().contains("not applied"), "{err}");
        store.migrate().await.unwrap();
        store.readiness().await.unwrap();
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn edited_migration_is_refused() {
    for db in TestDatabase::all().await {
        let store = open(&db).await;
        let mut tx = store.begin_write().await.unwrap();
        sqlx::query("UPDATE tamga_schema_migrations SET checksum = 'x' WHERE version = 1")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let err = store.migrate().await.unwrap_err();
        assert!(
            matches!(err, StoreError::Migration { version: 1, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("checksum"), "{err}");
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn schema_from_a_newer_binary_is_refused() {
    for db in TestDatabase::all().await {
        let store = open(&db).await;
        let mut tx = store.begin_write().await.unwrap();
        sqlx::query("INSERT INTO tamga_schema_migrations (version, name, checksum, applied_at_ms) VALUES (9999, 'future', 'x', 0)")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let err = store.migrate().await.unwrap_err();
        assert!(
            matches!(err, StoreError::SchemaTooNew { found: 9999, .. }),
            "{err}"
        );
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn concurrent_appends_are_all_committed_and_acknowledged() {
    for db in TestDatabase::all().await {
        let store = open(&db).await;
        let log = Arc::new(AuditLog::new(store.clone()));
        let mut tasks = Vec::new();
        for i in 0..500 {
            let log = Arc::clone(&log);
            tasks.push(tokio::spawn(async move {
                log.record(AuditEvent::now(
                    "test",
                    "row.appended",
                    &format!("row-{i}"),
                    "{}",
                ))
                .await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert_eq!(log.count().await.unwrap(), 500, "{}", db.backend);
        let recent = log.recent(3).await.unwrap();
        assert_eq!(recent.len(), 3);
        assert!(recent.iter().all(|e| e.action == "row.appended"));
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn acknowledged_rows_survive_reopen() {
    for db in TestDatabase::all().await {
        {
            let store = open(&db).await;
            let log = AuditLog::new(store.clone());
            for i in 0..10 {
                log.record(AuditEvent::now("test", "durable", &i.to_string(), ""))
                    .await
                    .unwrap();
            }
            // No orderly close: the pools are simply dropped.
        }
        let store = open(&db).await;
        let n = AuditLog::new(store.clone()).count().await.unwrap();
        assert_eq!(n, 10, "{}", db.backend);
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn failed_batch_fails_every_caller_and_keeps_nothing() {
    for db in TestDatabase::all().await {
        let store = open(&db).await;
        let log = AuditLog::new(store.clone());
        log.record(AuditEvent::now("t", "before", "", ""))
            .await
            .unwrap();
        // Break the table under the writer: every later batch must fail loudly.
        let mut tx = store.begin_write().await.unwrap();
        sqlx::query("DROP TABLE audit_log")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let err = log
            .record(AuditEvent::now("t", "after", "", ""))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::BatchFailed { .. }), "{err}");
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn settings_first_writer_wins() {
    for db in TestDatabase::all().await {
        let store = open(&db).await;
        assert_eq!(store.setting("node.id").await.unwrap(), None);
        assert_eq!(store.setting_or_insert("node.id", "a").await.unwrap(), "a");
        assert_eq!(store.setting_or_insert("node.id", "b").await.unwrap(), "a");
        assert_eq!(
            store.setting("node.id").await.unwrap().as_deref(),
            Some("a")
        );
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn sqlite_is_durable_wal_and_readers_cannot_write() {
    let db = TestDatabase::sqlite();
    let store = open(&db).await;
    assert_eq!(store.backend(), Backend::Sqlite);
    let mode: String = sqlx::query("PRAGMA journal_mode")
        .fetch_one(store.reader())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert_eq!(mode, "wal");
    let sync: i64 = sqlx::query("PRAGMA synchronous")
        .fetch_one(store.reader())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert_eq!(sync, 2, "synchronous=FULL");
    let err = sqlx::query("INSERT INTO node_settings (key, value) VALUES ('a', 'b')")
        .execute(store.reader())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("readonly")
            || err.to_string().contains("read-only")
            || err.to_string().contains("query_only"),
        "{err}"
    );
    store.close().await;
}

#[tokio::test]
async fn unreachable_postgres_is_named_without_its_password() {
    let opts = StoreOptions {
        connect_timeout: Duration::from_secs(2),
        ..Default::default()
    };
    let err = Store::open("postgres://tamga:hunter2@127.0.0.1:1/tamga", &opts)
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, StoreError::Unreachable { .. }), "{msg}");
    assert!(msg.contains("127.0.0.1:1"), "{msg}");
    assert!(!msg.contains("hunter2"), "password leaked: {msg}");
}

#[tokio::test]
async fn unknown_url_scheme_is_refused() {
    let err = Store::open("mysql://localhost/x", &StoreOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidUrl { .. }), "{err}");
}

#[tokio::test]
async fn sqlite_in_unwritable_place_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let url = format!("sqlite://{}/db.sqlite?mode=rwc", file.display());
    let err = Store::open(&url, &StoreOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unreachable { .. }), "{err}");
}
