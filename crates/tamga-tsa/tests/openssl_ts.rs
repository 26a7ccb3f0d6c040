//! Tamga's RFC 3161 tokens checked by `openssl ts -verify`; requests made by `openssl ts -query`;
//! bad requests rejected with the right failure info.

use std::sync::Arc;

use const_oid::ObjectIdentifier;
use tamga_keys::{KeyAlgorithm, Signer, SoftwareSigner};
use tamga_pki::ParsedCert;
use tamga_pki::builder::{key_identifier, now};
use tamga_pki::issue::{CertificateRequest, Issuer, NameBuilder, Profile, issue, self_signed_root};
use tamga_testkit::openssl;
use tamga_tsa::Tsa;

const POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.99999.3.1");

struct World {
    tsa_cert: ParsedCert,
    tsa_key: Arc<dyn Signer>,
    tsa_pkcs8: Vec<u8>,
    dir: tempfile::TempDir,
}

fn world(alg: KeyAlgorithm) -> World {
    let t = now();
    let key = |a| -> Arc<dyn Signer> { Arc::new(SoftwareSigner::generate("k", a).unwrap()) };
    let root_key = key(alg);
    let root = ParsedCert::from_der(
        &self_signed_root(
            root_key.as_ref(),
            NameBuilder::new().common_name("TS Root").unwrap().build(),
            t - 60,
            t + 86400 * 365,
            None,
        )
        .unwrap(),
    )
    .unwrap();
    let tsa_soft = SoftwareSigner::generate("tsa", alg).unwrap();
    let tsa_pkcs8 = tsa_soft.to_pkcs8().unwrap().to_vec();
    let tsa_key: Arc<dyn Signer> = Arc::new(tsa_soft);
    let der = issue(
        &Issuer {
            name: root.subject().clone(),
            key_id: key_identifier(root_key.public_key_der()).unwrap(),
            signer: root_key.as_ref(),
            policy: POLICY,
            crl_url: None,
            ocsp_url: None,
            ca_issuers_url: None,
        },
        &CertificateRequest {
            subject: NameBuilder::new()
                .country("MN")
                .unwrap()
                .common_name("Tamga TSA")
                .unwrap()
                .build(),
            spki_der: tsa_key.public_key_der().to_vec(),
            profile: Profile::Tsa,
            not_before: t - 60,
            not_after: t + 86400 * 30,
            alt_names: vec![],
            extra_extensions: vec![],
        },
    )
    .unwrap()
    .0;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("root.pem"),
        openssl::pem("CERTIFICATE", &root.der),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("tsa.pem"),
        openssl::pem("CERTIFICATE", &der),
    )
    .unwrap();
    std::fs::write(dir.path().join("data.txt"), "Гэрээ / contract").unwrap();
    World {
        tsa_cert: ParsedCert::from_der(&der).unwrap(),
        tsa_key,
        tsa_pkcs8,
        dir,
    }
}

fn ossl(dir: &std::path::Path, args: &[&str]) -> (bool, String) {
    openssl::run(dir, args)
}

#[test]
fn openssl_verifies_tokens_for_its_own_requests() {
    for alg in [
        KeyAlgorithm::EcP256,
        KeyAlgorithm::Rsa2048,
        KeyAlgorithm::EcP384,
    ] {
        let w = world(alg);
        let tsa = Tsa {
            cert: &w.tsa_cert,
            chain: &[],
            signer: w.tsa_key.as_ref(),
            policy: POLICY,
            accuracy_secs: 1,
        };
        let d = w.dir.path();
        for (hash, cert_req) in [("-sha256", true), ("-sha384", false), ("-sha512", true)] {
            let mut q = vec!["ts", "-query", "-data", "data.txt", hash, "-out", "req.tsq"];
            if cert_req {
                q.push("-cert");
            }
            let (ok, out) = ossl(d, &q);
            assert!(ok, "{out}");
            let resp = tsa.respond(&std::fs::read(d.join("req.tsq")).unwrap(), now());
            std::fs::write(d.join("resp.tsr"), &resp).unwrap();
            let (ok, text) = ossl(d, &["ts", "-reply", "-in", "resp.tsr", "-text"]);
            assert!(
                ok && text.contains("Status: Granted") && text.contains("1.3.6.1.4.1.99999.3.1"),
                "{text}"
            );
            let mut v = vec![
                "ts",
                "-verify",
                "-in",
                "resp.tsr",
                "-queryfile",
                "req.tsq",
                "-CAfile",
                "root.pem",
            ];
            if !cert_req {
                v.extend(["-untrusted", "tsa.pem"]);
            }
            let (ok, out) = ossl(d, &v);
            assert!(
                ok && out.contains("Verification: OK"),
                "{alg} {hash}: {out}"
            );
            // The token does not verify against other data.
            std::fs::write(d.join("other.txt"), "forged").unwrap();
            let mut v = vec![
                "ts",
                "-verify",
                "-in",
                "resp.tsr",
                "-data",
                "other.txt",
                "-CAfile",
                "root.pem",
            ];
            if !cert_req {
                v.extend(["-untrusted", "tsa.pem"]);
            }
            let (ok, out) = ossl(d, &v);
            assert!(!ok, "{out}");
        }
    }
}

#[test]
fn serials_are_unique_and_nonces_echoed() {
    let w = world(KeyAlgorithm::EcP256);
    let tsa = Tsa {
        cert: &w.tsa_cert,
        chain: &[],
        signer: w.tsa_key.as_ref(),
        policy: POLICY,
        accuracy_secs: 1,
    };
    let d = w.dir.path();
    let mut serials = std::collections::HashSet::new();
    for i in 0..20 {
        let (ok, out) = ossl(
            d,
            &[
                "ts", "-query", "-data", "data.txt", "-sha256", "-out", "req.tsq",
            ],
        );
        assert!(ok, "{out}");
        std::fs::write(
            d.join("resp.tsr"),
            tsa.respond(&std::fs::read(d.join("req.tsq")).unwrap(), now()),
        )
        .unwrap();
        let (_, text) = ossl(d, &["ts", "-reply", "-in", "resp.tsr", "-text"]);
        let serial = text
            .lines()
            .find(|l| l.starts_with("Serial number:"))
            .unwrap()
            .to_owned();
        assert!(serials.insert(serial), "serial repeated at {i}");
        // openssl puts a random nonce in every query; verification checks it came back.
        let (ok, out) = ossl(
            d,
            &[
                "ts",
                "-verify",
                "-in",
                "resp.tsr",
                "-queryfile",
                "req.tsq",
                "-CAfile",
                "root.pem",
                "-untrusted",
                "tsa.pem",
            ],
        );
        assert!(ok, "{out}");
    }
}

#[test]
fn bad_requests_are_rejected_with_failure_info() {
    let w = world(KeyAlgorithm::EcP256);
    let tsa = Tsa {
        cert: &w.tsa_cert,
        chain: &[],
        signer: w.tsa_key.as_ref(),
        policy: POLICY,
        accuracy_secs: 1,
    };
    let d = w.dir.path();
    let check = |resp: Vec<u8>, want: &str| {
        std::fs::write(d.join("bad.tsr"), &resp).unwrap();
        let (_, text) = ossl(d, &["ts", "-reply", "-in", "bad.tsr", "-text"]);
        assert!(
            text.contains("Status: Rejected") && text.contains(want),
            "{want}: {text}"
        );
    };
    check(tsa.respond(b"garbage", now()), "wrong format");
    let (ok, out) = ossl(
        d,
        &[
            "ts", "-query", "-data", "data.txt", "-sha1", "-out", "sha1.tsq",
        ],
    );
    assert!(ok, "{out}");
    check(
        tsa.respond(&std::fs::read(d.join("sha1.tsq")).unwrap(), now()),
        "unrecognized or unsupported algorithm",
    );
    let (ok, out) = ossl(
        d,
        &[
            "ts",
            "-query",
            "-data",
            "data.txt",
            "-sha256",
            "-tspolicy",
            "1.2.3.4",
            "-out",
            "pol.tsq",
        ],
    );
    assert!(ok, "{out}");
    check(
        tsa.respond(&std::fs::read(d.join("pol.tsq")).unwrap(), now()),
        "policy",
    );
}

#[test]
fn tamga_verifies_its_own_and_openssl_tokens() {
    let w = world(KeyAlgorithm::EcP256);
    let tsa = Tsa {
        cert: &w.tsa_cert,
        chain: &[],
        signer: w.tsa_key.as_ref(),
        policy: POLICY,
        accuracy_secs: 1,
    };
    let d = w.dir.path();
    let data = std::fs::read(d.join("data.txt")).unwrap();
    let policy = tamga_pki::AlgorithmPolicy::Strict;
    // Tamga's own token.
    let token = tamga_tsa::token_from_response(&tsa.respond(
        &tamga_tsa::build_request(&data, Some(b"42"), true).unwrap(),
        now(),
    ))
    .unwrap();
    let v = tamga_tsa::verify_token(&token, Some(&data), &[], policy).unwrap();
    assert_eq!(v.policy, POLICY);
    assert!((v.gen_time - now()).abs() < 5);
    assert!(matches!(
        tamga_tsa::verify_token(&token, Some(b"other"), &[], policy),
        Err(tamga_tsa::TokenError::ImprintMismatch)
    ));
    // Flip every byte in turn: the token is refused, or (where the byte is an unsigned
    // encoding detail) what it proves is exactly what it proved before. Never a forgery.
    for i in 0..token.len() {
        let mut t = token.clone();
        t[i] ^= 0x01;
        if let Ok(f) = tamga_tsa::verify_token(&t, Some(&data), &[], policy) {
            assert_eq!(
                (f.gen_time, f.policy, &f.serial, &f.imprint, &f.signer.der),
                (v.gen_time, v.policy, &v.serial, &v.imprint, &v.signer.der),
                "flip at {i} changed what the token proves"
            );
        }
    }
    // Without certReq the signer must be supplied.
    let bare = tamga_tsa::token_from_response(&tsa.respond(
        &tamga_tsa::build_request(&data, None, false).unwrap(),
        now(),
    ))
    .unwrap();
    assert!(matches!(
        tamga_tsa::verify_token(&bare, Some(&data), &[], policy),
        Err(tamga_tsa::TokenError::SignerUnknown)
    ));
    tamga_tsa::verify_token(
        &bare,
        Some(&data),
        std::slice::from_ref(&w.tsa_cert),
        policy,
    )
    .unwrap();

    // openssl as the TSA, Tamga as the verifier.
    std::fs::write(d.join("tsa.key"), openssl::pem("PRIVATE KEY", &w.tsa_pkcs8)).unwrap();
    std::fs::write(d.join("serial"), "01\n").unwrap();
    std::fs::write(
        d.join("tsa.cnf"),
        "[ tsa ]\ndefault_tsa = t\n[ t ]\nserial = ./serial\ncrypto_device = builtin\nsigner_cert = tsa.pem\nsigner_key = tsa.key\nsigner_digest = sha256\ndefault_policy = 1.3.6.1.4.1.99999.3.1\ndigests = sha256, sha384, sha512\naccuracy = secs:1\nordering = no\ntsa_name = no\ness_cert_id_chain = no\ness_cert_id_alg = sha256\n",
    )
    .unwrap();
    let (ok, out) = ossl(
        d,
        &[
            "ts", "-query", "-data", "data.txt", "-sha256", "-cert", "-out", "q.tsq",
        ],
    );
    assert!(ok, "{out}");
    let (ok, out) = ossl(
        d,
        &[
            "ts",
            "-reply",
            "-config",
            "tsa.cnf",
            "-queryfile",
            "q.tsq",
            "-out",
            "o.tsr",
        ],
    );
    assert!(ok, "openssl ts -reply: {out}");
    let token = tamga_tsa::token_from_response(&std::fs::read(d.join("o.tsr")).unwrap()).unwrap();
    let v = tamga_tsa::verify_token(&token, Some(&data), &[], policy).unwrap();
    assert_eq!(v.signer.der, w.tsa_cert.der);
}
