//! Untrusted SubjectPublicKeyInfo and signature bytes: verification must fail cleanly.
//! Input: 1 byte algorithm index, 2 bytes SPKI length (big-endian), SPKI, signature.
#![no_main]
use tamga_keys::{SignatureAlgorithm, verify};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let alg = SignatureAlgorithm::ALL[usize::from(data[0]) % SignatureAlgorithm::ALL.len()];
    let n = usize::from(u16::from_be_bytes([data[1], data[2]]));
    let rest = &data[3..];
    let (spki, sig) = rest.split_at(n.min(rest.len()));
    // An empty signature never verifies.
    assert!(!sig.is_empty() || verify(alg, spki, b"message", sig).is_err());
});
