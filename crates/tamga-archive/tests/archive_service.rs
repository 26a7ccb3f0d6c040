//! The archive on SQLite and PostgreSQL with a real ledger log: ingest acknowledged only once
//! stored and committed, sealing in batches, export verified offline (with the ledger receipt),
//! tampered packages refused with their reason, renewal by a later authority, hash-tree
//! renewal, and disposal only after retention, recorded in the ledger.

mod support;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use tamga_archive::ers::{ErsError, ErsPolicy, HashAlg};
use tamga_archive::package::{self, PackageError};
use tamga_archive::service::{Archive, ArchiveError, Ingest, Timestamper};
use tamga_keys::{KeyAlgorithm, Signer, SoftwareSigner};
use tamga_ledger::log::{Log, LogOptions};
use tamga_sign::zip::{self, Limits};
use tamga_store::{Store, StoreOptions};
use tamga_testkit::TestDatabase;

use support::{World, YEAR};

/// The test TSA: the authority current at the real time plus a movable offset.
struct Clocked {
    world: Arc<World>,
    offset: AtomicI64,
}

impl Timestamper for Clocked {
    fn stamp<'a>(
        &'a self,
        alg: HashAlg,
        digest: &'a [u8],
    ) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, String>> + Send + 'a>> {
        Box::pin(async move {
            let t = tamga_pki::builder::now() + self.offset.load(Ordering::SeqCst);
            Ok(self.world.stamp(alg, digest, t))
        })
    }
}

fn meta(i: usize, retain_until: i64) -> Ingest {
    Ingest {
        file_name: format!("decision-{i}.txt"),
        media_type: "text/plain; charset=utf-8".into(),
        title: format!("Шийдвэр №{i} / Decision No. {i}"),
        creator: "Нийслэлийн Засаг даргын Тамгын газар / Governor's Office of the Capital City"
            .into(),
        classification: "01-03 Захирамж / Ordinances".into(),
        retain_until,
    }
}

fn content(i: usize) -> Vec<u8> {
    format!("Захирамж №{i}: барилгын зөвшөөрөл олгох тухай. / Ordinance No. {i}.").into_bytes()
}

fn rezip(pkg: &[u8], f: impl Fn(&mut Vec<zip::Entry>)) -> Vec<u8> {
    let mut entries = zip::read(pkg, Limits::default()).unwrap();
    f(&mut entries);
    zip::write(&entries).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_seal_export_renew_and_dispose() {
    let world = Arc::new(World::new());
    for db in TestDatabase::all().await {
        let store = Store::open(&db.url, &StoreOptions::default())
            .await
            .unwrap();
        let key: Arc<dyn Signer> =
            Arc::new(SoftwareSigner::generate("log", KeyAlgorithm::Ed25519).unwrap());
        let log = Log::open(
            "archive",
            "ledger.tamga.example/archive",
            store.clone(),
            key,
            LogOptions::default(),
        )
        .await
        .unwrap();
        let tsa = Arc::new(Clocked {
            world: Arc::clone(&world),
            offset: AtomicI64::new(0),
        });
        let archive = Archive::new(store.clone(), Arc::clone(&log), tsa.clone(), {
            let root = world.root.clone();
            Arc::new(move || vec![root.clone()])
        });
        let now = tamga_pki::builder::now();
        let keep = now + 10 * YEAR;

        // Ingest: acknowledged with distinct ledger positions; bad input stores nothing.
        let acks = archive
            .ingest((0..25).map(|i| (meta(i, keep), content(i))).collect())
            .await
            .unwrap();
        assert_eq!(acks.len(), 25, "{}", db.backend);
        let mut idx: Vec<u64> = acks.iter().map(|a| a.ledger_index).collect();
        idx.sort_unstable();
        idx.dedup();
        assert_eq!(idx.len(), 25);
        for (bad, what) in [
            ((meta(90, keep), vec![]), "empty"),
            ((meta(91, now - 10), content(91)), "retention"),
            (
                (
                    Ingest {
                        file_name: "../escape.txt".into(),
                        ..meta(92, keep)
                    },
                    content(92),
                ),
                "file name",
            ),
            (
                (
                    Ingest {
                        creator: " ".into(),
                        ..meta(93, keep)
                    },
                    content(93),
                ),
                "creator",
            ),
        ] {
            let e = archive
                .ingest(vec![(meta(94, keep), content(94)), bad])
                .await
                .unwrap_err();
            assert!(matches!(e, ArchiveError::Invalid(_)), "{what}: {e}");
        }
        assert_eq!(store.archive_list(1000).await.unwrap().len(), 25);

        // Sealing: one batch, then nothing pending.
        assert_eq!(archive.seal_pending().await.unwrap(), 25);
        assert_eq!(archive.seal_pending().await.unwrap(), 0);

        // Export and offline verification, with the ledger receipt.
        let id = &acks[3].document_id;
        let pkg = archive.export(id).await.unwrap();
        let policy = ErsPolicy::new(vec![world.root.clone()], now + 60);
        let vkey = log.verifier().vkey();
        let report = package::verify(&pkg, &policy, Some(&vkey)).unwrap();
        assert_eq!(&report.document_id, id);
        assert_eq!(report.sha256, acks[3].sha256);
        assert!(
            report.ledger.starts_with("receipt verified"),
            "{}",
            report.ledger
        );
        assert_eq!(report.evidence.stamps.len(), 1);
        // Without the log key the receipt is named as unchecked, not as verified.
        let report = package::verify(&pkg, &policy, None).unwrap();
        assert!(report.ledger.contains("not checked"));
        // Another log's key does not verify the receipt.
        let other_key: Arc<dyn Signer> =
            Arc::new(SoftwareSigner::generate("x", KeyAlgorithm::Ed25519).unwrap());
        let other = tamga_ledger::note::Verifier::new(
            "ledger.tamga.example/archive",
            1,
            tamga_ledger::note::ed25519_raw(other_key.public_key_der()).unwrap(),
        )
        .unwrap();
        assert!(matches!(
            package::verify(&pkg, &policy, Some(&other.vkey())),
            Err(PackageError::Ledger(_))
        ));

        // Tampered packages, each with its reason.
        let changed = rezip(&pkg, |e| e[1].data[0] ^= 1);
        assert!(matches!(
            package::verify(&changed, &policy, None),
            Err(PackageError::MetadataMismatch(_))
        ));
        // Another batch's record (here a batch of one) cannot cover this document; within one
        // batch, documents of the same first hash list legitimately share proofs.
        let lone = archive
            .ingest(vec![(meta(60, keep), content(60))])
            .await
            .unwrap();
        assert_eq!(archive.seal_pending().await.unwrap(), 1);
        let other_pkg = archive.export(&lone[0].document_id).await.unwrap();
        let other_ers = zip::read(&other_pkg, Limits::default()).unwrap()[2].clone();
        let swapped = rezip(&pkg, |e| e[2] = other_ers.clone());
        assert!(matches!(
            package::verify(&swapped, &policy, None),
            Err(PackageError::Evidence(ErsError::DataNotCovered))
        ));
        let wrong_type = rezip(&pkg, |e| e[0].data = b"application/zip".to_vec());
        assert!(matches!(
            package::verify(&wrong_type, &policy, None),
            Err(PackageError::Shape(_))
        ));
        let no_ers = rezip(&pkg, |e| {
            e.remove(2);
        });
        assert!(matches!(
            package::verify(&no_ers, &policy, None),
            Err(PackageError::Shape(_))
        ));
        let salted = rezip(&pkg, |e| {
            let mut m: serde_json::Value = serde_json::from_slice(&e[3].data).unwrap();
            m["ledger"]["salt"] = serde_json::json!("00".repeat(32));
            e[3].data = serde_json::to_vec(&m).unwrap();
        });
        assert!(matches!(
            package::verify(&salted, &policy, None),
            Err(PackageError::Ledger(_))
        ));
        assert!(matches!(
            package::verify(b"PK\x03\x04 not really", &policy, None),
            Err(PackageError::Zip(_))
        ));

        // Renewal: nothing due within a year; within seven years the first authority expires,
        // so a later authority (the clock moved five years) renews everything once.
        assert_eq!(archive.renew_due(YEAR).await.unwrap(), 0);
        tsa.offset.store(5 * YEAR, Ordering::SeqCst);
        assert_eq!(archive.renew_due(7 * YEAR).await.unwrap(), 26);
        assert_eq!(archive.renew_due(7 * YEAR).await.unwrap(), 0);
        // Hash-tree renewal to SHA-512.
        assert_eq!(archive.renew_hash_trees(HashAlg::Sha512).await.unwrap(), 26);
        let pkg = archive.export(id).await.unwrap();
        let report = package::verify(
            &pkg,
            &ErsPolicy::new(vec![world.root.clone()], now + 8 * YEAR),
            Some(&vkey),
        )
        .unwrap();
        let kinds: Vec<_> = report.evidence.stamps.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            ["initial", "time-stamp renewal", "hash-tree renewal"]
        );

        // Disposal: refused during retention; after it, recorded in the ledger, content gone.
        assert!(matches!(
            archive
                .dispose(id, "хугацаа дууссан / retention over")
                .await,
            Err(ArchiveError::RetentionNotOver { .. })
        ));
        let short = archive
            .ingest(vec![(meta(50, tamga_pki::builder::now() + 1), content(50))])
            .await
            .unwrap();
        let short_id = &short[0].document_id;
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        assert!(matches!(
            archive.dispose(short_id, " ").await,
            Err(ArchiveError::Invalid(_))
        ));
        let index = archive
            .dispose(short_id, "хугацаа дууссан / retention over")
            .await
            .unwrap();
        let row = archive.get(short_id).await.unwrap();
        assert_eq!(row.disposal_ledger_index, Some(index as i64));
        let at = row.disposed_at_ms.unwrap() / 1000;
        assert_eq!(
            log.entry(index).await.unwrap(),
            tamga_archive::service::disposal_commitment(&row.salt, &row.sha256, at)
        );
        assert!(store.archive_content(short_id).await.unwrap().is_none());
        assert!(matches!(
            archive.export(short_id).await,
            Err(ArchiveError::Disposed(_))
        ));
        assert!(matches!(
            archive.dispose(short_id, "again").await,
            Err(ArchiveError::Disposed(_))
        ));
        assert!(matches!(
            archive.get("ARX-2026-NOPE").await,
            Err(ArchiveError::NotFound(_))
        ));

        // A paper copy is a PDF naming the document.
        let pdf = tamga_archive::copy::paper_copy(
            &archive.get(id).await.unwrap(),
            Some(&content(3)),
            "https://archive.example.mn",
        )
        .unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        store.close().await;
        db.cleanup().await;
    }
}
