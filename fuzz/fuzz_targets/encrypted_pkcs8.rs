//! Untrusted EncryptedPrivateKeyInfo DER: must give a result or an error, never a panic or hang.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = tamga_keys::decrypt_pkcs8(data, b"fuzz passphrase");
});
