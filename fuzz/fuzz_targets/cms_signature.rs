//! Untrusted CMS / CAdES signatures (BER, nested countersignatures, embedded time-stamps and
//! revocation data): the validator gives a verdict, never a panic.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = tamga_sign::cms_read::parse_signed_data(data);
    let policy = tamga_sign::validate::Policy {
        anchors: vec![],
        extra_certs: vec![],
        extra_crls: vec![],
        extra_ocsp: vec![],
        time: 1_800_000_000,
        algorithms: tamga_pki::AlgorithmPolicy::Legacy,
        revocation: tamga_sign::validate::RevocationRequirement::IfAvailable,
    };
    let _ = tamga_sign::validate::validate_cms("f.p7s", data, Some(b"content"), &policy);
});
