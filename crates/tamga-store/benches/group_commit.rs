//! Durable single-row inserts per second with group commit, on SQLite (and PostgreSQL when
//! `TAMGA_TEST_DATABASE_URL` is set), against batch size 1 (one commit per row) in the same run.
//!
//! `cargo bench -p tamga-store --bench group_commit`. Every row is acknowledged only after its
//! transaction committed with `synchronous=FULL` / `synchronous_commit=on`.

use std::sync::Arc;
use std::time::Instant;

use tamga_store::{AuditEvent, GroupCommitter, Store, StoreOptions};
use tamga_testkit::TestDatabase;

const PRODUCERS: usize = 512;

async fn measure(db: &TestDatabase, batch: usize, rows: usize) -> f64 {
    let store = Store::open(&db.url, &StoreOptions::default())
        .await
        .unwrap();
    let committer = Arc::new(GroupCommitter::<AuditEvent>::spawn(store.clone(), batch));
    let per_producer = rows / PRODUCERS;
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(PRODUCERS);
    for p in 0..PRODUCERS {
        let c = Arc::clone(&committer);
        tasks.push(tokio::spawn(async move {
            for i in 0..per_producer {
                c.append(AuditEvent::now("bench", "row", &format!("{p}-{i}"), "{}"))
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    store.close().await;
    (per_producer * PRODUCERS) as f64 / secs
}

#[tokio::main]
async fn main() {
    let rows: usize = std::env::var("TAMGA_BENCH_ROWS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(51_200);
    println!("| backend | batch | rows | rows/s | vs batch 1 |");
    println!("|---|---:|---:|---:|---:|");
    let mut dbs = vec![TestDatabase::sqlite()];
    dbs.extend(TestDatabase::postgres().await);
    for db_kind in dbs.iter().map(|d| d.backend) {
        let mut baseline = None;
        for batch in [1usize, 16, 256] {
            // One commit per row is slow: measure it on fewer rows.
            let n = if batch == 1 { rows / 10 } else { rows };
            let db = if db_kind == "sqlite" {
                TestDatabase::sqlite()
            } else {
                TestDatabase::postgres().await.unwrap()
            };
            let rate = measure(&db, batch, n).await;
            let base = *baseline.get_or_insert(rate);
            println!(
                "| {db_kind} | {batch} | {n} | {rate:.0} | {:.1}× |",
                rate / base
            );
            db.cleanup().await;
        }
    }
}
