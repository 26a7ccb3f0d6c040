//! Offline receipts: the entry, its inclusion proof and the cosigned checkpoint, checked with
//! nothing but the log's key and the witnesses' keys — what a citizen or a court keeps.

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::merkle;
use crate::note::{Checkpoint, Note, Verifier};

/// A receipt (JSON).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Receipt {
    /// `tamga-ledger-receipt/1`.
    pub format: String,
    /// The log's checkpoint origin.
    pub origin: String,
    /// The entry's index.
    pub index: u64,
    /// The entry, base64.
    pub entry: String,
    /// Inclusion proof hashes, base64.
    pub proof: Vec<String>,
    /// The (cosigned) checkpoint note.
    pub checkpoint: String,
}

/// What a verified receipt says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Tree size of the checkpoint.
    pub size: u64,
    /// Witnesses whose cosignatures verified.
    pub witnesses: Vec<String>,
}

/// Verifies a receipt: the log's signature, at least `quorum` witness cosignatures among
/// `witnesses`, and the entry's inclusion in the checkpoint's tree.
pub fn verify(
    r: &Receipt,
    log_key: &Verifier,
    witnesses: &[Verifier],
    quorum: usize,
) -> Result<Verified, String> {
    if r.format != "tamga-ledger-receipt/1" {
        return Err(format!("unknown receipt format {:?}", r.format));
    }
    let note = Note::parse(r.checkpoint.as_bytes()).map_err(|e| e.to_string())?;
    note.verify(std::slice::from_ref(log_key))
        .map_err(|e| format!("log signature: {e}"))?;
    let cp = Checkpoint::parse(&note.text).map_err(|e| e.to_string())?;
    if cp.origin != r.origin || cp.origin != log_key.name {
        return Err("the checkpoint is from another log".into());
    }
    let mut names = Vec::new();
    for w in witnesses {
        if note.verify(std::slice::from_ref(w)).is_ok() {
            names.push(w.name.clone());
        }
    }
    if names.len() < quorum {
        return Err(format!(
            "{} witness cosignature(s) verify, {quorum} required",
            names.len()
        ));
    }
    let d = |s: &String| {
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(|_| "bad base64".to_string())
    };
    let entry = d(&r.entry)?;
    let proof: Vec<Vec<u8>> = r.proof.iter().map(d).collect::<Result<_, _>>()?;
    merkle::verify_inclusion(
        r.index,
        cp.size,
        &merkle::leaf_hash(&entry),
        &proof,
        &cp.root,
    )
    .map_err(|e| format!("inclusion: {e}"))?;
    Ok(Verified {
        size: cp.size,
        witnesses: names,
    })
}
