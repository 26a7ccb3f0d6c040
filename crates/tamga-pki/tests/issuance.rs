//! Issued hierarchies: Tamga's validator and `openssl verify -x509_strict` both accept every
//! profile for its purpose; PKCS#10 requests from openssl are honoured only with a valid proof
//! of possession.

use std::sync::Arc;

use const_oid::ObjectIdentifier;
use tamga_keys::{KeyAlgorithm, Signer, SoftwareSigner};
use tamga_pki::builder::{key_identifier, now};
use tamga_pki::crl::CrlSet;
use tamga_pki::csr::{CsrError, verify_csr};
use tamga_pki::identity::RegistrationNumber;
use tamga_pki::issue::{
    CertificateRequest, Issuer, NameBuilder, Profile, citizen_name, issue, official_name,
    organisation_name, registration_alt_name, self_signed_root,
};
use tamga_pki::policy::PolicyInputs;
use tamga_pki::{
    AlgorithmPolicy, ParsedCert, Purpose, Reason, RevocationMode, ValidationInput, validate,
};
use tamga_testkit::openssl;
use x509_cert::ext::pkix::name::GeneralName;

const POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.99999.1.1");

struct Ca {
    signer: Arc<dyn Signer>,
    cert: Vec<u8>,
    name: x509_cert::name::Name,
}

impl Ca {
    fn issuer(&self) -> Issuer<'_> {
        Issuer {
            name: self.name.clone(),
            key_id: key_identifier(self.signer.public_key_der()).unwrap(),
            signer: self.signer.as_ref(),
            policy: POLICY,
            crl_url: Some("http://127.0.0.1:8080/pki/test-ca/crl".into()),
            ocsp_url: Some("http://127.0.0.1:8080/pki/test-ca/ocsp".into()),
            ca_issuers_url: Some("http://127.0.0.1:8080/pki/test-ca/ca.crt".into()),
        }
    }
}

fn key(alg: KeyAlgorithm) -> Arc<dyn Signer> {
    Arc::new(SoftwareSigner::generate("k", alg).unwrap())
}

fn hierarchy(root_alg: KeyAlgorithm, ca_alg: KeyAlgorithm) -> (Ca, Ca) {
    let t = now();
    let root_key = key(root_alg);
    let root_name = NameBuilder::new()
        .country("MN")
        .unwrap()
        .organization("Tamga Test")
        .unwrap()
        .common_name("Tamga Test Root CA")
        .unwrap()
        .build();
    let root_cert = self_signed_root(
        root_key.as_ref(),
        root_name.clone(),
        t - 60,
        t + 20 * 365 * 86400,
        Some(1),
    )
    .unwrap();
    let root = Ca {
        signer: root_key,
        cert: root_cert,
        name: root_name,
    };
    let ca_key = key(ca_alg);
    let ca_name = NameBuilder::new()
        .country("MN")
        .unwrap()
        .organization("Tamga Test")
        .unwrap()
        .common_name("Тамга Туршилтын CA / Test Issuing CA")
        .unwrap()
        .build();
    let (ca_cert, _) = issue(
        &root.issuer(),
        &CertificateRequest {
            subject: ca_name.clone(),
            spki_der: ca_key.public_key_der().to_vec(),
            profile: Profile::IssuingCa { path_len: Some(0) },
            not_before: t - 60,
            not_after: t + 10 * 365 * 86400,
            alt_names: vec![],
            extra_extensions: vec![],
        },
    )
    .unwrap();
    (
        root,
        Ca {
            signer: ca_key,
            cert: ca_cert,
            name: ca_name,
        },
    )
}

fn leaf(
    ca: &Ca,
    subject: x509_cert::name::Name,
    profile: Profile,
    alt: Vec<GeneralName>,
    alg: KeyAlgorithm,
) -> Vec<u8> {
    let t = now();
    issue(
        &ca.issuer(),
        &CertificateRequest {
            subject,
            spki_der: key(alg).public_key_der().to_vec(),
            profile,
            not_before: t - 60,
            not_after: t + 2 * 365 * 86400,
            alt_names: alt,
            extra_extensions: vec![],
        },
    )
    .unwrap()
    .0
}

fn tamga_validate(
    root: &Ca,
    ca: &Ca,
    leaf: &[u8],
    purpose: Purpose,
) -> Result<(), tamga_pki::ValidationError> {
    let anchors = [ParsedCert::from_der(&root.cert).unwrap()];
    let inter = [ParsedCert::from_der(&ca.cert).unwrap()];
    let target = ParsedCert::from_der(leaf).unwrap();
    let crls = CrlSet::default();
    validate(&ValidationInput {
        target: &target,
        intermediates: &inter,
        anchors: &anchors,
        time: now(),
        purpose,
        policy: PolicyInputs {
            initial_policy_set: vec![POLICY],
            initial_explicit_policy: true,
            ..Default::default()
        },
        algorithms: AlgorithmPolicy::Strict,
        crls: &crls,
        ocsp_responses: &[],
        revocation: RevocationMode::Off,
        fixed_path: None,
    })
    .map(|_| ())
}

fn openssl_verify(root: &Ca, ca: &Ca, leaf: &[u8], purpose: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("root.pem"),
        openssl::pem("CERTIFICATE", &root.cert),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("ca.pem"),
        openssl::pem("CERTIFICATE", &ca.cert),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("leaf.pem"),
        openssl::pem("CERTIFICATE", leaf),
    )
    .unwrap();
    openssl::run(
        dir.path(),
        &[
            "verify",
            "-x509_strict",
            "-policy_check",
            "-explicit_policy",
            "-policy",
            "1.3.6.1.4.1.99999.1.1",
            "-purpose",
            purpose,
            "-CAfile",
            "root.pem",
            "-untrusted",
            "ca.pem",
            "leaf.pem",
        ],
    )
}

#[test]
fn every_profile_validates_here_and_in_openssl() {
    for (root_alg, ca_alg, leaf_alg) in [
        (
            KeyAlgorithm::EcP384,
            KeyAlgorithm::EcP256,
            KeyAlgorithm::EcP256,
        ),
        (
            KeyAlgorithm::Rsa3072,
            KeyAlgorithm::Rsa2048,
            KeyAlgorithm::Rsa2048,
        ),
        (
            KeyAlgorithm::Ed25519,
            KeyAlgorithm::Ed25519,
            KeyAlgorithm::Ed25519,
        ),
    ] {
        let (root, ca) = hierarchy(root_alg, ca_alg);
        let id = RegistrationNumber::parse("ӨҮ99013112").unwrap();
        let person = citizen_name("Болд", "Батбаяр", &id).unwrap();
        let alt = vec![registration_alt_name(&id).unwrap()];
        let dns = vec![GeneralName::DnsName(
            der::asn1::Ia5String::new("gw.khur.gov.mn").unwrap(),
        )];
        let cases: Vec<(&str, Vec<u8>, Purpose, &str)> = vec![
            (
                "citizen auth",
                leaf(
                    &ca,
                    person.clone(),
                    Profile::CitizenAuth,
                    alt.clone(),
                    leaf_alg,
                ),
                Purpose::Auth,
                "sslclient",
            ),
            (
                "citizen sign",
                leaf(
                    &ca,
                    person.clone(),
                    Profile::CitizenSign,
                    alt.clone(),
                    leaf_alg,
                ),
                Purpose::Sign,
                "any",
            ),
            (
                "legal person",
                leaf(
                    &ca,
                    organisation_name("Улсын бүртгэлийн ерөнхий газар", "2012345").unwrap(),
                    Profile::LegalPersonSeal,
                    vec![],
                    leaf_alg,
                ),
                Purpose::Sign,
                "any",
            ),
            (
                "official",
                leaf(
                    &ca,
                    official_name("Сарнай", "Дорж", &id, "ХУР", "2012345", "Мэргэжилтэн").unwrap(),
                    Profile::Official,
                    alt.clone(),
                    leaf_alg,
                ),
                Purpose::Sign,
                "any",
            ),
            (
                "tls server",
                leaf(
                    &ca,
                    NameBuilder::new()
                        .common_name("gw.khur.gov.mn")
                        .unwrap()
                        .build(),
                    Profile::TlsServer,
                    dns.clone(),
                    leaf_alg,
                ),
                Purpose::TlsServer,
                "sslserver",
            ),
            (
                "tls client",
                leaf(
                    &ca,
                    NameBuilder::new()
                        .common_name("gw.khur.gov.mn")
                        .unwrap()
                        .build(),
                    Profile::TlsClient,
                    dns.clone(),
                    leaf_alg,
                ),
                Purpose::TlsClient,
                "sslclient",
            ),
            (
                "ocsp",
                leaf(
                    &ca,
                    NameBuilder::new().common_name("OCSP").unwrap().build(),
                    Profile::OcspSigner,
                    vec![],
                    leaf_alg,
                ),
                Purpose::Ocsp,
                "ocsphelper",
            ),
            (
                "tsa",
                leaf(
                    &ca,
                    NameBuilder::new().common_name("TSA").unwrap().build(),
                    Profile::Tsa,
                    vec![],
                    leaf_alg,
                ),
                Purpose::Tsa,
                "timestampsign",
            ),
        ];
        for (what, der, purpose, ossl_purpose) in &cases {
            tamga_validate(&root, &ca, der, *purpose)
                .unwrap_or_else(|e| panic!("{root_alg}/{what}: {e}"));
            let (ok, out) = openssl_verify(&root, &ca, der, ossl_purpose);
            assert!(ok, "openssl rejects {root_alg}/{what}: {out}");
        }
        // Purposes are enforced: a signing certificate does not authenticate, and vice versa.
        let sign = &cases[1].1;
        assert!(matches!(
            tamga_validate(&root, &ca, sign, Purpose::Auth)
                .unwrap_err()
                .reason,
            Reason::KeyUsage(_)
        ));
        let auth = &cases[0].1;
        assert!(matches!(
            tamga_validate(&root, &ca, auth, Purpose::Sign)
                .unwrap_err()
                .reason,
            Reason::KeyUsage(_)
        ));
        let tls = &cases[4].1;
        assert!(tamga_validate(&root, &ca, tls, Purpose::Tsa).is_err());
    }
}

#[test]
fn citizen_certificate_carries_both_forms_of_the_registration_number() {
    let (_root, ca) = hierarchy(KeyAlgorithm::EcP256, KeyAlgorithm::EcP256);
    let id = RegistrationNumber::parse("УБ99010112").unwrap();
    let der = leaf(
        &ca,
        citizen_name("Болд", "Батбаяр", &id).unwrap(),
        Profile::CitizenSign,
        vec![registration_alt_name(&id).unwrap()],
        KeyAlgorithm::EcP256,
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.pem"), openssl::pem("CERTIFICATE", &der)).unwrap();
    let (ok, text) = openssl::run(
        dir.path(),
        &[
            "x509",
            "-in",
            "c.pem",
            "-noout",
            "-text",
            "-nameopt",
            "utf8,sep_comma_plus",
        ],
    );
    assert!(ok, "{text}");
    assert!(text.contains("serialNumber=PNOMN-UB99010112"), "{text}");
    // openssl prints the SAN directoryName's UTF-8 bytes escaped: "УБ" is D0 A3 D0 91.
    assert!(
        text.contains(r"DirName:/CN=PNOMN-\xD0\xA3\xD0\x9199010112"),
        "{text}"
    );
    assert!(
        text.contains("Батбаяр") && text.contains("Non Repudiation"),
        "{text}"
    );
}

#[test]
fn csr_from_openssl_is_honoured_and_a_forged_one_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out) = openssl::run(
        dir.path(),
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "k.pem",
            "-subj",
            "/C=MN/CN=gw.test",
            "-out",
            "req.pem",
        ],
    );
    assert!(ok, "{out}");
    let pem = std::fs::read(dir.path().join("req.pem")).unwrap();
    let csr = verify_csr(&pem).unwrap();
    let (root, ca) = hierarchy(KeyAlgorithm::EcP256, KeyAlgorithm::EcP256);
    let der = leaf(
        &ca,
        csr.subject.clone(),
        Profile::TlsClient,
        vec![],
        KeyAlgorithm::EcP256,
    );
    tamga_validate(&root, &ca, &der, Purpose::TlsClient).unwrap();
    // Flip a bit in the signature: proof of possession fails.
    let (_, mut req_der) = der::pem::decode_vec(&pem).unwrap();
    let last = req_der.len() - 2;
    req_der[last] ^= 0x01;
    assert!(matches!(
        verify_csr(&req_der),
        Err(CsrError::ProofOfPossession(_))
    ));
    assert!(matches!(
        verify_csr(b"garbage"),
        Err(CsrError::Malformed(_))
    ));
    assert!(matches!(
        verify_csr(&req_der[..40]),
        Err(CsrError::Malformed(_))
    ));
}

#[test]
fn garbage_certificates_are_errors_not_panics() {
    let (_root, ca) = hierarchy(KeyAlgorithm::EcP256, KeyAlgorithm::EcP256);
    for cut in [0, 1, 10, ca.cert.len() / 2, ca.cert.len() - 1] {
        assert!(ParsedCert::from_der(&ca.cert[..cut]).is_err());
    }
    let mut flipped = ca.cert.clone();
    flipped[4] ^= 0xff;
    assert!(ParsedCert::from_der(&flipped).is_err());
    assert!(
        ParsedCert::from_pem_or_der(
            b"-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n"
        )
        .is_err()
    );
}
