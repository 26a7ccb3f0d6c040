//! Untrusted PKCS#10 requests (DER or PEM) with proof-of-possession checking.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = tamga_pki::csr::verify_csr(data);
});
