//! Untrusted RFC 4998 evidence records and archive packages: a verdict, never a panic.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let policy = tamga_archive::ers::ErsPolicy::new(vec![], 1_800_000_000);
    if let Ok(record) = tamga_archive::ers::parse(data) {
        let _ = tamga_archive::ers::verify(&record, b"document", &policy);
        let _ = tamga_archive::ers::timestamp_renewal_leaf(&record);
        let _ = tamga_archive::ers::encode(&record);
    }
    let _ = tamga_archive::package::verify(data, &policy, None);
});
