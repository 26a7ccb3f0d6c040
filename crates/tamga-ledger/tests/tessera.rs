//! The tessera golden log (`../shared/testdata/tessera-log/`): Tamga verifies every signed
//! checkpoint with the published vkey, rejects altered ones, and recomputes every root from
//! the tiles and entry bundles, with inclusion and consistency proofs between all sizes.

use std::path::PathBuf;

use tamga_ledger::merkle::{self, MemoryTree};
use tamga_ledger::note::{Note, NoteError, Verifier, open_checkpoint};

const VKEY: &str = "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx";
const ORIGIN: &str = "example.com/log/testdata";

fn dir() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/tessera-log");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("skipping: {} is absent", p.display());
        None
    }
}

#[test]
fn checkpoints_verify_and_roots_recompute_from_tiles() {
    let Some(d) = dir() else { return };
    let key = Verifier::from_vkey(VKEY).unwrap();
    assert_eq!(key.vkey(), VKEY);
    let keys = [key];
    // Entries from the largest bundle, checked against the level-0 tile.
    let bundle = std::fs::read(d.join("tile/entries/000.p/15")).unwrap();
    let mut entries = Vec::new();
    let mut i = 0;
    while i < bundle.len() {
        let n = u16::from_be_bytes([bundle[i], bundle[i + 1]]) as usize;
        entries.push(bundle[i + 2..i + 2 + n].to_vec());
        i += 2 + n;
    }
    assert_eq!(entries.len(), 15);
    assert_eq!(entries[7], b"eit");
    let tile = std::fs::read(d.join("tile/0/000.p/15")).unwrap();
    let mut tree = MemoryTree::default();
    for (k, e) in entries.iter().enumerate() {
        let h = merkle::leaf_hash(e);
        assert_eq!(&tile[k * 32..k * 32 + 32], h.as_slice());
        tree.push(h);
    }
    let mut roots = Vec::new();
    for n in 0..=15u64 {
        let data = std::fs::read(d.join(format!("checkpoint.{n}"))).unwrap();
        let (_, cp) = open_checkpoint(&data, ORIGIN, &keys).unwrap();
        assert_eq!(cp.size, n);
        assert_eq!(cp.root, tree.root(n).unwrap(), "root of {n}");
        roots.push(cp.root);
    }
    // Proofs from the tiles for every pair.
    for n in 1..=15u64 {
        for i in 0..n {
            let p: Vec<Vec<u8>> = merkle::inclusion_proof(&tree, i, n)
                .unwrap()
                .iter()
                .map(|h| h.to_vec())
                .collect();
            merkle::verify_inclusion(
                i,
                n,
                &merkle::leaf_hash(&entries[i as usize]),
                &p,
                &roots[n as usize],
            )
            .unwrap();
        }
        for m in 1..=n {
            let p: Vec<Vec<u8>> = merkle::consistency_proof(&tree, m, n)
                .unwrap()
                .iter()
                .map(|h| h.to_vec())
                .collect();
            merkle::verify_consistency(m, n, &p, &roots[m as usize], &roots[n as usize]).unwrap();
        }
    }
    // Altered checkpoints are refused.
    let good = std::fs::read_to_string(d.join("checkpoint")).unwrap();
    assert!(matches!(
        open_checkpoint(good.as_bytes(), "example.com/other", &keys),
        Err(NoteError::Checkpoint(_))
    ));
    let bumped = good.replacen("\n15\n", "\n16\n", 1);
    assert!(matches!(
        open_checkpoint(bumped.as_bytes(), ORIGIN, &keys),
        Err(NoteError::BadSignature(_))
    ));
    let renamed = good.replace(
        "\u{2014} example.com/log/testdata ",
        "\u{2014} example.com/log/other ",
    );
    assert_eq!(
        open_checkpoint(renamed.as_bytes(), ORIGIN, &keys).unwrap_err(),
        NoteError::Unverified
    );
    // And the note round-trips byte for byte.
    assert_eq!(Note::parse(good.as_bytes()).unwrap().to_text(), good);
}
