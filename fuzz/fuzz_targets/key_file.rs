//! Untrusted key-file text (two PEM blocks).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = tamga_keys::parse_key_file(text);
    }
});
