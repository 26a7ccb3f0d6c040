//! Untrusted CRL DER.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = tamga_pki::crl::ParsedCrl::from_der(data);
});
