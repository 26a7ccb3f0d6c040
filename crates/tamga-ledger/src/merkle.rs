//! RFC 9162 §2.1 Merkle trees over SHA-256: leaf and node hashing, subtree hashes from any
//! source of complete nodes, inclusion and consistency proofs (§2.1.3, §2.1.4), and their
//! verification — including the subtree proofs of C2SP tlog-tiles and Merkle Tree Certificates
//! (draft-davidben-tls-merkle-tree-certs §4.3–4.4), of which RFC inclusion and consistency
//! proofs are special cases. Usable offline: a court verifying a receipt needs only this.

/// A SHA-256 tree hash.
pub type Hash = [u8; 32];

/// Why a proof does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// Indices or sizes that no proof can join (index beyond the tree, old size above new).
    #[error("invalid proof request: {0}")]
    Invalid(String),
    /// The proof has the wrong number of hashes or a hash of the wrong length.
    #[error("malformed proof: {0}")]
    Malformed(String),
    /// The proof does not lead to the claimed root.
    #[error("the proof does not match the root hash")]
    Mismatch,
}

/// SHA-256(0x00 || data).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    ctx.update(&[0]);
    ctx.update(data);
    to_hash(ctx.finish().as_ref())
}

/// SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    ctx.update(&[1]);
    ctx.update(left);
    ctx.update(right);
    to_hash(ctx.finish().as_ref())
}

/// The root of the empty tree: SHA-256 of the empty string.
pub fn empty_root() -> Hash {
    to_hash(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b"").as_ref())
}

fn to_hash(b: &[u8]) -> Hash {
    let mut h = [0u8; 32];
    h.copy_from_slice(b);
    h
}

/// Whether `[start, end)` is a subtree: non-empty, `start` a multiple of the smallest power of
/// two at least `end - start`.
pub fn valid_subtree(start: u64, end: u64) -> bool {
    start < end
        && (end - start)
            .checked_next_power_of_two()
            .is_some_and(|p| start.is_multiple_of(p))
}

/// A source of complete-node hashes: `node(level, index)` is the MTH of leaves
/// `[index << level, (index + 1) << level)`, which must all exist.
pub trait NodeSource {
    /// The node hash, or an error from storage.
    fn node(&self, level: u32, index: u64) -> Result<Hash, String>;
}

/// MTH(D[start:end]) for a valid subtree.
pub fn subtree_hash(src: &dyn NodeSource, start: u64, end: u64) -> Result<Hash, String> {
    if !valid_subtree(start, end) {
        return Err(format!("[{start}, {end}) is not a subtree"));
    }
    let mut last = end - 1;
    let mut first = start;
    let level = (last - first).trailing_ones();
    first >>= level;
    last >>= level;
    let mut level = level;
    let mut h = src.node(level, last)?;
    while first < last {
        if last & 1 == 1 {
            h = node_hash(&src.node(level, last - 1)?, &h);
        }
        level += 1;
        first >>= 1;
        last >>= 1;
    }
    Ok(h)
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves (RFC 9162 §2.1.3.1).
pub fn inclusion_proof(src: &dyn NodeSource, index: u64, size: u64) -> Result<Vec<Hash>, String> {
    if index >= size {
        return Err(format!("leaf {index} is not in a tree of size {size}"));
    }
    let mut proof = Vec::new();
    let (mut i, mut last, mut level) = (index, size - 1, 0u32);
    while last > 0 {
        let neighbor = i ^ 1;
        if neighbor < last {
            proof.push(src.node(level, neighbor)?);
        } else if neighbor == last {
            proof.push(subtree_hash(src, last << level, size)?);
        }
        level += 1;
        i >>= 1;
        last >>= 1;
    }
    Ok(proof)
}

/// The consistency proof from size `old` to size `new` (RFC 9162 §2.1.4.1).
pub fn consistency_proof(src: &dyn NodeSource, old: u64, new: u64) -> Result<Vec<Hash>, String> {
    if old > new {
        return Err(format!("old size {old} is above new size {new}"));
    }
    let mut proof = Vec::new();
    if old == 0 || old == new {
        return Ok(proof);
    }
    // SUBPROOF(m, D[start:end], b), iteratively.
    let (mut m, mut start, mut end, mut b) = (old, 0u64, new, true);
    let mut tail = Vec::new();
    loop {
        let n = end - start;
        if m == n {
            if !b {
                proof.push(subtree_hash(src, start, end)?);
            }
            break;
        }
        // The largest power of two below n.
        let k = 1u64 << (63 - (n - 1).leading_zeros());
        if m <= k {
            tail.push(subtree_hash(src, start + k, end)?);
            end = start + k;
        } else {
            tail.push(subtree_hash(src, start, start + k)?);
            m -= k;
            start += k;
            b = false;
        }
    }
    proof.extend(tail.into_iter().rev());
    Ok(proof)
}

fn hashes(proof: &[Vec<u8>]) -> Result<Vec<Hash>, ProofError> {
    proof
        .iter()
        .map(|p| {
            if p.len() == 32 {
                Ok(to_hash(p))
            } else {
                Err(ProofError::Malformed(format!(
                    "a proof hash has {} bytes",
                    p.len()
                )))
            }
        })
        .collect()
}

/// Evaluates a subtree consistency proof (draft-davidben-tls-merkle-tree-certs §4.4.3): from
/// the hash of subtree `[start, end)` to the root of the tree of size `n`. Returns the computed
/// root for the caller to compare.
pub fn evaluate_subtree_consistency(
    n: u64,
    start: u64,
    end: u64,
    proof: &[Hash],
    node: &Hash,
) -> Result<Hash, ProofError> {
    if !valid_subtree(start, end) || n < end {
        return Err(ProofError::Invalid(format!(
            "[{start}, {end}) in a tree of size {n}"
        )));
    }
    let (mut fnn, mut sn, mut tn) = (start, end - 1, n - 1);
    if sn == tn {
        while fnn != sn {
            fnn >>= 1;
            sn >>= 1;
            tn >>= 1;
        }
    } else {
        while fnn != sn && sn & 1 == 1 {
            fnn >>= 1;
            sn >>= 1;
            tn >>= 1;
        }
    }
    let mut it = proof.iter();
    let (mut fr, mut sr) = if fnn == sn {
        (*node, *node)
    } else {
        let first = it
            .next()
            .ok_or_else(|| ProofError::Malformed("proof too short".into()))?;
        (*first, *first)
    };
    for p in it {
        if tn == 0 {
            return Err(ProofError::Malformed("proof too long".into()));
        }
        if sn & 1 == 1 || sn == tn {
            if fnn < sn {
                fr = node_hash(p, &fr);
            }
            sr = node_hash(p, &sr);
            while sn & 1 == 0 {
                fnn >>= 1;
                sn >>= 1;
                tn >>= 1;
            }
        } else {
            sr = node_hash(&sr, p);
        }
        fnn >>= 1;
        sn >>= 1;
        tn >>= 1;
    }
    if tn != 0 {
        return Err(ProofError::Malformed("proof too short".into()));
    }
    if fr != *node {
        return Err(ProofError::Mismatch);
    }
    Ok(sr)
}

fn expect_root(computed: Hash, root: &[u8]) -> Result<(), ProofError> {
    if root.len() != 32 {
        return Err(ProofError::Malformed(format!(
            "the root has {} bytes",
            root.len()
        )));
    }
    if aws_lc_rs::constant_time::verify_slices_are_equal(&computed, root).is_ok() {
        Ok(())
    } else {
        Err(ProofError::Mismatch)
    }
}

/// Verifies that `leaf` (a leaf hash) is at `index` in the tree of `size` with `root`.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &[u8],
    proof: &[Vec<u8>],
    root: &[u8],
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::Invalid(format!("index {index} >= size {size}")));
    }
    let leaf: Hash = leaf
        .try_into()
        .map_err(|_| ProofError::Malformed("leaf hash is not 32 bytes".into()))?;
    expect_root(
        evaluate_subtree_consistency(size, index, index + 1, &hashes(proof)?, &leaf)?,
        root,
    )
}

/// Verifies that the tree of `size1` with `root1` is a prefix of the tree of `size2` with
/// `root2`.
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    proof: &[Vec<u8>],
    root1: &[u8],
    root2: &[u8],
) -> Result<(), ProofError> {
    if size1 > size2 {
        return Err(ProofError::Invalid(format!("size {size1} > size {size2}")));
    }
    if size1 == 0 {
        return Err(ProofError::Invalid(
            "consistency from the empty tree needs no proof and proves nothing".into(),
        ));
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(ProofError::Malformed(
                "equal sizes need an empty proof".into(),
            ));
        }
        // Same tree: the roots must be the same bytes (whatever they are).
        return if aws_lc_rs::constant_time::verify_slices_are_equal(root1, root2).is_ok() {
            Ok(())
        } else {
            Err(ProofError::Mismatch)
        };
    }
    let r1: Hash = root1
        .try_into()
        .map_err(|_| ProofError::Malformed("root is not 32 bytes".into()))?;
    expect_root(
        evaluate_subtree_consistency(size2, 0, size1, &hashes(proof)?, &r1)?,
        root2,
    )
}

/// Verifies that `leaf` is at `index` inside subtree `[start, end)` whose hash is `root`.
pub fn verify_subtree_inclusion(
    index: u64,
    start: u64,
    end: u64,
    leaf: &[u8],
    proof: &[Vec<u8>],
    root: &[u8],
) -> Result<(), ProofError> {
    if !valid_subtree(start, end) || index < start || index >= end {
        return Err(ProofError::Invalid(format!(
            "leaf {index} in [{start}, {end})"
        )));
    }
    let leaf: Hash = leaf
        .try_into()
        .map_err(|_| ProofError::Malformed("leaf hash is not 32 bytes".into()))?;
    let i = index - start;
    expect_root(
        evaluate_subtree_consistency(end - start, i, i + 1, &hashes(proof)?, &leaf)?,
        root,
    )
}

/// Verifies that subtree `[start, end)` with hash `root1` is part of the tree of `size` with
/// `root2`.
pub fn verify_subtree_consistency(
    start: u64,
    end: u64,
    size: u64,
    proof: &[Vec<u8>],
    root1: &[u8],
    root2: &[u8],
) -> Result<(), ProofError> {
    if start == end && end <= size {
        // The empty subtree: only an empty proof with the empty-tree hash.
        if proof.is_empty() && root1 == empty_root() {
            return Ok(());
        }
        return Err(ProofError::Mismatch);
    }
    if start == 0 && end == size {
        // The subtree is the whole tree: the same hash, nothing to prove.
        return if proof.is_empty()
            && aws_lc_rs::constant_time::verify_slices_are_equal(root1, root2).is_ok()
        {
            Ok(())
        } else {
            Err(ProofError::Mismatch)
        };
    }
    let r1: Hash = root1
        .try_into()
        .map_err(|_| ProofError::Malformed("subtree hash is not 32 bytes".into()))?;
    expect_root(
        evaluate_subtree_consistency(size, start, end, &hashes(proof)?, &r1)?,
        root2,
    )
}

/// An in-memory tree (tests, receipts, the Python-free reference): every level kept.
#[derive(Default, Clone)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    /// Appends a leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        if self.levels.is_empty() {
            self.levels.push(Vec::new());
        }
        self.levels[0].push(leaf);
        let mut level = 0;
        while self.levels[level].len().is_multiple_of(2) {
            let l = &self.levels[level];
            let h = node_hash(&l[l.len() - 2], &l[l.len() - 1]);
            if self.levels.len() == level + 1 {
                self.levels.push(Vec::new());
            }
            self.levels[level + 1].push(h);
            level += 1;
        }
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// The root of the first `size` leaves.
    pub fn root(&self, size: u64) -> Result<Hash, String> {
        if size == 0 {
            return Ok(empty_root());
        }
        subtree_hash(self, 0, size)
    }
}

impl NodeSource for MemoryTree {
    fn node(&self, level: u32, index: u64) -> Result<Hash, String> {
        self.levels
            .get(level as usize)
            .and_then(|l| l.get(index as usize))
            .copied()
            .ok_or_else(|| format!("no node ({level}, {index})"))
    }
}
