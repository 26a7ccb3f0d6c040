//! A writer killed with SIGKILL mid-write loses no row it had acknowledged.
//!
//! The test runs itself as the child: with `TAMGA_CRASH_CHILD_URL` set it appends rows from many
//! tasks and prints `acked <id>` after each acknowledgement; the parent kills it without warning
//! and then checks that every acknowledged id is in the database.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;

use tamga_store::sqlx::{self, Row};
use tamga_store::{AuditEvent, AuditLog, Store, StoreOptions};
use tamga_testkit::TestDatabase;

const CHILD_ENV: &str = "TAMGA_CRASH_CHILD_URL";
const TEST_NAME: &str = "killed_writer_loses_no_acknowledged_row";

fn child(url: &str) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = Store::open(url, &StoreOptions::default()).await.unwrap();
        let log = Arc::new(AuditLog::new(store));
        let mut tasks = Vec::new();
        for t in 0..64u64 {
            let log = Arc::clone(&log);
            tasks.push(tokio::spawn(async move {
                for i in 0.. {
                    let id = format!("r-{t}-{i}");
                    log.record(AuditEvent::now("crash", "append", &id, ""))
                        .await
                        .unwrap();
                    println!("acked {id}");
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
    });
}

#[test]
fn killed_writer_loses_no_acknowledged_row() {
    if let Ok(url) = std::env::var(CHILD_ENV) {
        return child(&url);
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    for db in rt.block_on(TestDatabase::all()) {
        // Migrate first so the child starts writing at once.
        rt.block_on(async {
            Store::open(&db.url, &StoreOptions::default())
                .await
                .unwrap()
                .close()
                .await
        });
        let mut proc = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &db.url)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(proc.stdout.take().unwrap()).lines();
        let mut acked = HashSet::new();
        for line in lines.by_ref() {
            if let Some(id) = line.unwrap().strip_prefix("acked ") {
                acked.insert(id.to_owned());
                if acked.len() == 3000 {
                    break;
                }
            }
        }
        proc.kill().unwrap(); // SIGKILL: no destructors, no flush, no orderly close.
        proc.wait().unwrap();
        // Lines already in the pipe were acknowledged before the kill: they count too.
        for line in lines.map_while(Result::ok) {
            if let Some(id) = line.strip_prefix("acked ") {
                acked.insert(id.to_owned());
            }
        }
        assert!(acked.len() >= 3000);
        let stored: HashSet<String> = rt.block_on(async {
            let store = Store::open(&db.url, &StoreOptions::default())
                .await
                .unwrap();
            let rows = sqlx::query("SELECT subject FROM audit_log")
                .fetch_all(store.reader())
                .await
                .unwrap();
            store.close().await;
            rows.into_iter().map(|r| r.try_get(0).unwrap()).collect()
        });
        let lost: Vec<_> = acked.difference(&stored).take(5).collect();
        assert!(
            lost.is_empty(),
            "{}: acknowledged rows lost after SIGKILL: {lost:?}",
            db.backend
        );
        rt.block_on(db.cleanup());
    }
}
