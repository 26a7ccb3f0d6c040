//! The ledger's numbers: durable appends per second (SQLite; PostgreSQL when
//! `TAMGA_TEST_DATABASE_URL` is set) with the time from submission to integration in a signed,
//! committed checkpoint, against the same log with batching off (`max_batch = 1`) in the same
//! run; inclusion proofs per second from memory-cached tiles at 10^3, 10^6 and 10^7 entries
//! (O(log n): the count of proof hashes is printed beside the rate); and storage per entry.
//!
//! `cargo bench -p tamga-ledger --bench ledger` (`TAMGA_BENCH_SECONDS`, default 5;
//! `TAMGA_BENCH_MAX_LEAVES` caps the largest tree, default 10^7).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tamga_keys::{KeyAlgorithm, Signer, SoftwareSigner};
use tamga_ledger::log::{Log, LogOptions};
use tamga_ledger::merkle;
use tamga_store::{Store, StoreOptions};

fn secs() -> f64 {
    std::env::var("TAMGA_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5.0)
}

async fn appends(url: &str, max_batch: usize, appenders: usize, secs: f64) -> (f64, f64, f64, u64) {
    let store = Store::open(url, &StoreOptions::default()).await.unwrap();
    let key: Arc<dyn Signer> =
        Arc::new(SoftwareSigner::generate("b", KeyAlgorithm::Ed25519).unwrap());
    let name = format!("bench{max_batch}x{appenders}");
    let log = Log::open(
        &name,
        &format!("bench.tamga.mn/{name}"),
        store,
        key,
        LogOptions {
            max_batch,
            max_delay: Duration::from_millis(20),
        },
    )
    .await
    .unwrap();
    let end = Instant::now() + Duration::from_secs_f64(secs);
    let mut tasks = Vec::new();
    for w in 0..appenders {
        let log = Arc::clone(&log);
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = 0u64;
            while Instant::now() < end {
                // A 64-byte commitment (SHA-256 of salt and record) plus a 36-byte header.
                let mut e = format!("tamga/commit/v1 {w:08} {i:016} ").into_bytes();
                e.extend_from_slice(&merkle::leaf_hash(&i.to_be_bytes()));
                e.extend_from_slice(&merkle::leaf_hash(&w.to_be_bytes()));
                let t = Instant::now();
                log.append(e).await.unwrap();
                lat.push(t.elapsed().as_secs_f64());
                i += 1;
            }
            lat
        }));
    }
    let start = Instant::now();
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    let elapsed = start.elapsed().as_secs_f64();
    lat.sort_by(f64::total_cmp);
    let p = |q: f64| {
        lat.get(((lat.len() as f64 - 1.0) * q) as usize)
            .copied()
            .unwrap_or(0.0)
    };
    (lat.len() as f64 / elapsed, p(0.5), p(0.99), log.size())
}

fn main() {
    let secs = secs();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("ledger.db").display()
    );
    println!(
        "## Durable appends (entry 132 bytes; acknowledged after commit of entries + tiles + signed checkpoint)"
    );
    println!();
    println!(
        "| backend | batching | appenders | entries/s | p50 to checkpoint | p99 to checkpoint | vs batch 1 |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|");
    let mut backends = vec![("sqlite", sqlite.clone())];
    if let Ok(pg) = std::env::var("TAMGA_TEST_DATABASE_URL") {
        backends.push(("postgres", pg));
    }
    for (name, url) in &backends {
        let (base, b50, b99, _) = rt.block_on(appends(url, 1, 64, secs / 2.0));
        println!(
            "| {name} | off (max_batch 1) | 64 | {base:.0} | {:.1} ms | {:.1} ms | 1.0× |",
            b50 * 1e3,
            b99 * 1e3
        );
        let (rate, p50, p99, _) = rt.block_on(appends(url, 4096, 2048, secs));
        println!(
            "| {name} | max_batch 4096, max_delay 20 ms | 2048 | {rate:.0} | {:.1} ms | {:.1} ms | {:.1}× |",
            p50 * 1e3,
            p99 * 1e3,
            rate / base
        );
    }
    let db_bytes: u64 = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum();
    let entries_in_db: u64 = rt.block_on(async {
        let store = Store::open(&sqlite, &StoreOptions::default())
            .await
            .unwrap();
        let row: (i64,) = tamga_store::sqlx::query_as("SELECT COUNT(*) FROM ledger_entries")
            .fetch_one(store.reader())
            .await
            .unwrap();
        row.0 as u64
    });

    println!();
    println!("## Inclusion proofs from memory-cached tiles (one thread)");
    println!();
    println!("| entries | proof hashes | proofs/s | µs per proof | tiles built in |");
    println!("|---:|---:|---:|---:|---:|");
    let max: u64 = std::env::var("TAMGA_BENCH_MAX_LEAVES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000);
    for n in [1_000u64, 1_000_000, 10_000_000] {
        if n > max {
            println!("| {n} | — | skipped (TAMGA_BENCH_MAX_LEAVES) | — | — |");
            continue;
        }
        let t0 = Instant::now();
        let leaves: Vec<merkle::Hash> = (0..n)
            .map(|i| merkle::leaf_hash(&i.to_be_bytes()))
            .collect();
        let tiles = tamga_ledger::tiles::build(&leaves);
        let root = merkle::subtree_hash(&tiles, 0, n).unwrap();
        let built = t0.elapsed();
        // Correct before fast.
        let p = merkle::inclusion_proof(&tiles, n / 3, n).unwrap();
        let pv: Vec<Vec<u8>> = p.iter().map(|h| h.to_vec()).collect();
        merkle::verify_inclusion(n / 3, n, &leaves[(n / 3) as usize], &pv, &root).unwrap();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let start = Instant::now();
        let mut count = 0u64;
        while start.elapsed() < Duration::from_secs_f64(secs / 2.0) {
            for _ in 0..1000 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                std::hint::black_box(merkle::inclusion_proof(&tiles, x % n, n).unwrap());
            }
            count += 1000;
        }
        let rate = count as f64 / start.elapsed().as_secs_f64();
        println!(
            "| {n} | {} | {rate:.0} | {:.2} | {:.1} s |",
            p.len(),
            1e6 / rate,
            built.as_secs_f64()
        );
        drop(tiles);
    }

    println!();
    println!("## Storage per entry");
    println!();
    let served = |n: f64| -> f64 {
        // Bundles: 2-byte length + entry; tiles: 32 bytes per hash at every level.
        let mut tiles = 0.0;
        let mut level = n;
        while level >= 1.0 {
            tiles += level * 32.0;
            level = (level / 256.0).floor();
        }
        (n * (2.0 + 132.0) + tiles) / n
    };
    println!(
        "- served as tiles + bundles (132-byte entries), at 10^7 entries: {:.1} bytes per entry (entry 132 + length 2 + tile hashes {:.2})",
        served(1e7),
        served(1e7) - 134.0
    );
    println!(
        "- SQLite file after this run: {} bytes for {} entries = {:.0} bytes per entry (entries with an 8-byte leaf key, two indexes, full tiles, one checkpoint per batch)",
        db_bytes,
        entries_in_db,
        db_bytes as f64 / entries_in_db.max(1) as f64
    );
}
