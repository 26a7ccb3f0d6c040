//! Untrusted signed notes, checkpoints, vkeys, tile paths and witness submissions: an error or
//! a result, never a panic.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = tamga_ledger::note::Note::parse(data);
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = tamga_ledger::note::Checkpoint::parse(s);
        let _ = tamga_ledger::note::Verifier::from_vkey(s);
        let parts: Vec<&str> = s.split('/').collect();
        let _ = tamga_ledger::http::parse_tile_index(&parts);
    }
    // Proof verification with attacker-chosen sizes and hashes.
    if data.len() >= 16 {
        let a = u64::from_be_bytes(data[..8].try_into().unwrap_or([0; 8]));
        let b = u64::from_be_bytes(data[8..16].try_into().unwrap_or([0; 8]));
        let proof: Vec<Vec<u8>> = data[16..].chunks(32).map(|c| c.to_vec()).collect();
        let _ = tamga_ledger::merkle::verify_inclusion(a, b, &[0; 32], &proof, &[1; 32]);
        let _ = tamga_ledger::merkle::verify_consistency(a, b, &proof, &[0; 32], &[1; 32]);
        let _ = tamga_ledger::merkle::verify_subtree_consistency(a % 1024, b % 4096, b, &proof, &[0; 32], &[1; 32]);
    }
});
