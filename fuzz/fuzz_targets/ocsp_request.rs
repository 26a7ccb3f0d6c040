//! Untrusted OCSP request DER, as the responder receives it over HTTP.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = tamga_pki::ocsp::parse_request(data);
});
