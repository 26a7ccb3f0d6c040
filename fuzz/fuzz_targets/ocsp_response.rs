//! Untrusted OCSP response DER, as a validator receives it.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = tamga_pki::ocsp::ParsedResponse::from_der(data);
});
