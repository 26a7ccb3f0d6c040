//! Tamga's CAdES B-B signatures checked by `openssl cms -verify`, detached and enveloping, with
//! ECDSA, RSA and Ed25519 signers; a changed file or a swapped certificate fails.

use std::sync::Arc;

use tamga_keys::{KeyAlgorithm, Signer, SoftwareSigner};
use tamga_pki::ParsedCert;
use tamga_pki::builder::{key_identifier, now};
use tamga_pki::identity::RegistrationNumber;
use tamga_pki::issue::{
    CertificateRequest, Issuer, NameBuilder, Profile, citizen_name, issue, self_signed_root,
};
use tamga_sign::{Packaging, SignError, cades_sign};
use tamga_testkit::openssl;

fn citizen(alg: KeyAlgorithm) -> (ParsedCert, Arc<dyn Signer>, ParsedCert) {
    let t = now();
    let root_key: Arc<dyn Signer> =
        Arc::new(SoftwareSigner::generate("r", KeyAlgorithm::EcP384).unwrap());
    let root = ParsedCert::from_der(
        &self_signed_root(
            root_key.as_ref(),
            NameBuilder::new()
                .common_name("CAdES Root")
                .unwrap()
                .build(),
            t - 60,
            t + 86400 * 365,
            None,
        )
        .unwrap(),
    )
    .unwrap();
    let key: Arc<dyn Signer> = Arc::new(SoftwareSigner::generate("s", alg).unwrap());
    let id = RegistrationNumber::parse("УБ00150110").unwrap();
    let der = issue(
        &Issuer {
            name: root.subject().clone(),
            key_id: key_identifier(root_key.public_key_der()).unwrap(),
            signer: root_key.as_ref(),
            policy: const_oid::db::rfc5280::ANY_POLICY,
            crl_url: None,
            ocsp_url: None,
            ca_issuers_url: None,
        },
        &CertificateRequest {
            subject: citizen_name("Болд", "Дорж", &id).unwrap(),
            spki_der: key.public_key_der().to_vec(),
            profile: Profile::CitizenSign,
            not_before: t - 60,
            not_after: t + 86400,
            alt_names: vec![],
            extra_extensions: vec![],
        },
    )
    .unwrap()
    .0;
    (ParsedCert::from_der(&der).unwrap(), key, root)
}

#[test]
fn openssl_verifies_detached_and_enveloping_signatures() {
    // Ed25519 (RFC 8419) is left out here: OpenSSL 3.0 can neither make nor check Ed25519 CMS
    // signatures ("no default digest" / "invalid digest"); Tamga's own CAdES validator will.
    for alg in [
        KeyAlgorithm::EcP256,
        KeyAlgorithm::EcP384,
        KeyAlgorithm::Rsa2048,
    ] {
        let (cert, key, root) = citizen(alg);
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let content = "Худалдах, худалдан авах гэрээ №42\n".repeat(50);
        std::fs::write(d.join("contract.txt"), &content).unwrap();
        std::fs::write(d.join("root.pem"), openssl::pem("CERTIFICATE", &root.der)).unwrap();
        for packaging in [Packaging::Detached, Packaging::Enveloping] {
            let p7s = cades_sign(
                content.as_bytes(),
                packaging,
                key.as_ref(),
                &cert,
                &[],
                now(),
            )
            .unwrap();
            std::fs::write(d.join("sig.p7s"), &p7s).unwrap();
            let mut args = vec![
                "cms", "-verify", "-binary", "-inform", "DER", "-in", "sig.p7s", "-CAfile",
                "root.pem", "-purpose", "any", "-out", "out.txt",
            ];
            if packaging == Packaging::Detached {
                args.extend(["-content", "contract.txt"]);
            }
            let (ok, out) = openssl::run(d, &args);
            assert!(
                ok && out.contains("Verification successful"),
                "{alg} {packaging:?}: {out}"
            );
            assert_eq!(std::fs::read_to_string(d.join("out.txt")).unwrap(), content);
            let (ok, text) = openssl::run(
                d,
                &[
                    "cms", "-cmsout", "-print", "-inform", "DER", "-in", "sig.p7s",
                ],
            );
            assert!(
                ok && text.contains("signingCertificateV2")
                    || text.contains("id-aa-signingCertificateV2"),
                "{text}"
            );
        }
        // The detached signature does not cover another file.
        let p7s = cades_sign(
            content.as_bytes(),
            Packaging::Detached,
            key.as_ref(),
            &cert,
            &[],
            now(),
        )
        .unwrap();
        std::fs::write(d.join("sig.p7s"), &p7s).unwrap();
        std::fs::write(d.join("forged.txt"), content.replace("42", "43")).unwrap();
        let (ok, out) = openssl::run(
            d,
            &[
                "cms",
                "-verify",
                "-binary",
                "-inform",
                "DER",
                "-in",
                "sig.p7s",
                "-content",
                "forged.txt",
                "-CAfile",
                "root.pem",
                "-purpose",
                "any",
                "-out",
                "/dev/null",
            ],
        );
        assert!(!ok && out.contains("Verification failure"), "{out}");
    }
}

#[test]
fn a_certificate_for_another_key_is_refused() {
    let (cert, _key, _root) = citizen(KeyAlgorithm::EcP256);
    let other = SoftwareSigner::generate("o", KeyAlgorithm::EcP256).unwrap();
    assert!(matches!(
        cades_sign(b"x", Packaging::Detached, &other, &cert, &[], now()),
        Err(SignError::KeyMismatch)
    ));
}

#[test]
fn b_t_adds_a_signature_timestamp_openssl_still_verifies() {
    let (cert, key, root) = citizen(KeyAlgorithm::EcP256);
    let tsa_key = SoftwareSigner::generate("tsa", KeyAlgorithm::EcP256).unwrap();
    let t = now();
    // The TSA has a hierarchy of its own, as a qualified TSA would.
    let root_signer = SoftwareSigner::generate("tsa-root", KeyAlgorithm::EcP256).unwrap();
    let tsa_root = ParsedCert::from_der(
        &self_signed_root(
            &root_signer,
            NameBuilder::new().common_name("TSA Root").unwrap().build(),
            t - 60,
            t + 86400,
            None,
        )
        .unwrap(),
    )
    .unwrap();
    let tsa_cert = ParsedCert::from_der(
        &issue(
            &Issuer {
                name: tsa_root.subject().clone(),
                key_id: key_identifier(root_signer.public_key_der()).unwrap(),
                signer: &root_signer,
                policy: const_oid::db::rfc5280::ANY_POLICY,
                crl_url: None,
                ocsp_url: None,
                ca_issuers_url: None,
            },
            &CertificateRequest {
                subject: NameBuilder::new().common_name("TSA").unwrap().build(),
                spki_der: tsa_key.public_key_der().to_vec(),
                profile: Profile::Tsa,
                not_before: t - 60,
                not_after: t + 86400,
                alt_names: vec![],
                extra_extensions: vec![],
            },
        )
        .unwrap()
        .0,
    )
    .unwrap();
    let tsa = tamga_tsa::Tsa {
        cert: &tsa_cert,
        chain: &[],
        signer: &tsa_key,
        policy: "1.3.6.1.4.1.99999.3.1".parse().unwrap(),
        accuracy_secs: 1,
    };
    let content = b"contract".repeat(100);
    let bb = cades_sign(&content, Packaging::Detached, key.as_ref(), &cert, &[], t).unwrap();
    let bt = tamga_sign::cades_add_signature_timestamp(&bb, |req| tsa.respond(req, t)).unwrap();
    assert!(bt.len() > bb.len());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("c.bin"), &content).unwrap();
    std::fs::write(d.join("root.pem"), openssl::pem("CERTIFICATE", &root.der)).unwrap();
    std::fs::write(d.join("bt.p7s"), &bt).unwrap();
    let (ok, out) = openssl::run(
        d,
        &[
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            "bt.p7s",
            "-content",
            "c.bin",
            "-CAfile",
            "root.pem",
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ],
    );
    assert!(ok && out.contains("Verification successful"), "{out}");
    let (ok, text) = openssl::run(
        d,
        &[
            "cms", "-cmsout", "-print", "-inform", "DER", "-in", "bt.p7s",
        ],
    );
    assert!(ok && text.contains("id-smime-aa-timeStampToken"), "{text}");
    // A TSA answering nonsense leaves the signature as it was, with an error.
    assert!(matches!(
        tamga_sign::cades_add_signature_timestamp(&bb, |_| b"junk".to_vec()),
        Err(tamga_sign::ExtendError::Timestamp(_))
    ));
    assert!(matches!(
        tamga_sign::cades_add_signature_timestamp(b"junk", |_| vec![]),
        Err(tamga_sign::ExtendError::Malformed(_))
    ));
}
