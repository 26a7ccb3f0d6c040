//! The archive as a service: ingest (metadata, SHA-256, salted commitment in the ledger's
//! `archive` log, all acknowledged only once stored), sealing of pending documents into
//! evidence records one time-stamp per batch, scheduled time-stamp renewal before the
//! authority's certificate expires, hash-tree renewal of everything under a new algorithm,
//! disposal at the end of retention (recorded in the ledger), export as a self-contained
//! package and printable paper copies.
//!
//! Nothing personal reaches the ledger: an entry is `SHA-256(salt ‖ SHA-256(document))` for an
//! ingest and `SHA-256("disposal" ‖ salt ‖ SHA-256(document) ‖ time)` for a disposal; the
//! salt stays in the archive and travels in the package.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tamga_ledger::log::Log;
use tamga_pki::ParsedCert;
use tamga_store::{ArchivedRow, Store};

use crate::ers::{self, Batch, ErsPolicy, HashAlg};

/// Gets RFC 3161 tokens: the node's own TSA, or one over HTTP.
pub trait Timestamper: Send + Sync {
    /// A token (DER ContentInfo) over `digest`, computed with `alg`.
    fn stamp<'a>(
        &'a self,
        alg: HashAlg,
        digest: &'a [u8],
    ) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, String>> + Send + 'a>>;
}

/// Why an archive operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The request is not acceptable (empty content, retention in the past, …).
    #[error("{0}")]
    Invalid(String),
    /// No such document.
    #[error("no archived document {0}")]
    NotFound(String),
    /// Disposal before the end of retention.
    #[error("document {id} is kept until {until}; it cannot be disposed of before")]
    RetentionNotOver {
        /// The document.
        id: String,
        /// Retention end, RFC 3339.
        until: String,
    },
    /// Already disposed of.
    #[error("document {0} was disposed of")]
    Disposed(String),
    /// Not sealed yet (no evidence record).
    #[error("document {0} has no evidence record yet (its batch is not time-stamped)")]
    NotSealed(String),
    /// The time-stamp authority failed.
    #[error("time-stamp authority: {0}")]
    Tsa(String),
    /// The ledger failed.
    #[error("ledger: {0}")]
    Ledger(String),
    /// An evidence record problem.
    #[error("evidence record: {0}")]
    Ers(#[from] ers::ErsError),
    /// Storage failed.
    #[error("store: {0}")]
    Store(#[from] tamga_store::StoreError),
    /// Packaging failed.
    #[error("package: {0}")]
    Package(String),
}

/// One document to archive.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct Ingest {
    /// File name (kept in packages).
    pub file_name: String,
    /// Media type.
    pub media_type: String,
    /// Title.
    pub title: String,
    /// Creator: the organisation or person the document comes from.
    pub creator: String,
    /// Classification: the records schedule class.
    pub classification: String,
    /// Kept until (Unix seconds).
    pub retain_until: i64,
}

/// What an ingest acknowledges.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Ingested {
    /// The document's id.
    pub document_id: String,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    /// The ledger log of its commitment.
    pub ledger_log: String,
    /// The commitment's index there.
    pub ledger_index: u64,
}

/// What a batch time-stamp does to each record.
#[derive(Clone, Copy)]
enum Step {
    /// Starts the record (§4).
    Seal,
    /// A new ArchiveTimeStamp in the newest chain, over the previous token (§5.2).
    TimeStamp,
    /// A new chain over the document and every earlier chain (§5.2).
    HashTree,
}

/// Largest document accepted (bytes).
pub const MAX_DOCUMENT: usize = 64 * 1024 * 1024;
/// Most documents per evidence batch (one time-stamp each).
pub const MAX_BATCH: i64 = 10_000;

/// The archive.
pub struct Archive {
    store: Store,
    log: Arc<Log>,
    tsa: Arc<dyn Timestamper>,
    /// Anchors the archive's own records are checked against when sealed (asked each time:
    /// roots created after start count).
    anchors: tamga_sign::http::AnchorSource,
    /// One sealing or renewal at a time (the background task and the API would otherwise
    /// stamp the same records twice).
    care: tokio::sync::Mutex<()>,
}

fn now() -> i64 {
    tamga_pki::builder::now()
}

fn sha256(data: &[u8]) -> Vec<u8> {
    HashAlg::Sha256.digest(data)
}

fn random<const N: usize>() -> Result<[u8; N], ArchiveError> {
    let mut b = [0u8; N];
    aws_lc_rs::rand::fill(&mut b).map_err(|_| ArchiveError::Invalid("no randomness".into()))?;
    Ok(b)
}

/// The ledger entry for a disposal.
pub fn disposal_commitment(salt: &[u8], document_sha256: &[u8], at: i64) -> Vec<u8> {
    HashAlg::Sha256.digest_parts(&[b"disposal", salt, document_sha256, &at.to_be_bytes()])
}

impl Archive {
    /// An archive over `store`, committing to `log`, stamping with `tsa`; its records are
    /// checked against `anchors` when sealed.
    pub fn new(
        store: Store,
        log: Arc<Log>,
        tsa: Arc<dyn Timestamper>,
        anchors: tamga_sign::http::AnchorSource,
    ) -> Archive {
        Archive {
            store,
            log,
            tsa,
            anchors,
            care: tokio::sync::Mutex::new(()),
        }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The trust anchors now.
    pub fn anchors(&self) -> Vec<ParsedCert> {
        (self.anchors)()
    }

    /// The ledger log.
    pub fn log(&self) -> &Arc<Log> {
        &self.log
    }

    /// Archives documents: each is hashed, its salted commitment appended to the ledger (one
    /// batch), and all rows stored in one transaction. Returns once stored; evidence records
    /// follow with [`Archive::seal_pending`].
    pub async fn ingest(
        &self,
        items: Vec<(Ingest, Vec<u8>)>,
    ) -> Result<Vec<Ingested>, ArchiveError> {
        let t = now();
        let mut rows = Vec::with_capacity(items.len());
        let mut entries = Vec::with_capacity(items.len());
        for (meta, content) in items {
            if content.is_empty() {
                return Err(ArchiveError::Invalid(format!(
                    "{}: the document is empty",
                    meta.file_name
                )));
            }
            if content.len() > MAX_DOCUMENT {
                return Err(ArchiveError::Invalid(format!(
                    "{}: larger than {MAX_DOCUMENT} bytes",
                    meta.file_name
                )));
            }
            if meta.retain_until <= t {
                return Err(ArchiveError::Invalid(format!(
                    "{}: the retention period ends in the past",
                    meta.file_name
                )));
            }
            // The name becomes the data file's path in the package.
            tamga_sign::asic::check_data_name(&meta.file_name)
                .map_err(|e| ArchiveError::Invalid(e.to_string()))?;
            for (what, v) in [
                ("title", &meta.title),
                ("creator", &meta.creator),
                ("classification", &meta.classification),
                ("media type", &meta.media_type),
            ] {
                if v.trim().is_empty() || v.len() > 500 {
                    return Err(ArchiveError::Invalid(format!(
                        "{}: the {what} is required (at most 500 bytes)",
                        meta.file_name
                    )));
                }
            }
            let digest = sha256(&content);
            let salt = tamga_ledger::commitment::fresh_salt()
                .map_err(|_| ArchiveError::Invalid("no randomness".into()))?;
            entries.push(tamga_ledger::commitment::salted(&salt, &digest).to_vec());
            let id = random::<10>()?;
            rows.push((
                ArchivedRow {
                    document_id: format!(
                        "ARX-{}-{}",
                        &tamga_pki::time::format_rfc3339(t)[..4],
                        hex::encode_upper(id)
                    ),
                    sha256: digest,
                    size_bytes: content.len() as i64,
                    file_name: meta.file_name,
                    media_type: meta.media_type,
                    title: meta.title,
                    creator: meta.creator,
                    classification: meta.classification,
                    retention_until_ms: meta.retain_until.saturating_mul(1000),
                    ingested_at_ms: t.saturating_mul(1000),
                    ledger_log: self.log.name().to_owned(),
                    ledger_index: 0,
                    salt: salt.to_vec(),
                    evidence: None,
                    renew_by_ms: None,
                    disposed_at_ms: None,
                    disposal_reason: None,
                    disposal_ledger_index: None,
                },
                content,
            ));
        }
        if rows.is_empty() {
            return Ok(vec![]);
        }
        // The ledger first: a crash between the two leaves an unreferenced commitment (which
        // reveals nothing), never a stored document whose commitment is missing.
        let indices = self
            .log
            .append_many(entries)
            .await
            .map_err(|e| ArchiveError::Ledger(e.to_string()))?;
        for ((row, _), index) in rows.iter_mut().zip(&indices) {
            row.ledger_index = *index as i64;
        }
        self.store.archive_insert_many(&rows).await?;
        Ok(rows
            .into_iter()
            .map(|(r, _)| Ingested {
                document_id: r.document_id,
                sha256: hex::encode(&r.sha256),
                ledger_log: r.ledger_log,
                ledger_index: r.ledger_index as u64,
            })
            .collect())
    }

    /// Builds evidence records for up to [`MAX_BATCH`] pending documents under one
    /// time-stamp; returns how many were sealed.
    pub async fn seal_pending(&self) -> Result<usize, ArchiveError> {
        let _care = self.care.lock().await;
        let pending = self.store.archive_pending(MAX_BATCH).await?;
        if pending.is_empty() {
            return Ok(0);
        }
        let (ids, leaves): (Vec<String>, Vec<Vec<u8>>) = pending.into_iter().unzip();
        let out = self
            .stamp_batch(
                HashAlg::Sha256,
                ids.into_iter().map(|id| (id, None)).collect(),
                leaves,
                Step::Seal,
            )
            .await?;
        self.store.archive_set_evidence(&out).await?;
        Ok(out.len())
    }

    /// Verifies one record of a batch against its document: the batch shares its token, so
    /// this proves the token and the authority; returns the renewal deadline.
    async fn check_sealed(
        &self,
        record: &ers::EvidenceRecord,
        id: &str,
    ) -> Result<i64, ArchiveError> {
        let content = self
            .store
            .archive_content(id)
            .await?
            .ok_or_else(|| ArchiveError::NotFound(id.to_owned()))?;
        let v = ers::verify(record, &content, &ErsPolicy::new((self.anchors)(), now()))?;
        Ok(v.renew_by)
    }

    /// Renews (time-stamp renewal, one time-stamp per batch) every kept record whose
    /// deadline falls before `now + horizon_secs`; returns how many were renewed.
    pub async fn renew_due(&self, horizon_secs: i64) -> Result<usize, ArchiveError> {
        let _care = self.care.lock().await;
        let mut total = 0;
        loop {
            let due = self
                .store
                .archive_due((now() + horizon_secs).saturating_mul(1000), MAX_BATCH)
                .await?;
            if due.is_empty() {
                return Ok(total);
            }
            let mut records = Vec::with_capacity(due.len());
            let mut leaves = Vec::with_capacity(due.len());
            let mut alg = None;
            for (id, der) in &due {
                let r = ers::parse(der)?;
                let (a, leaf) = ers::timestamp_renewal_leaf(&r)?;
                // One batch, one algorithm: records under another wait for the next round.
                if *alg.get_or_insert(a) != a {
                    continue;
                }
                leaves.push(leaf);
                records.push((id.clone(), Some(r)));
            }
            let alg = alg.unwrap_or(HashAlg::Sha256);
            let out = self
                .stamp_batch(alg, records, leaves, Step::TimeStamp)
                .await?;
            // A deadline that did not move would renew again at once, forever.
            if out
                .first()
                .is_some_and(|(_, _, by)| *by <= (now() + horizon_secs) * 1000)
            {
                return Err(ArchiveError::Tsa(
                    "the time-stamp authority's certificate expires within the renewal horizon: renewing cannot extend the records"
                        .into(),
                ));
            }
            total += out.len();
            self.store.archive_set_evidence(&out).await?;
        }
    }

    /// Hash-tree renewal of every kept record under `alg` (RFC 4998 §5.2), one time-stamp per
    /// page of documents; returns how many were renewed.
    pub async fn renew_hash_trees(&self, alg: HashAlg) -> Result<usize, ArchiveError> {
        let _care = self.care.lock().await;
        let mut after = String::new();
        let mut total = 0;
        loop {
            let page = self.store.archive_kept_page(&after, 2_000).await?;
            let Some(last) = page.last() else {
                return Ok(total);
            };
            after = last.0.clone();
            let mut records = Vec::with_capacity(page.len());
            let mut leaves = Vec::with_capacity(page.len());
            for (id, der, content) in &page {
                let r = ers::parse(der)?;
                leaves.push(ers::hash_tree_renewal_leaf(&r, alg, content)?);
                records.push((id.clone(), Some(r)));
            }
            let out = self
                .stamp_batch(alg, records, leaves, Step::HashTree)
                .await?;
            total += out.len();
            self.store.archive_set_evidence(&out).await?;
        }
    }

    /// One batch: a tree over `leaves`, one time-stamp, each record started (`Step::Seal`,
    /// records `None`) or extended; the first record is verified against its document (they
    /// share the token). Returns (id, DER, renew-by ms) to store.
    async fn stamp_batch(
        &self,
        alg: HashAlg,
        records: Vec<(String, Option<ers::EvidenceRecord>)>,
        leaves: Vec<Vec<u8>>,
        step: Step,
    ) -> Result<Vec<(String, Vec<u8>, i64)>, ArchiveError> {
        let batch = Batch::new(alg, leaves)?;
        let token = self
            .tsa
            .stamp(alg, batch.imprint())
            .await
            .map_err(ArchiveError::Tsa)?;
        let stamps = batch.archive_timestamps(&token)?;
        let mut out = Vec::with_capacity(records.len());
        let mut renew_by = None;
        for ((id, record), ats) in records.into_iter().zip(stamps) {
            let r = match (step, record) {
                (Step::TimeStamp, Some(mut r)) => {
                    ers::append_timestamp_renewal(&mut r, ats)?;
                    r
                }
                (Step::HashTree, Some(mut r)) => {
                    ers::append_hash_tree_renewal(&mut r, ats)?;
                    r
                }
                (_, _) => ers::new_record(ats)?,
            };
            let renew = match renew_by {
                Some(x) => x,
                None => *renew_by.insert(self.check_sealed(&r, &id).await?),
            };
            out.push((id, ers::encode(&r)?, renew.saturating_mul(1000)));
        }
        Ok(out)
    }

    /// Disposes of a document at the end of its retention: the content is deleted, the
    /// disposal committed to the ledger; metadata, hash and evidence record stay.
    pub async fn dispose(&self, id: &str, reason: &str) -> Result<u64, ArchiveError> {
        let row = self.get(id).await?;
        if row.disposed_at_ms.is_some() {
            return Err(ArchiveError::Disposed(id.to_owned()));
        }
        let t = now();
        if row.retention_until_ms > t.saturating_mul(1000) {
            return Err(ArchiveError::RetentionNotOver {
                id: id.to_owned(),
                until: tamga_pki::time::format_rfc3339(row.retention_until_ms / 1000),
            });
        }
        if reason.trim().is_empty() || reason.len() > 500 {
            return Err(ArchiveError::Invalid(
                "a disposal needs its reason (at most 500 bytes)".into(),
            ));
        }
        let index = self
            .log
            .append(disposal_commitment(&row.salt, &row.sha256, t))
            .await
            .map_err(|e| ArchiveError::Ledger(e.to_string()))?;
        if !self
            .store
            .archive_dispose(id, t.saturating_mul(1000), reason, index as i64)
            .await?
        {
            return Err(ArchiveError::Disposed(id.to_owned()));
        }
        Ok(index)
    }

    /// One document's row.
    pub async fn get(&self, id: &str) -> Result<ArchivedRow, ArchiveError> {
        self.store
            .archive_get(id)
            .await?
            .ok_or_else(|| ArchiveError::NotFound(id.to_owned()))
    }

    /// The self-contained package of a sealed, kept document (see [`crate::package`]).
    pub async fn export(&self, id: &str) -> Result<Vec<u8>, ArchiveError> {
        let row = self.get(id).await?;
        if row.disposed_at_ms.is_some() {
            return Err(ArchiveError::Disposed(id.to_owned()));
        }
        let evidence = row
            .evidence
            .clone()
            .ok_or_else(|| ArchiveError::NotSealed(id.to_owned()))?;
        let content = self
            .store
            .archive_content(id)
            .await?
            .ok_or_else(|| ArchiveError::Disposed(id.to_owned()))?;
        // The receipt exists once a checkpoint covers the entry; a package made before that
        // carries the entry's position, and the receipt can be fetched later.
        let receipt = self
            .log
            .receipt_if_covered(row.ledger_index as u64)
            .await
            .map_err(|e| ArchiveError::Ledger(e.to_string()))?
            .map(serde_json::to_value)
            .transpose()
            .map_err(|e| ArchiveError::Package(e.to_string()))?;
        crate::package::write(
            &row,
            &content,
            &evidence,
            receipt,
            &self.log.verifier().vkey(),
        )
        .map_err(|e| ArchiveError::Package(e.to_string()))
    }
}
