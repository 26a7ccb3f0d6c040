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

#[tokio::test]
async fn trust_service_records_keep_history() {
    use tamga_store::{CaRecord, CertRecord, TrustedListEntry};
    for db in TestDatabase::all().await {
        let store = open(&db).await;
        let ca = CaRecord {
            name: "test-ca".into(),
            display_name: "Тест CA".into(),
            parent: None,
            cert_der: vec![0x30, 0x00, 0xff],
            key_label: "ca-key".into(),
            policy_oid: "1.2.3".into(),
            ocsp_cert_der: None,
            ocsp_key_label: None,
        };
        store.insert_ca(&ca).await.unwrap();
        assert!(store.insert_ca(&ca).await.is_err(), "CA names are unique");
        assert_eq!(store.list_cas().await.unwrap(), vec![ca.clone()]);
        let cert = CertRecord {
            ca: "test-ca".into(),
            serial_hex: "0a0b".into(),
            cert_der: vec![1, 2, 3],
            profile: "citizen-sign".into(),
            status: "good".into(),
            revoked_at_ms: None,
            reason: None,
            issued_at_ms: 1,
            not_after_ms: 2,
        };
        store
            .insert_certificate(&cert, "operator", "first issue")
            .await
            .unwrap();
        assert!(
            store
                .change_certificate_status(
                    "test-ca",
                    "0a0b",
                    &["good"],
                    "suspended",
                    Some("certificateHold"),
                    "suspended",
                    "operator",
                    "lost card"
                )
                .await
                .unwrap()
        );
        // Not from the expected state: nothing changes.
        assert!(
            !store
                .change_certificate_status(
                    "test-ca",
                    "0a0b",
                    &["good"],
                    "revoked",
                    None,
                    "revoked",
                    "x",
                    "y"
                )
                .await
                .unwrap()
        );
        assert!(
            !store
                .change_certificate_status(
                    "test-ca",
                    "ffff",
                    &["good"],
                    "revoked",
                    None,
                    "revoked",
                    "x",
                    "y"
                )
                .await
                .unwrap()
        );
        let revoked = store.revoked_certificates("test-ca").await.unwrap();
        assert_eq!(revoked.len(), 1);
        assert_eq!(revoked[0].reason.as_deref(), Some("certificateHold"));
        assert!(
            store
                .change_certificate_status(
                    "test-ca",
                    "0a0b",
                    &["suspended"],
                    "good",
                    None,
                    "reinstated",
                    "operator",
                    "card found"
                )
                .await
                .unwrap()
        );
        assert!(
            store
                .revoked_certificates("test-ca")
                .await
                .unwrap()
                .is_empty()
        );
        let events: Vec<String> = store
            .certificate_events("test-ca", "0a0b")
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(events, ["issued", "suspended", "reinstated"]);
        assert_eq!(store.next_crl_number("test-ca").await.unwrap(), 1);
        assert_eq!(store.next_crl_number("test-ca").await.unwrap(), 2);
        let e = TrustedListEntry {
            service: "test-ca".into(),
            kind: "ca".into(),
            status: "granted".into(),
            from_ms: 5,
            actor: "regulator".into(),
            note: "".into(),
        };
        store.add_trusted_list_entry(&e).await.unwrap();
        assert_eq!(store.trusted_list_history().await.unwrap(), vec![e]);
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn applications_move_by_compare_and_set_and_keep_their_files() {
    use tamga_store::Application;
    for db in TestDatabase::all().await {
        let store = open(&db).await;
        let app = Application {
            application_id: "app-1".into(),
            applicant: "УБ00150110".into(),
            subject: "УБ15150111".into(),
            service_id: "voluntary-social-insurance".into(),
            provider: "gasi".into(),
            status: "draft".into(),
            record: "{}".into(),
            decision_document_id: None,
            created_at_ms: 1,
            updated_at_ms: 1,
        };
        store.application_insert(&app).await.unwrap();
        let (got, doc, signed) = store.application_get("app-1").await.unwrap().unwrap();
        assert_eq!((got.status.as_str(), doc, signed), ("draft", None, None));
        // The file first, then the signed one; neither is lost by a later update without files.
        assert!(
            store
                .application_update(
                    "app-1",
                    "draft",
                    "draft",
                    "{\"a\":1}",
                    (Some(b"%PDF-doc"), None),
                    None
                )
                .await
                .unwrap()
        );
        assert!(
            store
                .application_update(
                    "app-1",
                    "draft",
                    "submitted",
                    "{\"a\":2}",
                    (None, Some(b"%PDF-signed")),
                    None
                )
                .await
                .unwrap()
        );
        // A second actor on the same state loses.
        assert!(
            !store
                .application_update("app-1", "draft", "submitted", "{}", (None, None), None)
                .await
                .unwrap(),
            "{}",
            db.backend
        );
        assert!(
            store
                .application_update(
                    "app-1",
                    "submitted",
                    "delivered",
                    "{\"a\":3}",
                    (None, None),
                    Some("doc-9")
                )
                .await
                .unwrap()
        );
        let (got, doc, signed) = store.application_get("app-1").await.unwrap().unwrap();
        assert_eq!(got.status, "delivered");
        assert_eq!(got.record, "{\"a\":3}");
        assert_eq!(got.decision_document_id.as_deref(), Some("doc-9"));
        assert_eq!(doc.as_deref(), Some(&b"%PDF-doc"[..]));
        assert_eq!(signed.as_deref(), Some(&b"%PDF-signed"[..]));
        // Lists: the applicant's, and the organisation's queue (past draft and submitted).
        assert_eq!(store.applications_of("УБ00150110").await.unwrap().len(), 1);
        assert!(
            store
                .applications_of("УБ00150111")
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(store.applications_for("gasi").await.unwrap().len(), 1);
        assert!(store.applications_for("gasr").await.unwrap().is_empty());
        store.close().await;
        db.cleanup().await;
    }
}
