//! Every vector in `../shared/testdata/merkle/` (transparency-dev/merkle): 518 inclusion,
//! consistency, subtree-inclusion and subtree-consistency cases, each verified or rejected as
//! upstream expects; plus proofs Tamga generates, checked against an independent root
//! computation for every size up to 130.

use std::path::{Path, PathBuf};

use base64::Engine;
use serde_json::Value;
use tamga_ledger::merkle::*;

fn dir() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/merkle");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("skipping: {} is absent", p.display());
        None
    }
}

fn files(d: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(d).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}

fn b64(v: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(v.as_str().unwrap_or(""))
        .unwrap_or_default()
}

fn proof(v: &Value) -> Vec<Vec<u8>> {
    v.as_array()
        .map(|a| a.iter().map(b64).collect())
        .unwrap_or_default()
}

#[test]
fn all_upstream_vectors() {
    let Some(d) = dir() else { return };
    let mut n = 0;
    for (kind, count) in [
        ("inclusion", 98),
        ("consistency", 98),
        ("subtreeinclusion", 204),
        ("subtreeconsistency", 118),
    ] {
        let mut fs = Vec::new();
        files(&d.join(kind), &mut fs);
        assert_eq!(fs.len(), count, "{kind}");
        for f in fs {
            let v: Value = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
            let u = |k: &str| v[k].as_u64().unwrap_or(u64::MAX);
            let r = match kind {
                "inclusion" => verify_inclusion(
                    u("leafIdx"),
                    u("treeSize"),
                    &b64(&v["leafHash"]),
                    &proof(&v["proof"]),
                    &b64(&v["root"]),
                ),
                "consistency" => verify_consistency(
                    u("size1"),
                    u("size2"),
                    &proof(&v["proof"]),
                    &b64(&v["root1"]),
                    &b64(&v["root2"]),
                ),
                "subtreeinclusion" => verify_subtree_inclusion(
                    u("leafIdx"),
                    u("start"),
                    u("end"),
                    &b64(&v["leafHash"]),
                    &proof(&v["proof"]),
                    &b64(&v["root"]),
                ),
                _ => verify_subtree_consistency(
                    u("start"),
                    u("end"),
                    u("size"),
                    &proof(&v["proof"]),
                    &b64(&v["root1"]),
                    &b64(&v["root2"]),
                ),
            };
            let want_err = v["wantErr"].as_bool().unwrap();
            assert_eq!(
                r.is_err(),
                want_err,
                "{}: {} -> {r:?}",
                f.display(),
                v["desc"]
            );
            n += 1;
        }
    }
    assert_eq!(n, 518);
}

/// RFC 6962 root by its definition, for cross-checking.
fn mth(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
            node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

#[test]
fn generated_proofs_verify_for_every_size() {
    let mut t = MemoryTree::default();
    let mut leaves = Vec::new();
    for i in 0..130u32 {
        let l = leaf_hash(&i.to_be_bytes());
        t.push(l);
        leaves.push(l);
        let n = t.size();
        let root = t.root(n).unwrap();
        assert_eq!(root, mth(&leaves), "root of {n}");
        for idx in [0, n / 2, n - 1] {
            let p: Vec<Vec<u8>> = inclusion_proof(&t, idx, n)
                .unwrap()
                .iter()
                .map(|h| h.to_vec())
                .collect();
            verify_inclusion(idx, n, &leaves[idx as usize], &p, &root).unwrap();
        }
        for old in [1, n / 3 + 1, n - 1] {
            if old == 0 || old > n {
                continue;
            }
            let p: Vec<Vec<u8>> = consistency_proof(&t, old, n)
                .unwrap()
                .iter()
                .map(|h| h.to_vec())
                .collect();
            verify_consistency(old, n, &p, &mth(&leaves[..old as usize]), &root)
                .unwrap_or_else(|e| panic!("{old} -> {n}: {e}"));
        }
    }
    // A forged leaf or a forked history is caught.
    let root = t.root(130).unwrap();
    let p: Vec<Vec<u8>> = inclusion_proof(&t, 7, 130)
        .unwrap()
        .iter()
        .map(|h| h.to_vec())
        .collect();
    assert_eq!(
        verify_inclusion(7, 130, &leaf_hash(b"forged"), &p, &root),
        Err(ProofError::Mismatch)
    );
    let mut forked = leaves[..100].to_vec();
    forked[50] = leaf_hash(b"rewritten");
    let p: Vec<Vec<u8>> = consistency_proof(&t, 100, 130)
        .unwrap()
        .iter()
        .map(|h| h.to_vec())
        .collect();
    assert!(verify_consistency(100, 130, &p, &mth(&forked), &root).is_err());
}
