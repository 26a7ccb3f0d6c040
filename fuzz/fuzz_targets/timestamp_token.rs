//! Untrusted RFC 3161 responses and tokens: verification gives a verdict, never a panic.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = tamga_tsa::token_from_response(data);
    let _ = tamga_tsa::verify_token(data, Some(b"data"), &[], tamga_pki::AlgorithmPolicy::Strict);
});
