//! A log: the sequencer (batched, durable appends acknowledged with their index), tiles kept
//! incrementally (a full tile is written once when it completes; the partial right edge lives
//! in memory and is rebuilt from the store at start), signed checkpoints, and proofs computed
//! from tiles.
//!
//! Order of a batch: leaves hashed, tiles and the new root computed on a copy of the state,
//! the checkpoint signed, then entries + full tiles + checkpoint in one transaction; only after
//! the commit is the new state published and each appender told its index. A crash before the
//! commit loses nothing anyone was told about and no signed checkpoint ever left the node.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tamga_keys::{SignatureAlgorithm, Signer};
use tamga_store::{LedgerBatch, Store};
use tokio::sync::{mpsc, oneshot};

use crate::merkle::{self, Hash, NodeSource};
use crate::note::{Checkpoint, Note, NoteSignature, TYPE_ED25519, Verifier, key_id};
use crate::tiles::{ExpandedTile, locate};

/// Hashes per full tile.
pub const TILE_WIDTH: usize = 256;
/// Largest entry accepted.
pub const MAX_ENTRY: usize = 64 * 1024;

/// Why an append or a read failed.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The entry is empty or larger than [`MAX_ENTRY`].
    #[error("entry of {0} bytes (1..=65536 allowed)")]
    EntrySize(usize),
    /// Storage failed; nothing of the batch was kept.
    #[error(transparent)]
    Store(#[from] tamga_store::StoreError),
    /// The sequencer stopped.
    #[error("the log's sequencer stopped")]
    Stopped,
    /// A request beyond the tree.
    #[error("{0}")]
    OutOfRange(String),
    /// The log key is not Ed25519, or signing failed.
    #[error("log key: {0}")]
    Key(String),
    /// Stored data is inconsistent.
    #[error("corrupt log: {0}")]
    Corrupt(String),
}

/// How a log batches.
#[derive(Debug, Clone)]
pub struct LogOptions {
    /// Most entries per batch.
    pub max_batch: usize,
    /// Longest an entry waits for its batch to fill.
    pub max_delay: Duration,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            max_batch: 4096,
            max_delay: Duration::from_millis(50),
        }
    }
}

/// The right edge of the tree: per tile level, the hashes of the current (partial) tile.
#[derive(Clone, Default)]
struct Edge {
    size: u64,
    partials: Vec<Vec<Hash>>,
}

fn perfect_root(hashes: &[Hash]) -> Hash {
    // hashes.len() is a power of two.
    let mut level: Vec<Hash> = hashes.to_vec();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|p| merkle::node_hash(&p[0], &p[1]))
            .collect();
    }
    level[0]
}

impl Edge {
    /// Appends a leaf hash; full tiles that complete are pushed to `full`.
    fn push(&mut self, leaf: Hash, full: &mut Vec<(u32, u64, Vec<Hash>)>) {
        self.size += 1;
        let mut h = leaf;
        let mut level = 0usize;
        loop {
            if self.partials.len() == level {
                self.partials.push(Vec::new());
            }
            self.partials[level].push(h);
            if self.partials[level].len() < TILE_WIDTH {
                break;
            }
            let tile = std::mem::take(&mut self.partials[level]);
            let idx = (self.size >> (8 * (level as u64 + 1))) - 1;
            h = perfect_root(&tile);
            full.push((level as u32, idx, tile));
            level += 1;
        }
    }

    /// The root hash (RFC 9162 MTH of all leaves).
    fn root(&self) -> Hash {
        if self.size == 0 {
            return merkle::empty_root();
        }
        // Perfect pieces, largest first: each level's partial tile split by the bits of its
        // length.
        let mut pieces: Vec<Hash> = Vec::new();
        for p in self.partials.iter().rev() {
            let mut off = 0;
            for bit in (0..8).rev() {
                let n = 1usize << bit;
                if p.len() & n != 0 {
                    pieces.push(perfect_root(&p[off..off + n]));
                    off += n;
                }
            }
        }
        let mut h = pieces.pop().unwrap_or_else(merkle::empty_root);
        while let Some(left) = pieces.pop() {
            h = merkle::node_hash(&left, &h);
        }
        h
    }
}

struct Job {
    entry: Vec<u8>,
    ack: oneshot::Sender<Result<u64, String>>,
}

struct State {
    edge: Edge,
    /// The latest checkpoint note (with any cosignatures collected since).
    checkpoint: String,
}

/// A log and its sequencer.
pub struct Log {
    name: String,
    id: i64,
    origin: String,
    store: Store,
    signer: Arc<dyn Signer>,
    verifier: Verifier,
    state: RwLock<State>,
    queue: mpsc::Sender<Job>,
    tiles: Mutex<TileCache>,
}

type TileCache = HashMap<(u32, u64), Arc<ExpandedTile>>;

/// The checkpoint note text signed by `signer` as `origin`.
pub fn sign_checkpoint(
    cp: &Checkpoint,
    signer: &dyn Signer,
    verifier: &Verifier,
) -> Result<String, LogError> {
    let text = cp.text();
    let sig = signer
        .sign(SignatureAlgorithm::Ed25519, text.as_bytes())
        .map_err(|e| LogError::Key(e.to_string()))?;
    Ok(Note {
        text,
        signatures: vec![NoteSignature {
            name: verifier.name.clone(),
            key_id: verifier.key_id,
            signature: sig,
        }],
    }
    .to_text())
}

fn hashes_of(bytes: &[u8]) -> Vec<Hash> {
    bytes
        .chunks_exact(32)
        .map(|c| c.try_into().unwrap_or([0; 32]))
        .collect()
}

impl Log {
    /// Opens (or creates) log `name` with checkpoint origin `origin`, signing with `signer`
    /// (an Ed25519 key), rebuilding the right edge from the store.
    pub async fn open(
        name: &str,
        origin: &str,
        store: Store,
        signer: Arc<dyn Signer>,
        options: LogOptions,
    ) -> Result<Arc<Log>, LogError> {
        let pk = crate::note::ed25519_raw(signer.public_key_der())
            .ok_or_else(|| LogError::Key("the log key must be Ed25519".into()))?;
        let verifier =
            Verifier::new(origin, TYPE_ED25519, pk).map_err(|e| LogError::Key(e.to_string()))?;
        let id = store.ledger_log_id(name).await?;
        let (size, checkpoint) = store
            .ledger_latest_checkpoint(id)
            .await?
            .unwrap_or_default();
        // Rebuild the partial tiles: level 0 from the entries, higher levels from the roots of
        // the full tiles below.
        let mut edge = Edge {
            size,
            partials: Vec::new(),
        };
        let mut level = 0u32;
        let mut span = 1u64; // leaves per hash at this level
        while span <= size.max(1) {
            let per_tile = span * TILE_WIDTH as u64;
            let start_hash = (size / per_tile) * TILE_WIDTH as u64; // first hash index of the partial tile
            let count = ((size / span) % TILE_WIDTH as u64) as usize;
            let mut hs = Vec::with_capacity(count);
            if level == 0 {
                for e in store
                    .ledger_entries(id, start_hash, start_hash + count as u64)
                    .await?
                {
                    hs.push(merkle::leaf_hash(&e));
                }
            } else {
                for i in 0..count as u64 {
                    let t = store
                        .ledger_tile(id, level - 1, start_hash + i)
                        .await?
                        .ok_or_else(|| {
                            LogError::Corrupt(format!(
                                "missing tile {}/{}",
                                level - 1,
                                start_hash + i
                            ))
                        })?;
                    hs.push(perfect_root(&hashes_of(&t)));
                }
            }
            if hs.len() != count {
                return Err(LogError::Corrupt(format!(
                    "level {level}: {} of {count} hashes",
                    hs.len()
                )));
            }
            edge.partials.push(hs);
            level += 1;
            span = span.saturating_mul(TILE_WIDTH as u64);
            if span == u64::MAX {
                break;
            }
        }
        let checkpoint = if checkpoint.is_empty() {
            sign_checkpoint(
                &Checkpoint {
                    origin: origin.into(),
                    size: 0,
                    root: merkle::empty_root(),
                    extensions: vec![],
                },
                signer.as_ref(),
                &verifier,
            )?
        } else {
            checkpoint
        };
        // The stored checkpoint must be the tree the entries make.
        let note =
            Note::parse(checkpoint.as_bytes()).map_err(|e| LogError::Corrupt(e.to_string()))?;
        let cp = Checkpoint::parse(&note.text).map_err(|e| LogError::Corrupt(e.to_string()))?;
        if cp.size != edge.size || cp.root != edge.root() {
            return Err(LogError::Corrupt(
                "the latest checkpoint does not match the stored entries".into(),
            ));
        }
        let (queue, rx) = mpsc::channel(options.max_batch.max(1) * 4);
        let log = Arc::new(Log {
            name: name.into(),
            id,
            origin: origin.into(),
            store,
            signer,
            verifier,
            state: RwLock::new(State { edge, checkpoint }),
            queue,
            tiles: Mutex::new(HashMap::new()),
        });
        tokio::spawn(sequencer(Arc::clone(&log), rx, options));
        Ok(log)
    }

    /// The log's name (URL path element).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The checkpoint origin.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The log's verifier key.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// Appends an entry; returns its index once it is durable and in a signed checkpoint.
    pub async fn append(&self, entry: Vec<u8>) -> Result<u64, LogError> {
        if entry.is_empty() || entry.len() > MAX_ENTRY {
            return Err(LogError::EntrySize(entry.len()));
        }
        let (ack, done) = oneshot::channel();
        self.queue
            .send(Job { entry, ack })
            .await
            .map_err(|_| LogError::Stopped)?;
        match done.await {
            Ok(Ok(i)) => Ok(i),
            Ok(Err(e)) => Err(LogError::Corrupt(e)),
            Err(_) => Err(LogError::Stopped),
        }
    }

    /// Appends several entries, queued back to back (so usually sequenced in one batch);
    /// returns their indices in order once all are durable.
    pub async fn append_many(&self, entries: Vec<Vec<u8>>) -> Result<Vec<u64>, LogError> {
        if let Some(e) = entries.iter().find(|e| e.is_empty() || e.len() > MAX_ENTRY) {
            return Err(LogError::EntrySize(e.len()));
        }
        let mut waits = Vec::with_capacity(entries.len());
        for entry in entries {
            let (ack, done) = oneshot::channel();
            self.queue
                .send(Job { entry, ack })
                .await
                .map_err(|_| LogError::Stopped)?;
            waits.push(done);
        }
        let mut out = Vec::with_capacity(waits.len());
        for done in waits {
            match done.await {
                Ok(Ok(i)) => out.push(i),
                Ok(Err(e)) => return Err(LogError::Corrupt(e)),
                Err(_) => return Err(LogError::Stopped),
            }
        }
        Ok(out)
    }

    /// An offline receipt for entry `index` against the latest (cosigned) checkpoint;
    /// `OutOfRange` when the checkpoint does not include it yet.
    pub async fn receipt(&self, index: u64) -> Result<crate::receipt::Receipt, LogError> {
        use base64::Engine;
        let b64 = |v: &[u8]| base64::engine::general_purpose::STANDARD.encode(v);
        let note = self.checkpoint();
        let parsed = crate::note::Note::parse(note.as_bytes())
            .map_err(|e| LogError::Corrupt(e.to_string()))?;
        let cp = crate::note::Checkpoint::parse(&parsed.text)
            .map_err(|e| LogError::Corrupt(e.to_string()))?;
        if index >= cp.size {
            return Err(LogError::OutOfRange(format!(
                "entry {index} is not in the checkpoint of size {} yet",
                cp.size
            )));
        }
        let proof = self.inclusion_proof(index, cp.size).await?;
        let entry = self.entry(index).await?;
        Ok(crate::receipt::Receipt {
            format: "tamga-ledger-receipt/1".into(),
            origin: cp.origin,
            index,
            entry: b64(&entry),
            proof: proof.iter().map(|h| b64(h)).collect(),
            checkpoint: note,
        })
    }

    /// [`Log::receipt`], or `None` while no checkpoint covers the entry yet (a caller can hand
    /// out what it has and fetch the receipt later); other failures stay errors.
    pub async fn receipt_if_covered(
        &self,
        index: u64,
    ) -> Result<Option<crate::receipt::Receipt>, LogError> {
        match self.receipt(index).await {
            Ok(r) => Ok(Some(r)),
            Err(LogError::OutOfRange(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The latest checkpoint note (with cosignatures, when collected).
    pub fn checkpoint(&self) -> String {
        self.state
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .checkpoint
            .clone()
    }

    /// Current size.
    pub fn size(&self) -> u64 {
        self.state
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .edge
            .size
    }

    /// Replaces the served checkpoint with a cosigned version of the same tree.
    pub async fn set_cosigned(&self, size: u64, note: String) -> Result<(), LogError> {
        self.store
            .ledger_update_checkpoint(self.id, size, &note)
            .await?;
        let mut s = self.state.write().unwrap_or_else(|p| p.into_inner());
        if s.edge.size == size {
            s.checkpoint = note;
        }
        Ok(())
    }

    /// Tile `level`/`index` with at most `width` hashes (full tiles from the store, the
    /// partial right edge from memory). `None` when the tree does not reach it.
    pub async fn tile(
        &self,
        level: u32,
        index: u64,
        width: usize,
    ) -> Result<Option<Vec<u8>>, LogError> {
        let tile = self.tile_hashes(level, index).await?;
        Ok(tile.and_then(|t| (t.hashes().len() >= width).then(|| t.hashes()[..width].concat())))
    }

    async fn tile_hashes(
        &self,
        level: u32,
        index: u64,
    ) -> Result<Option<Arc<ExpandedTile>>, LogError> {
        if let Some(t) = self
            .tiles
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(level, index))
        {
            return Ok(Some(Arc::clone(t)));
        }
        {
            let s = self.state.read().unwrap_or_else(|p| p.into_inner());
            let per_tile = (TILE_WIDTH as u64)
                .checked_pow(level + 1)
                .unwrap_or(u64::MAX);
            if index == s.edge.size / per_tile {
                return Ok(s
                    .edge
                    .partials
                    .get(level as usize)
                    .filter(|p| !p.is_empty())
                    .map(|p| Arc::new(ExpandedTile::new(p.clone()))));
            }
            if index > s.edge.size / per_tile {
                return Ok(None);
            }
        }
        match self.store.ledger_tile(self.id, level, index).await? {
            Some(b) => {
                let t = Arc::new(ExpandedTile::new(hashes_of(&b)));
                let mut cache = self.tiles.lock().unwrap_or_else(|p| p.into_inner());
                if cache.len() > 65_536 {
                    cache.clear();
                }
                cache.insert((level, index), Arc::clone(&t));
                Ok(Some(t))
            }
            None => Ok(None),
        }
    }

    /// Entry bundle `index` (tlog-tiles: uint16 length-prefixed entries), at most `width`.
    pub async fn bundle(&self, index: u64, width: usize) -> Result<Option<Vec<u8>>, LogError> {
        let size = self.size();
        let start = index.saturating_mul(TILE_WIDTH as u64);
        if start >= size {
            return Ok(None);
        }
        let end = (start + TILE_WIDTH as u64).min(size);
        if ((end - start) as usize) < width {
            return Ok(None);
        }
        let entries = self
            .store
            .ledger_entries(self.id, start, start + width as u64)
            .await?;
        let mut out = Vec::new();
        for e in entries {
            out.extend_from_slice(&(e.len() as u16).to_be_bytes());
            out.extend_from_slice(&e);
        }
        Ok(Some(out))
    }

    /// Runs `f` against the tree's nodes, loading the tiles it needs first.
    async fn with_nodes<T>(
        &self,
        f: impl Fn(&dyn NodeSource) -> Result<T, String>,
    ) -> Result<T, LogError> {
        let mut loaded: TileCache = HashMap::new();
        for _ in 0..64 {
            let src = TileNodes {
                tiles: &loaded,
                missing: Mutex::new(Vec::new()),
            };
            let r = f(&src);
            let missing = src.missing.into_inner().unwrap_or_default();
            if missing.is_empty() {
                return r.map_err(LogError::OutOfRange);
            }
            for (l, i) in missing {
                let t = self.tile_hashes(l, i).await?.ok_or_else(|| {
                    LogError::OutOfRange(format!("tile {l}/{i} is beyond the tree"))
                })?;
                loaded.insert((l, i), t);
            }
        }
        Err(LogError::Corrupt("proof needs too many tiles".into()))
    }

    /// The inclusion proof of entry `index` in the tree of `size` (≤ the current size).
    pub async fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, LogError> {
        if size > self.size() || index >= size {
            return Err(LogError::OutOfRange(format!(
                "entry {index} in a tree of size {size} (log size {})",
                self.size()
            )));
        }
        self.with_nodes(|src| merkle::inclusion_proof(src, index, size))
            .await
    }

    /// The consistency proof from `old` to `size` (≤ the current size).
    pub async fn consistency_proof(&self, old: u64, size: u64) -> Result<Vec<Hash>, LogError> {
        if size > self.size() || old > size {
            return Err(LogError::OutOfRange(format!(
                "sizes {old} → {size} (log size {})",
                self.size()
            )));
        }
        self.with_nodes(|src| merkle::consistency_proof(src, old, size))
            .await
    }

    /// The root of the tree of `size` (≤ the current size).
    pub async fn root(&self, size: u64) -> Result<Hash, LogError> {
        if size > self.size() {
            return Err(LogError::OutOfRange(format!(
                "size {size} beyond {}",
                self.size()
            )));
        }
        if size == 0 {
            return Ok(merkle::empty_root());
        }
        self.with_nodes(|src| merkle::subtree_hash(src, 0, size))
            .await
    }

    /// The index of the first entry with leaf hash `leaf` in the tree of `size`.
    pub async fn index_of(&self, leaf: &[u8], size: u64) -> Result<u64, LogError> {
        let leaf: &[u8; 32] = leaf
            .try_into()
            .map_err(|_| LogError::OutOfRange("a leaf hash has 32 bytes".into()))?;
        self.store
            .ledger_index_of(self.id, leaf, size)
            .await?
            .ok_or_else(|| LogError::OutOfRange("no entry with this leaf hash in the tree".into()))
    }

    /// Entry `index`.
    pub async fn entry(&self, index: u64) -> Result<Vec<u8>, LogError> {
        self.store
            .ledger_entries(self.id, index, index + 1)
            .await?
            .pop()
            .ok_or_else(|| LogError::OutOfRange(format!("no entry {index}")))
    }
}

/// Nodes from tiles: node (8t + r, i) is the perfect hash of 2^r hashes of tile level t.
struct TileNodes<'a> {
    tiles: &'a TileCache,
    missing: Mutex<Vec<(u32, u64)>>,
}

impl NodeSource for TileNodes<'_> {
    fn node(&self, level: u32, index: u64) -> Result<Hash, String> {
        let (t, tile, r, j) = locate(level, index);
        match self.tiles.get(&(t, tile)) {
            Some(x) => x
                .node(r, j)
                .copied()
                .ok_or_else(|| format!("node ({level}, {index}) is beyond the tree")),
            None => {
                self.missing
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((t, tile));
                Ok([0; 32])
            }
        }
    }
}

async fn sequencer(log: Arc<Log>, mut rx: mpsc::Receiver<Job>, options: LogOptions) {
    let max = options.max_batch.max(1);
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        let deadline = tokio::time::Instant::now() + options.max_delay;
        while jobs.len() < max {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(j)) => jobs.push(j),
                _ => break,
            }
            while jobs.len() < max {
                match rx.try_recv() {
                    Ok(j) => jobs.push(j),
                    Err(_) => break,
                }
            }
            if rx.is_empty() {
                break;
            }
        }
        let result = commit_batch(&log, &mut jobs).await;
        match result {
            Ok(first_index) => {
                for (i, j) in jobs.into_iter().enumerate() {
                    let _ = j.ack.send(Ok(first_index + i as u64));
                }
            }
            Err(e) => {
                tracing::error!(log = %log.name, error = %e, "ledger batch failed; nothing of it was kept");
                let msg = e.to_string();
                for j in jobs {
                    let _ = j.ack.send(Err(msg.clone()));
                }
            }
        }
    }
}

async fn commit_batch(log: &Log, jobs: &mut [Job]) -> Result<u64, LogError> {
    let mut edge = log
        .state
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .edge
        .clone();
    let first = edge.size;
    let mut full = Vec::new();
    let entries: Vec<Vec<u8>> = jobs
        .iter_mut()
        .map(|j| std::mem::take(&mut j.entry))
        .collect();
    let leaves: Vec<Hash> = entries.iter().map(|e| merkle::leaf_hash(e)).collect();
    for l in &leaves {
        edge.push(*l, &mut full);
    }
    let cp = Checkpoint {
        origin: log.origin.clone(),
        size: edge.size,
        root: edge.root(),
        extensions: vec![],
    };
    let note = sign_checkpoint(&cp, log.signer.as_ref(), &log.verifier)?;
    let tiles: Vec<(u32, u64, Vec<u8>)> =
        full.iter().map(|(l, i, h)| (*l, *i, h.concat())).collect();
    log.store
        .ledger_write_batch(&LedgerBatch {
            log: log.id,
            first,
            entries: &entries,
            leaves: &leaves,
            tiles: &tiles,
            size: edge.size,
            checkpoint: &note,
        })
        .await?;
    {
        let mut cache = log.tiles.lock().unwrap_or_else(|p| p.into_inner());
        for (l, i, h) in full {
            cache.insert((l, i), Arc::new(ExpandedTile::new(h)));
        }
    }
    let mut s = log.state.write().unwrap_or_else(|p| p.into_inner());
    s.edge = edge;
    s.checkpoint = note;
    Ok(first)
}

/// The key id a log's Ed25519 key has under `origin` (for vkeys and configuration).
pub fn log_key_id(origin: &str, public_key: &[u8; 32]) -> u32 {
    key_id(origin, TYPE_ED25519, public_key)
}
