//! Untrusted ZIP / ASiC containers (zip bombs, traversal, damaged entries, manifests): bounded
//! memory, a verdict or an error, never a panic.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let limits = tamga_sign::zip::Limits { max_total: 16 << 20, ..Default::default() };
    let _ = tamga_sign::zip::read(data, limits);
    let policy = tamga_sign::validate::Policy {
        anchors: vec![],
        extra_certs: vec![],
        extra_crls: vec![],
        extra_ocsp: vec![],
        time: 1_800_000_000,
        algorithms: tamga_pki::AlgorithmPolicy::Legacy,
        revocation: tamga_sign::validate::RevocationRequirement::IfAvailable,
    };
    let _ = tamga_sign::asic::validate_asic("f.asice", data, &policy);
});
