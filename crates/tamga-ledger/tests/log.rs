//! The log on SQLite and PostgreSQL: appends acknowledged with their index, roots and proofs
//! from tiles equal to an independent in-memory tree across tile boundaries, checkpoints that
//! verify, and a reopened log that continues where it stopped.

use std::sync::Arc;

use tamga_keys::{KeyAlgorithm, Signer, SoftwareSigner};
use tamga_ledger::log::{Log, LogOptions};
use tamga_ledger::merkle::{self, MemoryTree, NodeSource};
use tamga_ledger::note::open_checkpoint;
use tamga_store::{Store, StoreOptions};
use tamga_testkit::TestDatabase;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_tiles_proofs_and_restart() {
    for db in TestDatabase::all().await {
        let key: Arc<dyn Signer> =
            Arc::new(SoftwareSigner::generate("log", KeyAlgorithm::Ed25519).unwrap());
        let store = Store::open(&db.url, &StoreOptions::default())
            .await
            .unwrap();
        let opts = LogOptions {
            max_batch: 300,
            max_delay: std::time::Duration::from_millis(5),
        };
        let log = Log::open(
            "exchange",
            "ledger.tamga.example/exchange",
            store.clone(),
            Arc::clone(&key),
            opts.clone(),
        )
        .await
        .unwrap();
        let mut tree = MemoryTree::default();
        // Concurrent appenders; indices are unique and dense.
        let n: u64 = if db.url.starts_with("postgres") {
            12_800
        } else {
            70_400
        };
        let mut handles = Vec::new();
        for w in 0..64u64 {
            let log = Arc::clone(&log);
            handles.push(tokio::spawn(async move {
                let mut got = Vec::new();
                for i in 0..n / 64 {
                    let e = format!("entry {w}-{i}").into_bytes();
                    got.push((log.append(e.clone()).await.unwrap(), e));
                }
                got
            }));
        }
        let mut all = Vec::new();
        for h in handles {
            all.extend(h.await.unwrap());
        }
        all.sort();
        assert_eq!(all.len() as u64, n);
        for (k, (i, e)) in all.iter().enumerate() {
            assert_eq!(*i, k as u64);
            tree.push(merkle::leaf_hash(e));
        }
        let size = log.size();
        assert_eq!(size, n);
        let (_, cp) = open_checkpoint(
            log.checkpoint().as_bytes(),
            log.origin(),
            std::slice::from_ref(log.verifier()),
        )
        .unwrap();
        assert_eq!((cp.size, cp.root), (n, tree.root(n).unwrap()));
        for (idx, sz) in [
            (0, n),
            (255, n),
            (256, n),
            (65_535.min(n - 2), n),
            (n - 1, n),
            (3, 1000),
            (999, 1000),
        ] {
            let p: Vec<Vec<u8>> = log
                .inclusion_proof(idx, sz)
                .await
                .unwrap()
                .iter()
                .map(|h| h.to_vec())
                .collect();
            merkle::verify_inclusion(
                idx,
                sz,
                &tree.node(0, idx).unwrap(),
                &p,
                &tree.root(sz).unwrap(),
            )
            .unwrap();
        }
        for (old, sz) in [
            (1, n),
            (256, n),
            (65_536.min(n - 2), n),
            (1000, 12_345),
            (n - 1, n),
        ] {
            let p: Vec<Vec<u8>> = log
                .consistency_proof(old, sz)
                .await
                .unwrap()
                .iter()
                .map(|h| h.to_vec())
                .collect();
            merkle::verify_consistency(
                old,
                sz,
                &p,
                &tree.root(old).unwrap(),
                &tree.root(sz).unwrap(),
            )
            .unwrap();
        }
        assert_eq!(log.root(12_345).await.unwrap(), tree.root(12_345).unwrap());
        // Tiles: a full level-0 tile is the leaf hashes; bundles hold the entries.
        let t = log.tile(0, 1, 256).await.unwrap().unwrap();
        assert_eq!(&t[..32], tree.node(0, 256).unwrap().as_slice());
        let b = log.bundle(0, 2).await.unwrap().unwrap();
        assert_eq!(u16::from_be_bytes([b[0], b[1]]) as usize, all[0].1.len());
        assert!(log.tile(0, n / 256 + 5, 1).await.unwrap().is_none());
        assert!(log.inclusion_proof(n, n).await.is_err());
        assert!(log.append(vec![0u8; 65_537]).await.is_err());
        // Reopen: the right edge is rebuilt and appends continue.
        drop(log);
        let log = Log::open(
            "exchange",
            "ledger.tamga.example/exchange",
            store.clone(),
            Arc::clone(&key),
            opts,
        )
        .await
        .unwrap();
        assert_eq!(log.size(), n);
        let i = log.append(b"after restart".to_vec()).await.unwrap();
        assert_eq!(i, n);
        tree.push(merkle::leaf_hash(b"after restart"));
        let (_, cp) = open_checkpoint(
            log.checkpoint().as_bytes(),
            log.origin(),
            std::slice::from_ref(log.verifier()),
        )
        .unwrap();
        assert_eq!(cp.root, tree.root(n + 1).unwrap());
        db.cleanup().await;
    }
}
