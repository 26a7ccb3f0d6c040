//! The archive's numbers (issue 9 targets: ingest ≥ 2,000 documents/s with metadata, hash and
//! ledger commitment; verification of a document with a 30-year renewal chain ≤ 10 ms):
//!
//! - ingest: 4 KiB documents in calls of 500 (metadata, SHA-256, salted commitment appended to
//!   a real ledger log, one transaction), against the same archive ingesting one document per
//!   call in the same run; then sealing the ingested documents into evidence records (one
//!   time-stamp per batch of up to 10,000). SQLite; PostgreSQL too when
//!   `TAMGA_TEST_DATABASE_URL` is set.
//! - verification: a record renewed every five years for 30 years (six renewals, one of them a
//!   hash-tree renewal to SHA-512), seven tokens and seven authority paths, against verifying
//!   the initial record alone (one token) in the same run.
//!
//! `cargo bench -p tamga-archive --bench archive` (`TAMGA_BENCH_SECONDS`, default 5).

#[path = "../tests/support/mod.rs"]
mod support;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{T0, World, YEAR};
use tamga_archive::ers::{self, ErsPolicy, HashAlg};
use tamga_archive::service::{Archive, Ingest, Timestamper};
use tamga_keys::{KeyAlgorithm, Signer, SoftwareSigner};
use tamga_ledger::log::{Log, LogOptions};
use tamga_store::{Store, StoreOptions};

fn secs() -> f64 {
    std::env::var("TAMGA_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5.0)
}

struct Now(Arc<World>);

impl Timestamper for Now {
    fn stamp<'a>(
        &'a self,
        alg: HashAlg,
        digest: &'a [u8],
    ) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, String>> + Send + 'a>> {
        Box::pin(async move { Ok(self.0.stamp(alg, digest, tamga_pki::builder::now())) })
    }
}

fn doc(i: u64) -> (Ingest, Vec<u8>) {
    let mut content = format!("Баримт {i} / document {i}\n").into_bytes();
    content.resize(4096, b'.');
    (
        Ingest {
            file_name: format!("document-{i}.txt"),
            media_type: "text/plain".into(),
            title: format!("Албан бичиг {i}"),
            creator: "Бенчмарк / Benchmark".into(),
            classification: "99-01".into(),
            retain_until: tamga_pki::builder::now() + 10 * YEAR,
        },
        content,
    )
}

async fn ingest_rate(archive: &Archive, per_call: u64, secs: f64) -> (f64, u64) {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed().as_secs_f64() < secs {
        let batch = (n..n + per_call).map(doc).collect();
        archive.ingest(batch).await.unwrap();
        n += per_call;
    }
    (n as f64 / start.elapsed().as_secs_f64(), n)
}

async fn ingest(url: &str, backend: &str, world: &Arc<World>) {
    let store = Store::open(url, &StoreOptions::default()).await.unwrap();
    let key: Arc<dyn Signer> =
        Arc::new(SoftwareSigner::generate("b", KeyAlgorithm::Ed25519).unwrap());
    let log = Log::open(
        "archive",
        "bench.tamga.mn/archive",
        store.clone(),
        key,
        LogOptions {
            max_batch: 4096,
            max_delay: Duration::from_millis(5),
        },
    )
    .await
    .unwrap();
    let archive = Archive::new(store.clone(), log, Arc::new(Now(Arc::clone(world))), {
        let root = world.root.clone();
        Arc::new(move || vec![root.clone()])
    });
    let s = secs();
    let (single, _) = ingest_rate(&archive, 1, s / 2.0).await;
    let (batched, n) = ingest_rate(&archive, 500, s).await;
    println!(
        "ingest [{backend}]: {batched:.0} documents/s in calls of 500 ({n} documents), {single:.0} documents/s one per call: ×{:.1}",
        batched / single
    );
    let start = Instant::now();
    let mut sealed = 0;
    loop {
        let k = archive.seal_pending().await.unwrap();
        if k == 0 {
            break;
        }
        sealed += k;
    }
    let el = start.elapsed().as_secs_f64();
    println!(
        "seal [{backend}]: {sealed} evidence records in {el:.2} s ({:.0} records/s, one time-stamp per 10,000)",
        sealed as f64 / el
    );
    store.close().await;
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn verify_bench(world: &World) {
    let docs: Vec<Vec<u8>> = (0..64)
        .map(|i| format!("document {i}").into_bytes())
        .collect();
    let thirty = world.thirty_years(&docs);
    let initial = world.ingest(&docs, T0 + 3600);
    let at = T0 + 31 * YEAR;
    let long = ErsPolicy::new(vec![world.root.clone()], at);
    let short = ErsPolicy::new(vec![world.root.clone()], T0 + YEAR);
    let run = |record: &ers::EvidenceRecord, doc: &[u8], policy: &ErsPolicy| -> Vec<f64> {
        let start = Instant::now();
        let mut times = Vec::new();
        while start.elapsed().as_secs_f64() < secs() / 2.0 {
            let t = Instant::now();
            let v = ers::verify(record, doc, policy).unwrap();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            std::hint::black_box(v);
        }
        times
    };
    let mut long_t = run(&thirty[7], &docs[7], &long);
    let mut one_t = run(&initial[7], &docs[7], &short);
    let (l50, l99) = (percentile(&mut long_t, 0.5), percentile(&mut long_t, 0.99));
    let (o50, o99) = (percentile(&mut one_t, 0.5), percentile(&mut one_t, 0.99));
    println!(
        "verify 30-year record (7 time-stamps, 64-document batches): p50 {l50:.2} ms, p99 {l99:.2} ms ({} runs); one time-stamp: p50 {o50:.2} ms, p99 {o99:.2} ms: ×{:.1}",
        long_t.len(),
        l50 / o50
    );
}

fn main() {
    let world = Arc::new(World::new());
    verify_bench(&world);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("bench.db").display()
        );
        ingest(&url, "SQLite", &world).await;
        if let Ok(pg) = std::env::var("TAMGA_TEST_DATABASE_URL")
            && !pg.is_empty()
        {
            let db = tamga_testkit::TestDatabase::postgres().await.unwrap();
            ingest(&db.url, "PostgreSQL", &world).await;
            db.cleanup().await;
        }
    });
}
