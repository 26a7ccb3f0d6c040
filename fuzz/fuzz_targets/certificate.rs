//! Untrusted certificate DER (and PEM bundles): parsing and the profile checks must give a
//! result or an error, never a panic.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(c) = tamga_pki::ParsedCert::from_der(data) {
        let _ = tamga_pki::profile::check(&c, c.is_self_issued());
        let _ = c.subject_string();
    }
    let _ = tamga_pki::ParsedCert::all_from_pem_or_der(data);
});
