//! Untrusted PDFs: structure, signature fields, byte ranges, changes after signing and the
//! PAdES validation built on them give a verdict or an error, never a panic.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = tamga_pdf::Document::parse(data)
        && let Ok(sigs) = tamga_pdf::signatures(&doc)
    {
        for s in &sigs {
            if let Some(r) = s.signed_revision(&doc) {
                let _ = tamga_pdf::changes::analyse(&doc, r);
            }
        }
    }
    let policy = tamga_sign::validate::Policy {
        anchors: vec![],
        extra_certs: vec![],
        extra_crls: vec![],
        extra_ocsp: vec![],
        time: 1_800_000_000,
        algorithms: tamga_pki::AlgorithmPolicy::Legacy,
        revocation: tamga_sign::validate::RevocationRequirement::IfAvailable,
    };
    let _ = tamga_sign::pades::validate_pdf("f.pdf", data, &policy);
});
