//! Revocation end to end: CRLs and OCSP responses Tamga issues are accepted by `openssl crl`,
//! `openssl verify -crl_check` and `openssl ocsp`, and by Tamga's own validator.

use std::path::Path;
use std::sync::Arc;

use tamga_keys::{KeyAlgorithm, Signer, SoftwareSigner};
use tamga_pki::builder::{key_identifier, now};
use tamga_pki::crl::{CrlSet, CrlStatus};
use tamga_pki::crl_issue::{RevokedEntry, build_crl};
use tamga_pki::issue::{CertificateRequest, Issuer, NameBuilder, Profile, issue, self_signed_root};
use tamga_pki::ocsp::{
    Responder, SerialStatus, build_request, check_response, parse_request, status_only,
};
use tamga_pki::policy::PolicyInputs;
use tamga_pki::{
    AlgorithmPolicy, ParsedCert, Purpose, Reason, RevocationMode, ValidationInput, validate,
};
use tamga_testkit::openssl;
use x509_cert::ext::pkix::CrlReason;
use x509_ocsp::OcspResponseStatus;

struct World {
    root: ParsedCert,
    root_key: Arc<dyn Signer>,
    ca: ParsedCert,
    ca_key: Arc<dyn Signer>,
    ocsp: ParsedCert,
    ocsp_key: Arc<dyn Signer>,
    good: ParsedCert,
    bad: ParsedCert,
    dir: tempfile::TempDir,
}

fn key() -> Arc<dyn Signer> {
    Arc::new(SoftwareSigner::generate("k", KeyAlgorithm::EcP256).unwrap())
}

fn ca_issuer<'a>(ca: &ParsedCert, key: &'a dyn Signer) -> Issuer<'a> {
    Issuer {
        name: ca.subject().clone(),
        key_id: key_identifier(key.public_key_der()).unwrap(),
        signer: key,
        policy: const_oid::db::rfc5280::ANY_POLICY,
        crl_url: Some("http://127.0.0.1:1/crl".into()),
        ocsp_url: Some("http://127.0.0.1:1/ocsp".into()),
        ca_issuers_url: None,
    }
}

fn world() -> World {
    let t = now();
    let root_key = key();
    let root_name = NameBuilder::new()
        .country("MN")
        .unwrap()
        .common_name("Root")
        .unwrap()
        .build();
    let root = ParsedCert::from_der(
        &self_signed_root(root_key.as_ref(), root_name, t - 60, t + 86400 * 3650, None).unwrap(),
    )
    .unwrap();
    let ca_key = key();
    let mk = |issuer: &Issuer<'_>, cn: &str, k: &Arc<dyn Signer>, profile: Profile| {
        ParsedCert::from_der(
            &issue(
                issuer,
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
    let ca = mk(
        &ca_issuer(&root, root_key.as_ref()),
        "Issuing CA",
        &ca_key,
        Profile::IssuingCa { path_len: Some(0) },
    );
    let ocsp_key = key();
    let ci = ca_issuer(&ca, ca_key.as_ref());
    let ocsp = mk(&ci, "OCSP responder", &ocsp_key, Profile::OcspSigner);
    let good = mk(&ci, "good", &key(), Profile::CitizenAuth);
    let bad = mk(&ci, "bad", &key(), Profile::CitizenAuth);
    let dir = tempfile::tempdir().unwrap();
    for (f, c) in [
        ("root.pem", &root),
        ("ca.pem", &ca),
        ("good.pem", &good),
        ("bad.pem", &bad),
    ] {
        std::fs::write(dir.path().join(f), openssl::pem("CERTIFICATE", &c.der)).unwrap();
    }
    std::fs::write(
        dir.path().join("chain.pem"),
        format!(
            "{}{}",
            openssl::pem("CERTIFICATE", &root.der),
            openssl::pem("CERTIFICATE", &ca.der)
        ),
    )
    .unwrap();
    World {
        root,
        root_key,
        ca,
        ca_key,
        ocsp,
        ocsp_key,
        good,
        bad,
        dir,
    }
}

fn run(dir: &Path, args: &[&str]) -> String {
    let (ok, out) = openssl::run(dir, args);
    assert!(
        ok || out.contains("revoked") || out.contains("unauthorized") || out.contains("malformed"),
        "openssl {args:?}: {out}"
    );
    out
}

fn root_crl(w: &World) -> Vec<u8> {
    let t = now();
    build_crl(
        &ca_issuer(&w.root, w.root_key.as_ref()),
        t - 10,
        t + 3600,
        1,
        &[],
    )
    .unwrap()
}

fn tamga(
    w: &World,
    target: &ParsedCert,
    crls: &CrlSet,
    ocsp: &[Vec<u8>],
) -> Result<(), tamga_pki::ValidationError> {
    validate(&ValidationInput {
        target,
        intermediates: std::slice::from_ref(&w.ca),
        anchors: std::slice::from_ref(&w.root),
        time: now(),
        purpose: Purpose::Auth,
        policy: PolicyInputs::default(),
        algorithms: AlgorithmPolicy::Strict,
        crls,
        ocsp_responses: ocsp,
        revocation: RevocationMode::Require,
        fixed_path: None,
    })
    .map(|_| ())
}

#[test]
fn crls_are_accepted_by_openssl_and_tamga() {
    let w = world();
    let t = now();
    let ca_crl = build_crl(
        &ca_issuer(&w.ca, w.ca_key.as_ref()),
        t - 10,
        t + 3600,
        7,
        &[RevokedEntry {
            serial: w.bad.serial().to_vec(),
            at: t - 5,
            reason: Some(CrlReason::KeyCompromise),
        }],
    )
    .unwrap();
    std::fs::write(
        w.dir.path().join("ca.crl"),
        openssl::pem("X509 CRL", &ca_crl),
    )
    .unwrap();
    let out = run(
        w.dir.path(),
        &[
            "crl",
            "-in",
            "ca.crl",
            "-CAfile",
            "chain.pem",
            "-noout",
            "-text",
        ],
    );
    assert!(
        out.contains("verify OK")
            && out.contains("Key Compromise")
            && out.contains("X509v3 CRL Number"),
        "{out}"
    );
    // openssl needs the root's CRL too for -crl_check_all; -crl_check checks the leaf only.
    let out = run(
        w.dir.path(),
        &[
            "verify",
            "-crl_check",
            "-CRLfile",
            "ca.crl",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "ca.pem",
            "bad.pem",
        ],
    );
    assert!(out.contains("certificate revoked"), "{out}");
    let out = run(
        w.dir.path(),
        &[
            "verify",
            "-crl_check",
            "-CRLfile",
            "ca.crl",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "ca.pem",
            "good.pem",
        ],
    );
    assert!(out.contains("good.pem: OK"), "{out}");

    // Tamga needs every certificate's status: without the root's CRL the CA's is unknown.
    let err = tamga(
        &w,
        &w.bad,
        &CrlSet::from_der_list(std::slice::from_ref(&ca_crl)).unwrap(),
        &[],
    )
    .unwrap_err();
    assert!(
        matches!(err.reason, Reason::RevocationUnknown(_)) && err.index == 1,
        "{err}"
    );
    let crls = CrlSet::from_der_list(&[root_crl(&w), ca_crl]).unwrap();
    tamga(&w, &w.good, &crls, &[]).unwrap();
    let err = tamga(&w, &w.bad, &crls, &[]).unwrap_err();
    assert!(
        matches!(err.reason, Reason::Revoked { reason: Some(ref r), .. } if r == "KeyCompromise")
            && err.index == 2,
        "{err}"
    );
}

#[test]
fn ocsp_responses_are_accepted_by_openssl_and_tamga() {
    let w = world();
    let responder = Responder {
        ca: &w.ca,
        responder_cert: &w.ocsp,
        signer: w.ocsp_key.as_ref(),
        validity_secs: 3600,
    };
    let bad_serial = w.bad.serial().to_vec();
    let t = now();
    let lookup = |s: &[u8]| {
        if s == bad_serial {
            SerialStatus::Revoked {
                at: t - 5,
                reason: Some(CrlReason::KeyCompromise),
            }
        } else {
            SerialStatus::Good
        }
    };
    for (name, expect) in [
        ("good.pem", "Cert Status: good"),
        ("bad.pem", "Cert Status: revoked"),
    ] {
        // openssl builds the request (with a nonce), Tamga answers, openssl checks the answer.
        run(
            w.dir.path(),
            &[
                "ocsp", "-issuer", "ca.pem", "-cert", name, "-reqout", "req.der",
            ],
        );
        let req = parse_request(&std::fs::read(w.dir.path().join("req.der")).unwrap())
            .expect("openssl's request parses");
        assert!(req.nonce.is_some(), "openssl sends a nonce by default");
        let resp = responder.respond(&req, t, lookup).unwrap();
        std::fs::write(w.dir.path().join("resp.der"), &resp).unwrap();
        // With -reqin (and no -cert, which would make openssl build a new request with a new
        // nonce) openssl checks that the response echoes the request's nonce.
        let out = run(
            w.dir.path(),
            &[
                "ocsp",
                "-reqin",
                "req.der",
                "-respin",
                "resp.der",
                "-CAfile",
                "chain.pem",
                "-resp_text",
            ],
        );
        assert!(
            out.contains("Response verify OK")
                && out.contains(expect)
                && !out.contains("Nonce Verify error"),
            "{out}"
        );
        if name == "bad.pem" {
            assert!(out.contains("Revocation Reason: keyCompromise"), "{out}");
        }
    }
    let leaf_resp = |c: &ParsedCert| {
        responder
            .respond(
                &parse_request(&build_request(&w.ca, c.serial(), Some(b"n0nce")).unwrap()).unwrap(),
                t,
                lookup,
            )
            .unwrap()
    };
    assert_eq!(
        check_response(
            &leaf_resp(&w.good),
            &w.good,
            &w.ca,
            t,
            AlgorithmPolicy::Strict
        )
        .unwrap(),
        CrlStatus::Good
    );
    assert!(matches!(
        check_response(
            &leaf_resp(&w.bad),
            &w.bad,
            &w.ca,
            t,
            AlgorithmPolicy::Strict
        )
        .unwrap(),
        CrlStatus::Revoked { .. }
    ));
    // A response about another certificate, or tampered with, does not count.
    assert!(
        check_response(
            &leaf_resp(&w.good),
            &w.bad,
            &w.ca,
            t,
            AlgorithmPolicy::Strict
        )
        .is_err()
    );
    let mut forged = leaf_resp(&w.bad);
    let n = forged.len();
    forged[n / 2] ^= 0x01;
    assert!(check_response(&forged, &w.bad, &w.ca, t, AlgorithmPolicy::Strict).is_err());
    // Long after nextUpdate the answer is stale.
    assert!(matches!(
        check_response(
            &leaf_resp(&w.good),
            &w.good,
            &w.ca,
            t + 7200,
            AlgorithmPolicy::Strict
        )
        .unwrap(),
        CrlStatus::Stale(_)
    ));
    // The validator: the root's CRL for the CA, OCSP for the leaf.
    let crls = CrlSet::from_der_list(&[root_crl(&w)]).unwrap();
    tamga(&w, &w.good, &crls, &[leaf_resp(&w.good)]).unwrap();
    let err = tamga(&w, &w.bad, &crls, &[leaf_resp(&w.bad)]).unwrap_err();
    assert!(
        matches!(err.reason, Reason::Revoked { .. }) && err.index == 2,
        "{err}"
    );
    // A response about the good certificate says nothing about the bad one.
    let err = tamga(&w, &w.bad, &crls, &[leaf_resp(&w.good)]).unwrap_err();
    assert!(matches!(err.reason, Reason::RevocationUnknown(_)), "{err}");
}

#[test]
fn requests_for_another_ca_or_garbage_get_ocsp_errors() {
    let w = world();
    let responder = Responder {
        ca: &w.ca,
        responder_cert: &w.ocsp,
        signer: w.ocsp_key.as_ref(),
        validity_secs: 60,
    };
    // A request naming the root as issuer is not for this responder.
    let other = parse_request(&build_request(&w.root, w.ca.serial(), None).unwrap()).unwrap();
    let resp = responder
        .respond(&other, now(), |_| SerialStatus::Good)
        .unwrap();
    assert_eq!(resp, status_only(OcspResponseStatus::Unauthorized));
    std::fs::write(w.dir.path().join("unauth.der"), &resp).unwrap();
    let out = run(
        w.dir.path(),
        &["ocsp", "-respin", "unauth.der", "-resp_text", "-noverify"],
    );
    assert!(out.contains("unauthorized"), "{out}");
    for garbage in [&b""[..], b"\x30\x00", b"\x30\x03\x30\x01\x00", &[0xff; 64]] {
        assert!(parse_request(garbage).is_none());
    }
}
