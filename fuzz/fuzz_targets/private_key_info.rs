//! Untrusted PKCS#8 PrivateKeyInfo DER handed to the key loader.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = tamga_keys::SoftwareSigner::from_pkcs8("fuzz", data);
});
