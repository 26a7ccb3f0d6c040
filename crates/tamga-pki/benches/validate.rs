//! Path validation throughput: a 3-certificate chain (root → issuing CA → leaf, ECDSA P-256)
//! with full revocation checking (the root's CRL for the CA, an OCSP response for the leaf),
//! against the rate of raw P-256 signature verifications in the same run.
//!
//! `cargo bench -p tamga-pki --bench validate`. Two loads: "distinct" — every validation has
//! its own leaf and its own OCSP response (the CA certificate, CRL and responder certificate
//! repeat, as in production); "cold" — the verification cache is cleared before each one, so
//! all five signatures (CA, leaf, CRL, responder certificate, OCSP response) are checked.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tamga_keys::{KeyAlgorithm, SignatureAlgorithm, Signer, SoftwareSigner, verify};
use tamga_pki::builder::{key_identifier, now};
use tamga_pki::crl::CrlSet;
use tamga_pki::crl_issue::build_crl;
use tamga_pki::issue::{CertificateRequest, Issuer, NameBuilder, Profile, issue, self_signed_root};
use tamga_pki::ocsp::{Responder, SerialStatus, build_request, parse_request};
use tamga_pki::policy::PolicyInputs;
use tamga_pki::signature::clear_verification_cache;
use tamga_pki::{AlgorithmPolicy, ParsedCert, Purpose, RevocationMode, ValidationInput, validate};

/// More leaves than a 2-second run can validate, so no leaf or response repeats.
const LEAVES: usize = 24_000;

fn key() -> Arc<dyn Signer> {
    Arc::new(SoftwareSigner::generate("k", KeyAlgorithm::EcP256).unwrap())
}

fn issuer<'a>(c: &ParsedCert, k: &'a Arc<dyn Signer>) -> Issuer<'a> {
    Issuer {
        name: c.subject().clone(),
        key_id: key_identifier(k.public_key_der()).unwrap(),
        signer: k.as_ref(),
        policy: const_oid::db::rfc5280::ANY_POLICY,
        crl_url: Some("http://127.0.0.1/crl".into()),
        ocsp_url: Some("http://127.0.0.1/ocsp".into()),
        ca_issuers_url: None,
    }
}

fn main() {
    let t = now();
    let mk = |iss: &Issuer<'_>, cn: &str, k: &Arc<dyn Signer>, profile: Profile| {
        ParsedCert::from_der(
            &issue(
                iss,
                &CertificateRequest {
                    subject: NameBuilder::new()
                        .country("MN")
                        .unwrap()
                        .common_name(cn)
                        .unwrap()
                        .build(),
                    spki_der: k.public_key_der().to_vec(),
                    profile,
                    not_before: t - 60,
                    not_after: t + 86400 * 365,
                    alt_names: vec![],
                    extra_extensions: vec![],
                },
            )
            .unwrap()
            .0,
        )
        .unwrap()
    };
    let root_key = key();
    let root = ParsedCert::from_der(
        &self_signed_root(
            root_key.as_ref(),
            NameBuilder::new().common_name("Root").unwrap().build(),
            t - 60,
            t + 86400 * 3650,
            None,
        )
        .unwrap(),
    )
    .unwrap();
    let ca_key = key();
    let ca = mk(
        &issuer(&root, &root_key),
        "CA",
        &ca_key,
        Profile::IssuingCa { path_len: Some(0) },
    );
    let ocsp_key = key();
    let ocsp = mk(
        &issuer(&ca, &ca_key),
        "OCSP",
        &ocsp_key,
        Profile::OcspSigner,
    );
    let crls =
        CrlSet::from_der_list(&[
            build_crl(&issuer(&root, &root_key), t - 10, t + 86400, 1, &[]).unwrap(),
        ])
        .unwrap();
    let responder = Responder {
        ca: &ca,
        responder_cert: &ocsp,
        signer: ocsp_key.as_ref(),
        validity_secs: 3600,
    };
    let leaf_key = key();
    let leaves: Vec<(ParsedCert, Vec<Vec<u8>>)> = (0..LEAVES)
        .map(|i| {
            let leaf = mk(
                &issuer(&ca, &ca_key),
                &format!("leaf {i}"),
                &leaf_key,
                Profile::CitizenAuth,
            );
            let req = parse_request(&build_request(&ca, leaf.serial(), None).unwrap()).unwrap();
            let resp = responder.respond(&req, t, |_| SerialStatus::Good).unwrap();
            (leaf, vec![resp])
        })
        .collect();
    let anchors = [root];
    let inter = [ca];
    let run = |leaf: &ParsedCert, ocsp: &[Vec<u8>]| {
        validate(&ValidationInput {
            target: leaf,
            intermediates: &inter,
            anchors: &anchors,
            time: t,
            purpose: Purpose::Auth,
            policy: PolicyInputs::default(),
            algorithms: AlgorithmPolicy::Strict,
            crls: &crls,
            ocsp_responses: ocsp,
            revocation: RevocationMode::Require,
            fixed_path: None,
        })
        .expect("valid");
    };
    let rate = |cold: bool| {
        clear_verification_cache();
        let start = Instant::now();
        let mut n = 0usize;
        while start.elapsed() < Duration::from_secs(2) && n < LEAVES {
            let (leaf, ocsp) = &leaves[n];
            if cold {
                clear_verification_cache();
            }
            run(leaf, ocsp);
            n += 1;
        }
        n as f64 / start.elapsed().as_secs_f64()
    };
    // Baseline: raw P-256 verifications per second.
    let sig = leaf_key
        .sign(SignatureAlgorithm::EcdsaP256Sha256, b"baseline")
        .unwrap();
    let start = Instant::now();
    let mut v = 0usize;
    while start.elapsed() < Duration::from_secs(2) {
        verify(
            SignatureAlgorithm::EcdsaP256Sha256,
            leaf_key.public_key_der(),
            b"baseline",
            &sig,
        )
        .unwrap();
        v += 1;
    }
    let verify_rate = v as f64 / start.elapsed().as_secs_f64();
    let distinct = rate(false);
    let cold = rate(true);
    assert!(
        distinct * 2.0 < LEAVES as f64,
        "raise LEAVES: the distinct run exhausted them"
    );
    println!(
        "| load | validations/s | P-256 verifications/s (baseline) | validations per verification-time |"
    );
    println!("|---|---:|---:|---:|");
    println!(
        "| distinct leaf + OCSP response each time | {distinct:.0} | {verify_rate:.0} | {:.2} |",
        distinct / verify_rate
    );
    println!(
        "| cold (all 5 signatures checked) | {cold:.0} | {verify_rate:.0} | {:.2} |",
        cold / verify_rate
    );
}
