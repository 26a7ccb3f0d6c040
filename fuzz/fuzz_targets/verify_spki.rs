//! Untrusted SubjectPublicKeyInfo and signature bytes: verification must fail cleanly.
#![no_main]
use tamga_keys::{SignatureAlgorithm, verify};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let alg = SignatureAlgorithm::ALL[usize::from(data[0]) % SignatureAlgorithm::ALL.len()];
    let split = 1 + usize::from(data[1]).min(data.len() - 1);
    let (spki, sig) = data[1..].split_at(split - 1);
    assert!(verify(alg, spki, b"message", sig).is_err() || !sig.is_empty());
});
