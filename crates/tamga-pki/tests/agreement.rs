//! Tamga's validator and `openssl verify -x509_strict` agree on a generated set of bad chains:
//! expired, not yet valid, wrong EKU, pathLen exceeded, name-constraint violation, revoked,
//! unknown critical extension (and on the good chain they are derived from).

use std::sync::Arc;

use const_oid::ObjectIdentifier;
use der::asn1::Ia5String;
use tamga_keys::{KeyAlgorithm, Signer, SoftwareSigner};
use tamga_pki::builder::{extension, key_identifier, now};
use tamga_pki::crl::CrlSet;
use tamga_pki::crl_issue::{RevokedEntry, build_crl};
use tamga_pki::issue::{CertificateRequest, Issuer, NameBuilder, Profile, issue, self_signed_root};
use tamga_pki::policy::PolicyInputs;
use tamga_pki::{AlgorithmPolicy, ParsedCert, Purpose, RevocationMode, ValidationInput, validate};
use tamga_testkit::openssl;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::NameConstraints;
use x509_cert::ext::pkix::constraints::name::GeneralSubtree;
use x509_cert::ext::pkix::name::GeneralName;

struct Node {
    key: Arc<dyn Signer>,
    cert: ParsedCert,
}

fn key() -> Arc<dyn Signer> {
    Arc::new(SoftwareSigner::generate("k", KeyAlgorithm::EcP256).unwrap())
}

fn issuer(n: &Node) -> Issuer<'_> {
    Issuer {
        name: n.cert.subject().clone(),
        key_id: key_identifier(n.key.public_key_der()).unwrap(),
        signer: n.key.as_ref(),
        policy: const_oid::db::rfc5280::ANY_POLICY,
        crl_url: None,
        ocsp_url: None,
        ca_issuers_url: None,
    }
}

#[allow(clippy::too_many_arguments)]
fn child(
    parent: &Node,
    cn: &str,
    profile: Profile,
    nb: i64,
    na: i64,
    dns: &[&str],
    extra: Vec<Extension>,
) -> Node {
    let key = key();
    let der = issue(
        &issuer(parent),
        &CertificateRequest {
            subject: NameBuilder::new()
                .country("MN")
                .unwrap()
                .common_name(cn)
                .unwrap()
                .build(),
            spki_der: key.public_key_der().to_vec(),
            profile,
            not_before: nb,
            not_after: na,
            alt_names: dns
                .iter()
                .map(|d| GeneralName::DnsName(Ia5String::new(d).unwrap()))
                .collect(),
            extra_extensions: extra,
        },
    )
    .unwrap()
    .0;
    Node {
        key,
        cert: ParsedCert::from_der(&der).unwrap(),
    }
}

/// (name, intermediates, leaf, (purpose, openssl purpose), with CRLs, expected valid)
type Case<'a> = (&'a str, Vec<&'a Node>, Node, (Purpose, &'a str), bool, bool);

#[test]
fn tamga_and_openssl_agree_on_bad_chains() {
    let t = now();
    let (past, future, year) = (t - 86400, t + 86400, 365 * 86400);
    let root_key = key();
    let root = Node {
        cert: ParsedCert::from_der(
            &self_signed_root(
                root_key.as_ref(),
                NameBuilder::new()
                    .common_name("Agreement Root")
                    .unwrap()
                    .build(),
                t - year,
                t + 10 * year,
                None,
            )
            .unwrap(),
        )
        .unwrap(),
        key: root_key,
    };
    let ca = child(
        &root,
        "CA",
        Profile::IssuingCa { path_len: Some(0) },
        past,
        t + year,
        &[],
        vec![],
    );
    let nc = NameConstraints {
        permitted_subtrees: Some(vec![GeneralSubtree {
            base: GeneralName::DnsName(Ia5String::new("khur.gov.mn").unwrap()),
            minimum: 0,
            maximum: None,
        }]),
        excluded_subtrees: None,
    };
    let nc_ca = child(
        &root,
        "NC CA",
        Profile::IssuingCa { path_len: None },
        past,
        t + year,
        &[],
        vec![extension(const_oid::db::rfc5280::ID_CE_NAME_CONSTRAINTS, true, &nc).unwrap()],
    );
    let sub_ca = child(
        &ca,
        "Sub CA",
        Profile::IssuingCa { path_len: None },
        past,
        t + year,
        &[],
        vec![],
    );
    let unknown = Extension {
        extn_id: ObjectIdentifier::new_unwrap("1.3.6.1.4.1.99999.7"),
        critical: true,
        extn_value: der::asn1::OctetString::new(vec![0x05, 0x00]).unwrap(),
    };
    let revoked = child(
        &ca,
        "revoked.khur.gov.mn",
        Profile::TlsServer,
        past,
        t + year,
        &["revoked.khur.gov.mn"],
        vec![],
    );
    let crl = build_crl(
        &issuer(&ca),
        t - 60,
        t + 3600,
        1,
        &[RevokedEntry {
            serial: revoked.cert.serial().to_vec(),
            at: t - 30,
            reason: None,
        }],
    )
    .unwrap();
    let root_crl = build_crl(&issuer(&root), t - 60, t + 3600, 1, &[]).unwrap();
    // (name, chain intermediates, leaf, purpose, with CRLs, expected valid)
    let cases: Vec<Case<'_>> = vec![
        (
            "good",
            vec![&ca],
            child(
                &ca,
                "ok.khur.gov.mn",
                Profile::TlsServer,
                past,
                t + year,
                &["ok.khur.gov.mn"],
                vec![],
            ),
            (Purpose::TlsServer, "sslserver"),
            false,
            true,
        ),
        (
            "expired",
            vec![&ca],
            child(
                &ca,
                "old",
                Profile::TlsServer,
                t - 2 * year,
                past,
                &["old.khur.gov.mn"],
                vec![],
            ),
            (Purpose::TlsServer, "sslserver"),
            false,
            false,
        ),
        (
            "not yet valid",
            vec![&ca],
            child(
                &ca,
                "new",
                Profile::TlsServer,
                future,
                t + year,
                &["new.khur.gov.mn"],
                vec![],
            ),
            (Purpose::TlsServer, "sslserver"),
            false,
            false,
        ),
        (
            "wrong EKU",
            vec![&ca],
            child(
                &ca,
                "client",
                Profile::TlsClient,
                past,
                t + year,
                &["client.khur.gov.mn"],
                vec![],
            ),
            (Purpose::TlsServer, "sslserver"),
            false,
            false,
        ),
        (
            "pathLen exceeded",
            vec![&sub_ca, &ca],
            child(
                &sub_ca,
                "deep",
                Profile::TlsServer,
                past,
                t + year,
                &["deep.khur.gov.mn"],
                vec![],
            ),
            (Purpose::TlsServer, "sslserver"),
            false,
            false,
        ),
        (
            "name constraints",
            vec![&nc_ca],
            child(
                &nc_ca,
                "evil",
                Profile::TlsServer,
                past,
                t + year,
                &["evil.example.com"],
                vec![],
            ),
            (Purpose::TlsServer, "sslserver"),
            false,
            false,
        ),
        (
            "name constraints ok",
            vec![&nc_ca],
            child(
                &nc_ca,
                "fine",
                Profile::TlsServer,
                past,
                t + year,
                &["gw.khur.gov.mn"],
                vec![],
            ),
            (Purpose::TlsServer, "sslserver"),
            false,
            true,
        ),
        (
            "unknown critical extension",
            vec![&ca],
            child(
                &ca,
                "odd",
                Profile::TlsServer,
                past,
                t + year,
                &["odd.khur.gov.mn"],
                vec![unknown],
            ),
            (Purpose::TlsServer, "sslserver"),
            false,
            false,
        ),
        (
            "revoked",
            vec![&ca],
            revoked,
            (Purpose::TlsServer, "sslserver"),
            true,
            false,
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("root.pem"),
        openssl::pem("CERTIFICATE", &root.cert.der),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("crls.pem"),
        format!(
            "{}{}",
            openssl::pem("X509 CRL", &crl),
            openssl::pem("X509 CRL", &root_crl)
        ),
    )
    .unwrap();
    for (name, chain, leaf, (purpose, ossl_purpose), with_crl, expect) in &cases {
        let inter: Vec<ParsedCert> = chain.iter().map(|n| n.cert.clone()).collect();
        let crls = if *with_crl {
            CrlSet::from_der_list(&[crl.clone(), root_crl.clone()]).unwrap()
        } else {
            CrlSet::default()
        };
        let ours = validate(&ValidationInput {
            target: &leaf.cert,
            intermediates: &inter,
            anchors: std::slice::from_ref(&root.cert),
            time: t,
            purpose: *purpose,
            policy: PolicyInputs::default(),
            algorithms: AlgorithmPolicy::Strict,
            crls: &crls,
            ocsp_responses: &[],
            revocation: if *with_crl {
                RevocationMode::Require
            } else {
                RevocationMode::Off
            },
            fixed_path: None,
        });
        let untrusted: String = chain
            .iter()
            .map(|n| openssl::pem("CERTIFICATE", &n.cert.der))
            .collect();
        std::fs::write(dir.path().join("untrusted.pem"), untrusted).unwrap();
        std::fs::write(
            dir.path().join("leaf.pem"),
            openssl::pem("CERTIFICATE", &leaf.cert.der),
        )
        .unwrap();
        let mut args = vec![
            "verify",
            "-x509_strict",
            "-purpose",
            ossl_purpose,
            "-CAfile",
            "root.pem",
            "-untrusted",
            "untrusted.pem",
        ];
        if *with_crl {
            args.extend(["-crl_check_all", "-CRLfile", "crls.pem"]);
        }
        args.push("leaf.pem");
        let (theirs, out) = openssl::run(dir.path(), &args);
        assert_eq!(ours.is_ok(), *expect, "{name}: Tamga says {ours:?}");
        assert_eq!(theirs, *expect, "{name}: openssl says {out}");
    }
}
