//! CAdES levels, parallel signatures and countersignatures, and ASiC-S/ASiC-E containers,
//! validated by Tamga (and the CAdES ones by `openssl cms -verify`); tampering and hostile
//! containers give precise verdicts or errors.

mod common;

use tamga_keys::KeyAlgorithm;
use tamga_pki::builder::now;
use tamga_sign::asic::{
    AsicSignOptions, add_asic_e_signature, sign_asic_e, sign_asic_s, validate_asic,
};
use tamga_sign::report::{Indication, SubIndication};
use tamga_sign::validate::{Policy, RevocationRequirement, validate_cms};
use tamga_sign::zip::{self, Entry, Limits};
use tamga_sign::{
    Packaging, cades_add_parallel_signature, cades_add_signature_timestamp,
    cades_add_validation_data, cades_countersign, cades_sign,
};
use tamga_testkit::openssl;

use common::Pki;

fn policy(pki: &Pki, rev: RevocationRequirement) -> Policy {
    Policy {
        anchors: vec![pki.root.clone()],
        extra_certs: vec![],
        extra_crls: vec![],
        extra_ocsp: vec![],
        time: now(),
        algorithms: tamga_pki::AlgorithmPolicy::Strict,
        revocation: rev,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cades_levels_parallel_and_countersignatures() {
    let pki = Pki::new("cs").await;
    let a = pki
        .citizen("cs-ca", "Болд", "Дорж", "УБ00150110", KeyAlgorithm::EcP256)
        .await;
    let b = pki
        .citizen("cs-ca", "Сараа", "Бат", "УБ95152312", KeyAlgorithm::Rsa2048)
        .await;
    let notary = pki
        .citizen(
            "cs-ca",
            "Нотариат",
            "Ган",
            "УБ80150505",
            KeyAlgorithm::EcP384,
        )
        .await;
    let content = "Зээлийн гэрээ / loan agreement\n".repeat(20).into_bytes();
    let chain = [pki.ca.clone()];
    let tsa = pki.tsa_fn();
    let p7s = cades_sign(
        &content,
        Packaging::Detached,
        a.key.as_ref(),
        &a.cert,
        &chain,
        now(),
    )
    .unwrap();
    let bt = cades_add_signature_timestamp(&p7s, |r| tsa(r).unwrap()).unwrap();
    let fetch = pki.ocsp_fn();
    let data = tamga_sign::ltv::collect(
        &[
            a.cert.clone(),
            pki.ca.clone(),
            pki.root.clone(),
            pki.tsa.clone(),
        ],
        &fetch,
        now(),
    )
    .unwrap();
    let lt = cades_add_validation_data(&bt, &data).unwrap();
    let r = validate_cms(
        "c.p7s",
        &lt,
        Some(&content),
        &policy(&pki, RevocationRequirement::Require),
    )
    .unwrap();
    assert_eq!(r.signatures[0].format, "CAdES-BASELINE-LT");
    assert_eq!(r.indication, Indication::TotalPassed, "{:#?}", r.signatures);
    // Long after the signer's certificate expired, the time-stamp and OCSP carry the verdict.
    let mut later = policy(&pki, RevocationRequirement::Require);
    later.time = a.cert.not_after + 365 * 86400;
    let r = validate_cms("c.p7s", &lt, Some(&content), &later).unwrap();
    assert_eq!(r.indication, Indication::TotalPassed, "{:#?}", r.signatures);

    // The other party signs in parallel; the notary countersigns the first party's signature.
    let both = cades_add_parallel_signature(&bt, &content, b.key.as_ref(), &b.cert, &chain, now())
        .unwrap();
    let notarised =
        cades_countersign(&both, 0, notary.key.as_ref(), &notary.cert, &chain, now()).unwrap();
    let r = validate_cms(
        "c.p7s",
        &notarised,
        Some(&content),
        &policy(&pki, RevocationRequirement::IfAvailable),
    )
    .unwrap();
    let kinds: Vec<(&str, &str, Indication)> = r
        .signatures
        .iter()
        .map(|s| (s.id.as_str(), s.kind.as_str(), s.indication))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("S-1", "signature", Indication::TotalPassed),
            ("S-1-C-1", "countersignature", Indication::TotalPassed),
            ("S-2", "signature", Indication::TotalPassed),
        ],
        "{:#?}",
        r.signatures
    );
    assert_eq!(r.signatures[1].countersigns.as_deref(), Some("S-1"));
    // openssl accepts the whole structure (both signers; it ignores countersignatures).
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("c.txt"), &content).unwrap();
    std::fs::write(d.join("c.p7s"), &notarised).unwrap();
    std::fs::write(
        d.join("root.pem"),
        openssl::pem("CERTIFICATE", &pki.root.der),
    )
    .unwrap();
    let (ok, out) = openssl::run(
        d,
        &[
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            "c.p7s",
            "-content",
            "c.txt",
            "-CAfile",
            "root.pem",
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ],
    );
    assert!(ok && out.contains("Verification successful"), "{out}");

    // A changed file fails both parties' signatures.
    let mut changed = content.clone();
    changed[0] ^= 1;
    let r = validate_cms(
        "c.p7s",
        &notarised,
        Some(&changed),
        &policy(&pki, RevocationRequirement::IfAvailable),
    )
    .unwrap();
    assert_eq!(
        r.signatures[0].sub_indication,
        Some(SubIndication::HashFailure)
    );
    assert_eq!(
        r.signatures[2].sub_indication,
        Some(SubIndication::HashFailure)
    );
    // Truncated and garbage CMS: a FORMAT_FAILURE verdict, never a panic.
    for bad in [
        &notarised[..notarised.len() / 2],
        &b"\x30\x80\x06"[..],
        &b""[..],
    ] {
        let r = validate_cms(
            "bad.p7s",
            bad,
            Some(&content),
            &policy(&pki, RevocationRequirement::IfAvailable),
        )
        .unwrap();
        assert_eq!(
            r.signatures[0].sub_indication,
            Some(SubIndication::FormatFailure)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swapped_certificate_is_not_the_signer() {
    let pki = Pki::new("sw").await;
    let a = pki
        .citizen("sw-ca", "Болд", "Дорж", "УБ00150110", KeyAlgorithm::EcP256)
        .await;
    let m = pki
        .citizen("sw-ca", "Мөнх", "Бат", "УБ95152312", KeyAlgorithm::EcP256)
        .await;
    let content = b"transfer".to_vec();
    let p7s = cades_sign(
        &content,
        Packaging::Detached,
        a.key.as_ref(),
        &a.cert,
        std::slice::from_ref(&pki.ca),
        now(),
    )
    .unwrap();
    // Replace the signer's certificate by another citizen's (same CA) and point the signer
    // identifier at it: the signing-certificate attribute still names the real signer.
    use der::{Decode, Encode};
    let info = cms::content_info::ContentInfo::from_der(&p7s).unwrap();
    let mut sd: cms::signed_data::SignedData = info.content.decode_as().unwrap();
    let mut set = der::asn1::SetOfVec::new();
    set.insert(cms::cert::CertificateChoices::Certificate(
        m.cert.cert.clone(),
    ))
    .unwrap();
    set.insert(cms::cert::CertificateChoices::Certificate(
        pki.ca.cert.clone(),
    ))
    .unwrap();
    sd.certificates = Some(cms::signed_data::CertificateSet(set));
    let mut sis: Vec<_> = sd.signer_infos.0.iter().cloned().collect();
    sis[0].sid = cms::signed_data::SignerIdentifier::IssuerAndSerialNumber(
        cms::cert::IssuerAndSerialNumber {
            issuer: m.cert.issuer().clone(),
            serial_number: m.cert.cert.tbs_certificate.serial_number.clone(),
        },
    );
    sd.signer_infos = cms::signed_data::SignerInfos::try_from(sis).unwrap();
    let swapped = cms::content_info::ContentInfo {
        content_type: info.content_type,
        content: der::Any::encode_from(&sd).unwrap(),
    }
    .to_der()
    .unwrap();
    let r = validate_cms(
        "s.p7s",
        &swapped,
        Some(&content),
        &policy(&pki, RevocationRequirement::IfAvailable),
    )
    .unwrap();
    assert_eq!(
        (r.indication, r.signatures[0].sub_indication),
        (
            Indication::Indeterminate,
            Some(SubIndication::NoSigningCertificateFound)
        ),
        "{:?}",
        r.signatures[0].messages
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asic_containers_sign_several_files_and_catch_changes() {
    let pki = Pki::new("as").await;
    let a = pki
        .citizen("as-ca", "Болд", "Дорж", "УБ00150110", KeyAlgorithm::EcP256)
        .await;
    let b = pki
        .citizen("as-ca", "Сараа", "Бат", "УБ95152312", KeyAlgorithm::EcP256)
        .await;
    let tsa = pki.tsa_fn();
    let chain = [pki.ca.clone()];
    fn opts<'a>(c: &'a common::Citizen, chain: &'a [tamga_pki::ParsedCert]) -> AsicSignOptions<'a> {
        AsicSignOptions {
            signer: c.key.as_ref(),
            cert: &c.cert,
            chain,
            time: now(),
            timestamp: None,
            validation_data: None,
            archive: false,
        }
    }
    let p = policy(&pki, RevocationRequirement::IfAvailable);

    let s = sign_asic_s(
        "өргөдөл.pdf",
        b"%PDF-1.7 application",
        &AsicSignOptions {
            timestamp: Some(&tsa),
            ..opts(&a, &chain)
        },
    )
    .unwrap();
    let r = validate_asic("a.asics", &s, &p).unwrap();
    assert_eq!(r.indication, Indication::TotalPassed, "{:#?}", r.signatures);
    assert_eq!(r.signatures[0].format, "CAdES-BASELINE-T");
    // The upload path sniffs the format: a container holding a PDF (stored, so `%PDF-` is in
    // its first kilobyte) is still a container.
    let r = tamga_sign::http::validate_any("upload", &s, None, &p).unwrap();
    assert_eq!(r.signatures[0].format, "CAdES-BASELINE-T");

    let files = vec![
        Entry {
            name: "application.pdf".into(),
            data: b"%PDF-1.7 pension application".to_vec(),
        },
        Entry {
            name: "attachments/birth-certificate.xml".into(),
            data: b"<birth/>".to_vec(),
        },
    ];
    let e = sign_asic_e(&files, &opts(&a, &chain)).unwrap();
    let e2 = add_asic_e_signature(&e, &opts(&b, &chain)).unwrap();
    let r = validate_asic("a.asice", &e2, &p).unwrap();
    assert_eq!(r.signatures.len(), 2);
    assert_eq!(r.indication, Indication::TotalPassed, "{:#?}", r.signatures);
    assert!(
        r.signatures[0]
            .messages
            .iter()
            .any(|m| m.contains("attachments/birth-certificate.xml"))
    );

    // A data file changed inside the container.
    let mut entries = zip::read(&e2, Limits::default()).unwrap();
    entries
        .iter_mut()
        .find(|x| x.name == "application.pdf")
        .unwrap()
        .data = b"%PDF-1.7 forged".to_vec();
    let forged = zip::write(&entries).unwrap();
    let r = validate_asic("f.asice", &forged, &p).unwrap();
    assert_eq!(
        (r.indication, r.signatures[0].sub_indication),
        (Indication::TotalFailed, Some(SubIndication::HashFailure))
    );
    // A signed file removed.
    let removed: Vec<Entry> = zip::read(&e2, Limits::default())
        .unwrap()
        .into_iter()
        .filter(|x| x.name != "application.pdf")
        .collect();
    let r = validate_asic("r.asice", &zip::write(&removed).unwrap(), &p).unwrap();
    assert_eq!(
        r.signatures[0].sub_indication,
        Some(SubIndication::SignedDataNotFound)
    );
    // A file added after signing is reported as uncovered, the signatures stay valid.
    let mut added = zip::read(&e2, Limits::default()).unwrap();
    added.push(Entry {
        name: "extra.txt".into(),
        data: b"slipped in".to_vec(),
    });
    let r = validate_asic("x.asice", &zip::write(&added).unwrap(), &p).unwrap();
    assert!(r.summary.en.contains("extra.txt"), "{}", r.summary.en);

    // Hostile containers: errors, not crashes.
    let traversal = zip::write(&[
        Entry {
            name: "mimetype".into(),
            data: tamga_sign::asic::MIME_ASIC_E.as_bytes().to_vec(),
        },
        Entry {
            name: "../../etc/passwd".into(),
            data: b"x".to_vec(),
        },
    ])
    .unwrap();
    assert!(validate_asic("t.asice", &traversal, &p).is_err());
    assert!(validate_asic("n.asice", b"PK\x03\x04 not really", &p).is_err());
    assert!(validate_asic("h.asice", &e2[..e2.len() - 30], &p).is_err());
}

#[test]
fn zip_bombs_and_damage_are_refused() {
    // 64 MiB of zeros deflated into a few KiB, declared honestly: the ratio guard refuses it.
    let big = vec![0u8; 64 << 20];
    let deflated = miniz_oxide::deflate::compress_to_vec(&big, 9);
    let mut z = zip::write(&[Entry {
        name: "bomb.bin".into(),
        data: vec![0u8; 1],
    }])
    .unwrap();
    // Rebuild the single entry as deflated with the big declared size.
    let crc = zip::crc32(&big);
    let mut local = Vec::new();
    local.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
    local.extend_from_slice(&[20, 0, 0, 0, 8, 0, 0, 0, 0x21, 0]);
    local.extend_from_slice(&crc.to_le_bytes());
    local.extend_from_slice(&(deflated.len() as u32).to_le_bytes());
    local.extend_from_slice(&(big.len() as u32).to_le_bytes());
    local.extend_from_slice(&8u16.to_le_bytes());
    local.extend_from_slice(&0u16.to_le_bytes());
    local.extend_from_slice(b"bomb.bin");
    let cd_offset = local.len() + deflated.len();
    let mut cd = Vec::new();
    cd.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
    cd.extend_from_slice(&[20, 0, 20, 0, 0, 0, 8, 0, 0, 0, 0x21, 0]);
    cd.extend_from_slice(&crc.to_le_bytes());
    cd.extend_from_slice(&(deflated.len() as u32).to_le_bytes());
    cd.extend_from_slice(&(big.len() as u32).to_le_bytes());
    cd.extend_from_slice(&8u16.to_le_bytes());
    cd.extend_from_slice(&[0u8; 12]);
    cd.extend_from_slice(&0u32.to_le_bytes());
    cd.extend_from_slice(b"bomb.bin");
    z.clear();
    z.extend(local);
    z.extend(deflated);
    let cd_len = cd.len();
    z.extend(cd);
    z.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    z.extend_from_slice(&[0, 0, 0, 0, 1, 0, 1, 0]);
    z.extend_from_slice(&(cd_len as u32).to_le_bytes());
    z.extend_from_slice(&(cd_offset as u32).to_le_bytes());
    z.extend_from_slice(&[0, 0]);
    let err = zip::read(&z, Limits::default()).unwrap_err();
    assert!(matches!(err, zip::ZipError::Limit(_)), "{err}");
    // A generous ratio lets it through, and the content is exact.
    let ok = zip::read(
        &z,
        Limits {
            max_ratio: 100_000,
            ..Limits::default()
        },
    )
    .unwrap();
    assert_eq!(ok[0].data.len(), 64 << 20);
    // A flipped byte in stored data: CRC mismatch.
    let mut d = zip::write(&[Entry {
        name: "a.txt".into(),
        data: b"hello".to_vec(),
    }])
    .unwrap();
    let at = d.windows(5).position(|w| w == b"hello").unwrap();
    d[at] = b'j';
    assert!(
        matches!(zip::read(&d, Limits::default()), Err(zip::ZipError::Malformed(m)) if m.contains("CRC"))
    );
    // Round trip, and what unzip-style tools expect: openssl is no zip tool, python is.
    let z = zip::write(&[
        Entry {
            name: "mimetype".into(),
            data: b"x".to_vec(),
        },
        Entry {
            name: "dir/ф.txt".into(),
            data: b"y".to_vec(),
        },
    ])
    .unwrap();
    let back = zip::read(&z, Limits::default()).unwrap();
    assert_eq!(back[1].name, "dir/ф.txt");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.zip"), &z).unwrap();
    let out = std::process::Command::new("python3")
        .args(["-c", "import zipfile,sys; z=zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; print(z.namelist())", dir.path().join("t.zip").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("dir/ф.txt"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cades_and_asic_at_b_lta_with_renewal_and_tamper_detection() {
    let pki = Pki::new("lt").await;
    let a = pki
        .citizen("lt-ca", "Болд", "Дорж", "УБ00150110", KeyAlgorithm::EcP256)
        .await;
    let tsa = pki.tsa_fn();
    let fetch = pki.ocsp_fn();
    let content = b"archive me for thirty years".to_vec();
    let chain = [pki.ca.clone()];
    let p = policy(&pki, RevocationRequirement::Require);
    let p7s = cades_sign(
        &content,
        Packaging::Detached,
        a.key.as_ref(),
        &a.cert,
        &chain,
        now(),
    )
    .unwrap();
    let bt = cades_add_signature_timestamp(&p7s, |r| tsa(r).unwrap()).unwrap();
    let data = tamga_sign::ltv::collect(
        &[
            a.cert.clone(),
            pki.ca.clone(),
            pki.root.clone(),
            pki.tsa.clone(),
        ],
        &fetch,
        now(),
    )
    .unwrap();
    let lt = cades_add_validation_data(&bt, &data).unwrap();
    let lta = tamga_sign::cades_add_archive_timestamp(&lt, 0, Some(&content), &tsa).unwrap();
    let r = validate_cms("a.p7s", &lta, Some(&content), &p).unwrap();
    assert_eq!(
        r.signatures[0].format, "CAdES-BASELINE-LTA",
        "{:#?}",
        r.signatures
    );
    assert_eq!(r.indication, Indication::TotalPassed);
    assert!(
        r.signatures[0]
            .proofs_of_existence
            .iter()
            .any(|x| x.kind == "archive-timestamp" && x.trusted)
    );
    // openssl still verifies the signature underneath.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("c.txt"), &content).unwrap();
    std::fs::write(d.join("c.p7s"), &lta).unwrap();
    std::fs::write(
        d.join("root.pem"),
        openssl::pem("CERTIFICATE", &pki.root.der),
    )
    .unwrap();
    let (ok, out) = openssl::run(
        d,
        &[
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            "c.p7s",
            "-content",
            "c.txt",
            "-CAfile",
            "root.pem",
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ],
    );
    assert!(ok, "{out}");
    // Renewal: a second archive time-stamp over the first; both hold.
    let renewed = tamga_sign::cades_add_archive_timestamp(&lta, 0, Some(&content), &tsa).unwrap();
    let r = validate_cms("a.p7s", &renewed, Some(&content), &p).unwrap();
    let archive: Vec<_> = r.signatures[0]
        .proofs_of_existence
        .iter()
        .filter(|x| x.kind == "archive-timestamp")
        .collect();
    assert_eq!(archive.len(), 2);
    assert!(archive.iter().all(|x| x.trusted), "{archive:?}");
    // Removing validation data the archive time-stamp covers voids it (not the signature).
    let stripped = {
        use der::{Decode, Encode};
        let info = cms::content_info::ContentInfo::from_der(&lta).unwrap();
        #[derive(der::Sequence)]
        struct Raw {
            version: cms::content_info::CmsVersion,
            digest_algorithms: cms::signed_data::DigestAlgorithmIdentifiers,
            encap_content_info: cms::signed_data::EncapsulatedContentInfo,
            #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
            certificates: Option<cms::signed_data::CertificateSet>,
            #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
            crls: Option<der::asn1::SetOfVec<der::Any>>,
            signer_infos: cms::signed_data::SignerInfos,
        }
        let mut raw: Raw = info.content.decode_as().unwrap();
        let mut crls: Vec<der::Any> = raw.crls.take().unwrap().into_vec();
        crls.pop();
        raw.crls = Some(der::asn1::SetOfVec::try_from(crls).unwrap());
        cms::content_info::ContentInfo {
            content_type: info.content_type,
            content: der::Any::encode_from(&raw).unwrap(),
        }
        .to_der()
        .unwrap()
    };
    let r = validate_cms(
        "a.p7s",
        &stripped,
        Some(&content),
        &policy(&pki, RevocationRequirement::IfAvailable),
    )
    .unwrap();
    let ats = r.signatures[0]
        .proofs_of_existence
        .iter()
        .find(|x| x.kind == "archive-timestamp")
        .unwrap();
    assert!(
        !ats.trusted
            && ats
                .problem
                .as_deref()
                .unwrap_or("")
                .contains("lost or changed"),
        "{ats:?}"
    );
    assert_eq!(r.signatures[0].format, "CAdES-BASELINE-LT");

    // ASiC-E at B-LTA.
    let files = vec![Entry {
        name: "deed.pdf".into(),
        data: b"%PDF-1.7 deed".to_vec(),
    }];
    let e = sign_asic_e(
        &files,
        &AsicSignOptions {
            signer: a.key.as_ref(),
            cert: &a.cert,
            chain: &chain,
            time: now(),
            timestamp: Some(&tsa),
            validation_data: Some(&data),
            archive: true,
        },
    )
    .unwrap();
    let r = validate_asic("d.asice", &e, &p).unwrap();
    assert_eq!(
        (r.indication, r.signatures[0].format.as_str()),
        (Indication::TotalPassed, "CAdES-BASELINE-LTA"),
        "{:#?}",
        r.signatures
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archive_extends_asic_containers_to_b_lta() {
    let pki = Pki::new("ex").await;
    let a = pki
        .citizen("ex-ca", "Болд", "Дорж", "УБ00150110", KeyAlgorithm::EcP256)
        .await;
    let b = pki
        .citizen("ex-ca", "Сараа", "Бат", "УБ95152312", KeyAlgorithm::EcP256)
        .await;
    let tsa = pki.tsa_fn();
    let fetch = pki.ocsp_fn();
    let chain = [pki.ca.clone()];
    let files = vec![
        Entry {
            name: "a.pdf".into(),
            data: b"%PDF-1.7 a".to_vec(),
        },
        Entry {
            name: "b.xml".into(),
            data: b"<b/>".to_vec(),
        },
    ];
    let opts_a = AsicSignOptions {
        signer: a.key.as_ref(),
        cert: &a.cert,
        chain: &chain,
        time: now(),
        timestamp: None,
        validation_data: None,
        archive: false,
    };
    let opts_b = AsicSignOptions {
        signer: b.key.as_ref(),
        cert: &b.cert,
        chain: &chain,
        time: now(),
        timestamp: None,
        validation_data: None,
        archive: false,
    };
    let e = add_asic_e_signature(&sign_asic_e(&files, &opts_a).unwrap(), &opts_b).unwrap();
    let extended =
        tamga_sign::extend::extend_asic(&e, tamga_sign::extend::Target::Lta, &tsa, &fetch, now())
            .unwrap();
    let r = validate_asic(
        "e.asice",
        &extended,
        &policy(&pki, RevocationRequirement::Require),
    )
    .unwrap();
    assert_eq!(r.indication, Indication::TotalPassed, "{:#?}", r.signatures);
    assert!(
        r.signatures
            .iter()
            .all(|s| s.format == "CAdES-BASELINE-LTA"),
        "{:#?}",
        r.signatures
    );
    // ASiC-S too.
    let s = sign_asic_s("a.pdf", b"%PDF-1.7 a", &opts_a).unwrap();
    let extended =
        tamga_sign::extend::extend_asic(&s, tamga_sign::extend::Target::Lt, &tsa, &fetch, now())
            .unwrap();
    let r = validate_asic(
        "s.asics",
        &extended,
        &policy(&pki, RevocationRequirement::Require),
    )
    .unwrap();
    assert_eq!(
        (r.indication, r.signatures[0].format.as_str()),
        (Indication::TotalPassed, "CAdES-BASELINE-LT"),
        "{:#?}",
        r.signatures
    );
}
