//! The message log: every exchange a gateway takes part in, recorded durably before anything
//! is acknowledged, then made accountable in batches — one RFC 3161 time-stamp over the RFC 9162
//! Merkle root of the batch's record hashes, and one ledger entry per record (`exchange` log)
//! plus one per personal-data access (`access` log, a salted commitment).
//!
//! X-Road's rule, kept: if time-stamping or the ledger stays unavailable longer than the grace
//! period, [`MessageLog::accountable`] fails and the gateway refuses new requests rather than
//! exchange unaccountably.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tamga_ledger::merkle::{self, MemoryTree};
use tamga_store::{ExchangeBatch, RecordRow, Store};
use tokio::sync::{mpsc, oneshot};

/// A boxed future (the sinks are trait objects).
pub type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where record commitments go: the ledger, in-process or over HTTP.
pub trait LedgerSink: Send + Sync {
    /// Appends entries to `log`; their indices, in order, once durable.
    fn append<'a>(
        &'a self,
        log: &'a str,
        entries: Vec<Vec<u8>>,
    ) -> BoxFut<'a, Result<Vec<u64>, String>>;
    /// A receipt (JSON) for entry `index` of `log`.
    fn receipt<'a>(
        &'a self,
        log: &'a str,
        index: u64,
    ) -> BoxFut<'a, Result<tamga_ledger::receipt::Receipt, String>>;
}

/// Who time-stamps batch roots: an RFC 3161 TSA, in-process or over HTTP.
pub trait Timestamper: Send + Sync {
    /// A DER TimeStampToken whose message imprint is `digest` (SHA-256).
    fn timestamp<'a>(&'a self, digest: [u8; 32]) -> BoxFut<'a, Result<Vec<u8>, String>>;
}

/// The prefix of an `exchange` log entry (followed by the hex record hash).
pub const EXCHANGE_ENTRY_PREFIX: &str = "tamga-exchange/1 ";
/// The prefix of an `access` log entry (followed by the hex commitment).
pub const ACCESS_ENTRY_PREFIX: &str = "tamga-access/1 ";

/// The `exchange` log entry for a record hash.
pub fn exchange_entry(record_hash: &[u8]) -> Vec<u8> {
    format!("{EXCHANGE_ENTRY_PREFIX}{}", hex::encode(record_hash)).into_bytes()
}

/// The `access` log entry for a tracker commitment.
pub fn access_entry(commitment: &[u8]) -> Vec<u8> {
    format!("{ACCESS_ENTRY_PREFIX}{}", hex::encode(commitment)).into_bytes()
}

/// Message-log failures.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The writer stopped.
    #[error("the message log writer stopped")]
    Stopped,
    /// The write failed; the record was not stored.
    #[error("the message log could not store the record: {0}")]
    Write(String),
    /// Storage.
    #[error(transparent)]
    Store(#[from] tamga_store::StoreError),
}

/// Tuning.
#[derive(Debug, Clone)]
pub struct LogOptions {
    /// How long records may stay without a time-stamp and ledger entry before the gateway
    /// stops accepting requests.
    pub grace: Duration,
    /// How often accountability batches run.
    pub interval: Duration,
    /// Most records per batch.
    pub max_batch: usize,
}

impl Default for LogOptions {
    fn default() -> Self {
        Self {
            grace: Duration::from_secs(60),
            interval: Duration::from_millis(500),
            max_batch: 8192,
        }
    }
}

type Job = (RecordRow, oneshot::Sender<Result<i64, String>>);

/// One gateway's message log.
pub struct MessageLog {
    gateway: String,
    store: Store,
    queue: mpsc::Sender<Job>,
    /// At of the oldest record not yet accountable (0: none known).
    oldest_pending_ms: AtomicI64,
    last_error: Mutex<Option<String>>,
    grace_ms: i64,
}

/// Where a record stands in its batch and the ledger (for exports).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Accountability {
    /// The batch's Merkle root (base64).
    pub root: String,
    /// The record's index in the batch and the batch size.
    pub leaf_index: u64,
    /// Batch size.
    pub batch_size: u64,
    /// Inclusion proof of the record hash in the batch (base64 hashes).
    pub proof: Vec<String>,
    /// RFC 3161 token over the root (base64 DER).
    pub tsa_token: String,
    /// Index of the record's entry in the `exchange` log.
    pub ledger_index: u64,
    /// Index of its tracker entry in the `access` log, if personal.
    pub access_index: Option<u64>,
}

fn index_at(packed: &[u8], i: usize) -> Option<u64> {
    let b = packed.get(i * 8..i * 8 + 8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Some(u64::from_be_bytes(a))
}

fn pack(v: &[u64]) -> Vec<u8> {
    v.iter().flat_map(|i| i.to_be_bytes()).collect()
}

fn b64(v: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(v)
}

impl MessageLog {
    /// Opens the log of `gateway`, starting its writer and its accountability batcher.
    pub async fn open(
        store: Store,
        gateway: &str,
        ledger: Arc<dyn LedgerSink>,
        tsa: Arc<dyn Timestamper>,
        options: LogOptions,
    ) -> Result<Arc<Self>, LogError> {
        let next = store.exchange_last_seq(gateway).await? + 1;
        let (queue, rx) = mpsc::channel(8192);
        let log = Arc::new(Self {
            gateway: gateway.to_owned(),
            store: store.clone(),
            queue,
            oldest_pending_ms: AtomicI64::new(0),
            last_error: Mutex::new(None),
            grace_ms: i64::try_from(options.grace.as_millis()).unwrap_or(i64::MAX),
        });
        tokio::spawn(writer(store, rx, next));
        tokio::spawn(batcher(Arc::downgrade(&log), ledger, tsa, options));
        Ok(log)
    }

    /// Stores a record; returns its sequence number once it is durable.
    pub async fn write(&self, row: RecordRow) -> Result<i64, LogError> {
        let (ack, done) = oneshot::channel();
        self.queue
            .send((row, ack))
            .await
            .map_err(|_| LogError::Stopped)?;
        match done.await {
            Ok(Ok(seq)) => Ok(seq),
            Ok(Err(e)) => Err(LogError::Write(e)),
            Err(_) => Err(LogError::Stopped),
        }
    }

    /// `Err` (with the reason) when records have waited longer than the grace period for a
    /// time-stamp and ledger entry.
    pub fn accountable(&self, now_ms: i64) -> Result<(), String> {
        let oldest = self.oldest_pending_ms.load(Ordering::Relaxed);
        if oldest != 0 && now_ms - oldest > self.grace_ms {
            let why = self
                .last_error
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone()
                .unwrap_or_else(|| "batches are behind".into());
            return Err(format!(
                "records have waited {} s for a time-stamp and ledger entry (grace {} s): {why}",
                (now_ms - oldest) / 1000,
                self.grace_ms / 1000
            ));
        }
        Ok(())
    }

    /// Where record `seq` stands: `None` while it is not yet in a batch.
    pub async fn accountability(&self, seq: i64) -> Result<Option<Accountability>, LogError> {
        let Some(b) = self.store.exchange_batch_of(&self.gateway, seq).await? else {
            return Ok(None);
        };
        let hashes = self
            .store
            .exchange_hashes(&self.gateway, b.first_seq, b.last_seq)
            .await?;
        let mut tree = MemoryTree::default();
        for h in &hashes {
            tree.push(leaf_of(h));
        }
        let i = u64::try_from(seq - b.first_seq).unwrap_or(0);
        let size = tree.size();
        let proof = merkle::inclusion_proof(&tree, i, size)
            .map_err(|e| LogError::Write(format!("batch proof: {e}")))?;
        let mut access_index = None;
        if let Some(rec) = self
            .store
            .exchange_records_by_seq(&self.gateway, seq)
            .await?
            && rec.access_commitment.is_some()
        {
            // Access entries are packed in seq order over the batch's personal records.
            let personal_before = self
                .store
                .exchange_records_after(&self.gateway, b.first_seq - 1, seq - b.first_seq)
                .await?
                .iter()
                .filter(|r| r.access_commitment.is_some())
                .count();
            access_index = index_at(&b.access_indices, personal_before);
        }
        Ok(Some(Accountability {
            root: b64(&b.root),
            leaf_index: i,
            batch_size: size,
            proof: proof.iter().map(|h| b64(h)).collect(),
            tsa_token: b64(&b.tsa_token),
            ledger_index: index_at(&b.exchange_indices, i as usize).ok_or_else(|| {
                LogError::Write("batch without a ledger index for the record".into())
            })?,
            access_index,
        }))
    }

    /// The store (exports read records from it).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The gateway this log belongs to.
    pub fn gateway(&self) -> &str {
        &self.gateway
    }

    async fn round(
        &self,
        after: i64,
        ledger: &dyn LedgerSink,
        tsa: &dyn Timestamper,
        max: usize,
    ) -> Result<Option<i64>, String> {
        let rows = self
            .store
            .exchange_pending(&self.gateway, after, max as i64)
            .await
            .map_err(|e| e.to_string())?;
        let Some(first) = rows.first() else {
            self.oldest_pending_ms.store(0, Ordering::Relaxed);
            return Ok(None);
        };
        let _ = self.oldest_pending_ms.compare_exchange(
            0,
            first.at_ms,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
        let mut tree = MemoryTree::default();
        let mut exchange = Vec::with_capacity(rows.len());
        let mut access = Vec::new();
        for r in &rows {
            tree.push(leaf_of(&r.record_hash));
            exchange.push(exchange_entry(&r.record_hash));
            if let Some(c) = &r.access_commitment {
                access.push(access_entry(c));
            }
        }
        let root = tree.root(tree.size())?;
        let token = tsa
            .timestamp(root)
            .await
            .map_err(|e| format!("time-stamp: {e}"))?;
        let exchange_indices = ledger
            .append("exchange", exchange)
            .await
            .map_err(|e| format!("ledger: {e}"))?;
        let access_indices = if access.is_empty() {
            vec![]
        } else {
            ledger
                .append("access", access)
                .await
                .map_err(|e| format!("ledger: {e}"))?
        };
        let last = rows.last().map_or(after, |r| r.seq);
        self.store
            .exchange_insert_batch(
                &self.gateway,
                &ExchangeBatch {
                    first_seq: first.seq,
                    last_seq: last,
                    root: root.to_vec(),
                    tsa_token: token,
                    exchange_indices: pack(&exchange_indices),
                    access_indices: pack(&access_indices),
                },
            )
            .await
            .map_err(|e| e.to_string())?;
        // The next pending record, if the batch did not take all, is at most this young.
        self.oldest_pending_ms.store(
            if rows.len() == max {
                tamga_store::now_ms()
            } else {
                0
            },
            Ordering::Relaxed,
        );
        Ok(Some(last))
    }
}

/// The leaf hash of a record in its batch tree (RFC 9162 leaf over the record hash).
pub fn leaf_of(record_hash: &[u8]) -> merkle::Hash {
    merkle::leaf_hash(record_hash)
}

async fn writer(store: Store, mut rx: mpsc::Receiver<Job>, mut next: i64) {
    let mut rows = Vec::new();
    let mut acks = Vec::new();
    while let Some((row, ack)) = rx.recv().await {
        rows.push(row);
        acks.push(ack);
        while rows.len() < 4096 {
            match rx.try_recv() {
                Ok((row, ack)) => {
                    rows.push(row);
                    acks.push(ack);
                }
                Err(_) => break,
            }
        }
        let result = store.exchange_insert_records(next, &rows).await;
        match result {
            Ok(()) => {
                for (i, ack) in acks.drain(..).enumerate() {
                    let _ = ack.send(Ok(next + i as i64));
                }
                next += rows.len() as i64;
            }
            Err(e) => {
                let reason = e.to_string();
                tracing::error!(records = rows.len(), %reason, "message log write failed");
                for ack in acks.drain(..) {
                    let _ = ack.send(Err(reason.clone()));
                }
                // The sequence may have been partly used by a failed transaction (rolled back):
                // re-read it so numbering stays dense.
                if let Ok(last) = store.exchange_last_seq(rows[0].gateway.as_str()).await {
                    next = last + 1;
                }
            }
        }
        rows.clear();
    }
}

async fn batcher(
    log: std::sync::Weak<MessageLog>,
    ledger: Arc<dyn LedgerSink>,
    tsa: Arc<dyn Timestamper>,
    options: LogOptions,
) {
    let mut after = None;
    let mut tick = tokio::time::interval(options.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(log) = log.upgrade() else { return };
        let from = match after {
            Some(a) => a,
            None => match log.store.exchange_last_batched(&log.gateway).await {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "message log: cannot read the last batch");
                    continue;
                }
            },
        };
        // Keep going while full batches are waiting.
        let mut cursor = from;
        loop {
            match log
                .round(cursor, ledger.as_ref(), tsa.as_ref(), options.max_batch)
                .await
            {
                Ok(Some(last)) => {
                    *log.last_error.lock().unwrap_or_else(|p| p.into_inner()) = None;
                    let full = last - cursor >= options.max_batch as i64;
                    cursor = last;
                    if !full {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(gateway = %log.gateway, error = %e, "accountability batch failed; will retry");
                    *log.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                    break;
                }
            }
        }
        after = Some(cursor);
    }
}
