//! PAdES end to end with Tamga's own PKI: signing at B-B, B-T, B-LT and B-LTA, parallel and
//! serial signatures, validation years after the signer's certificate expired, and the
//! tampering cases a court must see caught.

mod common;

use tamga_keys::KeyAlgorithm;
use tamga_pki::builder::now;
use tamga_sign::pades::{PdfSignOptions, add_document_timestamp, add_dss, sign_pdf, validate_pdf};
use tamga_sign::report::{Indication, Report, SubIndication};
use tamga_sign::validate::{Policy, RevocationRequirement};

use common::{Citizen, Pki, sample_pdf};

fn policy(pki: &Pki, revocation: RevocationRequirement) -> Policy {
    Policy {
        anchors: vec![pki.root.clone()],
        extra_certs: vec![],
        extra_crls: vec![],
        extra_ocsp: vec![],
        time: now(),
        algorithms: tamga_pki::AlgorithmPolicy::Strict,
        revocation,
    }
}

fn opts<'a>(
    pki: &'a Pki,
    c: &'a Citizen,
    ts: Option<tamga_sign::pades::TimestampFn<'a>>,
) -> PdfSignOptions<'a> {
    PdfSignOptions {
        signer: c.key.as_ref(),
        cert: &c.cert,
        chain: std::slice::from_ref(&pki.ca),
        time: now(),
        field: None,
        reason: Some("Гэрээг зөвшөөрөв / I agree to the contract".into()),
        location: Some("Улаанбаатар".into()),
        certify: None,
        timestamp: ts,
    }
}

fn lt_data(pki: &Pki, c: &Citizen) -> tamga_sign::pades::ValidationData {
    let fetch = pki.ocsp_fn();
    tamga_sign::ltv::collect(
        &[
            c.cert.clone(),
            pki.ca.clone(),
            pki.root.clone(),
            pki.tsa.clone(),
        ],
        &fetch,
        now(),
    )
    .unwrap()
}

fn only(r: &Report) -> &tamga_sign::report::SignatureReport {
    r.signatures.iter().find(|s| s.kind == "signature").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_level_validates_and_names_its_format() {
    let pki = Pki::new("lv").await;
    let c = pki
        .citizen("lv-ca", "Болд", "Дорж", "УБ00150110", KeyAlgorithm::EcP256)
        .await;
    let pdf = sample_pdf("Contract 42", 2000);
    let tsa = pki.tsa_fn();

    // B-B: valid cryptographically; without revocation data a court-grade policy cannot pass it.
    let bb = sign_pdf(&pdf, &opts(&pki, &c, None)).unwrap();
    let r = validate_pdf("bb.pdf", &bb, &policy(&pki, RevocationRequirement::Require)).unwrap();
    assert_eq!(only(&r).format, "PAdES-BASELINE-B");
    assert_eq!(
        (only(&r).indication, only(&r).sub_indication),
        (Indication::Indeterminate, Some(SubIndication::TryLater)),
        "{:?}",
        only(&r).messages
    );
    let r = validate_pdf(
        "bb.pdf",
        &bb,
        &policy(&pki, RevocationRequirement::IfAvailable),
    )
    .unwrap();
    assert_eq!(
        only(&r).indication,
        Indication::TotalPassed,
        "{:?}",
        only(&r).messages
    );
    assert_eq!(only(&r).coverage.as_deref(), Some("ENTIRE_FILE"));

    // B-T: a trusted signature time-stamp.
    let bt = sign_pdf(&pdf, &opts(&pki, &c, Some(&tsa))).unwrap();
    let r = validate_pdf(
        "bt.pdf",
        &bt,
        &policy(&pki, RevocationRequirement::IfAvailable),
    )
    .unwrap();
    assert_eq!(only(&r).format, "PAdES-BASELINE-T");
    assert!(
        only(&r)
            .proofs_of_existence
            .iter()
            .any(|p| p.trusted && p.kind == "signature-timestamp")
    );

    // B-LT: certificates and OCSP responses in the DSS; passes with revocation required.
    let blt = add_dss(&bt, &lt_data(&pki, &c)).unwrap();
    let r = validate_pdf(
        "blt.pdf",
        &blt,
        &policy(&pki, RevocationRequirement::Require),
    )
    .unwrap();
    assert_eq!(only(&r).format, "PAdES-BASELINE-LT");
    assert_eq!(
        only(&r).indication,
        Indication::TotalPassed,
        "{:?}",
        only(&r).messages
    );
    assert_eq!(only(&r).modification_level.as_deref(), Some("LTA_UPDATES"));

    // B-LTA: a document time-stamp over everything.
    let blta = add_document_timestamp(&blt, &tsa).unwrap();
    let r = validate_pdf(
        "blta.pdf",
        &blta,
        &policy(&pki, RevocationRequirement::Require),
    )
    .unwrap();
    assert_eq!(only(&r).format, "PAdES-BASELINE-LTA");
    assert_eq!(r.indication, Indication::TotalPassed, "{:#?}", r.signatures);
    assert!(!r.summary.mn.is_empty() && !only(&r).summary.mn.is_empty());

    // Years later, after the signer's certificate expired: still valid, as of the time the
    // time-stamps prove, with the OCSP response embedded back then.
    let mut later = policy(&pki, RevocationRequirement::Require);
    later.time = c.cert.not_after + 2 * 365 * 86400;
    let r = validate_pdf("blta.pdf", &blta, &later).unwrap();
    assert_eq!(
        only(&r).indication,
        Indication::TotalPassed,
        "{:?}",
        only(&r).messages
    );
    assert!(
        only(&r)
            .messages
            .iter()
            .any(|m| m.contains("validated instead as of"))
    );
    // Without the time-stamps (B-B) the same late validation cannot pass.
    let r = validate_pdf("bb.pdf", &bb, &later).unwrap();
    assert_eq!(
        only(&r).sub_indication,
        Some(SubIndication::OutOfBoundsNoPoe)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_parties_and_a_notary_sign_one_contract() {
    let pki = Pki::new("pc").await;
    let a = pki
        .citizen("pc-ca", "Болд", "Дорж", "УБ00150110", KeyAlgorithm::EcP256)
        .await;
    let b = pki
        .citizen("pc-ca", "Сараа", "Бат", "УБ95152312", KeyAlgorithm::Rsa2048)
        .await;
    let notary = pki
        .citizen(
            "pc-ca",
            "Нотариат",
            "Ган",
            "УБ80150505",
            KeyAlgorithm::EcP384,
        )
        .await;
    let tsa = pki.tsa_fn();
    let pdf = sample_pdf("Sale contract", 500);
    let one = sign_pdf(&pdf, &opts(&pki, &a, Some(&tsa))).unwrap();
    let two = sign_pdf(&one, &opts(&pki, &b, Some(&tsa))).unwrap();
    let mut n = opts(&pki, &notary, Some(&tsa));
    n.reason = Some("Нотариатаар гэрчлэв / Notarised".into());
    let three = sign_pdf(&two, &n).unwrap();
    let r = validate_pdf(
        "contract.pdf",
        &three,
        &policy(&pki, RevocationRequirement::IfAvailable),
    )
    .unwrap();
    let sigs: Vec<_> = r.signatures.iter().collect();
    assert_eq!(sigs.len(), 3);
    for s in &sigs {
        assert_eq!(
            s.indication,
            Indication::TotalPassed,
            "{}: {:?}",
            s.id,
            s.messages
        );
    }
    assert_eq!(sigs[0].modification_level.as_deref(), Some("FORM_FILLING"));
    assert_eq!(sigs[2].coverage.as_deref(), Some("ENTIRE_FILE"));
    assert!(
        sigs[1].signer.as_ref().unwrap().subject.contains("Сараа")
            || sigs[1].signer.as_ref().unwrap().subject.contains("Бат")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampering_is_caught_with_the_right_indication() {
    let pki = Pki::new("tp").await;
    let c = pki
        .citizen("tp-ca", "Болд", "Дорж", "УБ00150110", KeyAlgorithm::EcP256)
        .await;
    let tsa = pki.tsa_fn();
    let pdf = sample_pdf("Pay 1000 MNT", 100);
    let signed = sign_pdf(&pdf, &opts(&pki, &c, Some(&tsa))).unwrap();
    let p = policy(&pki, RevocationRequirement::IfAvailable);

    // One byte changed inside the signed range: the amount.
    let mut t = signed.clone();
    let at = t.windows(4).position(|w| w == b"1000").unwrap();
    t[at] = b'9';
    let r = validate_pdf("t.pdf", &t, &p).unwrap();
    assert_eq!(
        (only(&r).indication, only(&r).sub_indication),
        (Indication::TotalFailed, Some(SubIndication::HashFailure))
    );

    // An incremental update after signing that replaces the page content.
    let doc = tamga_pdf::Document::parse(signed.clone()).unwrap();
    let mut up = tamga_pdf::write::Update::new(&doc);
    let new_content = up.add(tamga_pdf::Object::Stream(tamga_pdf::Stream {
        dict: Default::default(),
        data: b"BT /F1 12 Tf 72 720 Td (Pay 9000000 MNT) Tj ET".to_vec(),
    }));
    let page_ref = tamga_pdf::ObjRef { num: 3, gen_: 0 };
    let mut page = doc.get(page_ref).unwrap().as_dict().unwrap().clone();
    page.set(b"Contents", tamga_pdf::Object::Ref(new_content));
    up.set(page_ref, tamga_pdf::Object::Dict(page));
    let changed = up.write().unwrap().bytes;
    let r = validate_pdf("t.pdf", &changed, &p).unwrap();
    let s = only(&r);
    assert_eq!(
        (s.indication, s.sub_indication),
        (Indication::TotalFailed, Some(SubIndication::FormatFailure)),
        "{:?}",
        s.messages
    );
    assert_eq!(s.modification_level.as_deref(), Some("OTHER"));
    assert!(
        s.modifications.iter().any(|m| m.contains("page")),
        "{:?}",
        s.modifications
    );

    // A revoked signer, signing after the revocation (B-B: no proof it signed before).
    pki.trust
        .revoke(
            "tp-ca",
            &c.serial,
            tamga_trust::parse_reason("keyCompromise").unwrap(),
            "test",
            "lost card",
        )
        .await
        .unwrap();
    let bb = sign_pdf(&pdf, &opts(&pki, &c, None)).unwrap();
    let fetch = pki.ocsp_fn();
    let req = tamga_pki::ocsp::build_request(&pki.ca, c.cert.serial(), None).unwrap();
    let ocsp = fetch(&c.cert.ocsp_urls()[0], &req).unwrap();
    let mut with_ocsp = policy(&pki, RevocationRequirement::Require);
    with_ocsp.extra_ocsp = vec![ocsp];
    let r = validate_pdf("t.pdf", &bb, &with_ocsp).unwrap();
    assert_eq!(
        (only(&r).indication, only(&r).sub_indication),
        (Indication::Indeterminate, Some(SubIndication::RevokedNoPoe)),
        "{:?}",
        only(&r).messages
    );
    // And B-LT collection refuses to embed a revoked status.
    let err =
        tamga_sign::ltv::collect(&[c.cert.clone(), pki.ca.clone()], &fetch, now()).unwrap_err();
    assert!(err.contains("not good"), "{err}");

    // A time-stamp from a TSA outside the trust anchors proves nothing.
    let other = Pki::new("xx").await;
    let other_tsa = other.tsa_fn();
    let c2 = pki
        .citizen("tp-ca", "Сараа", "Бат", "УБ95152312", KeyAlgorithm::EcP256)
        .await;
    let ts_untrusted = sign_pdf(&pdf, &opts(&pki, &c2, Some(&other_tsa))).unwrap();
    let r = validate_pdf("t.pdf", &ts_untrusted, &p).unwrap();
    let s = only(&r);
    assert!(s.proofs_of_existence.iter().all(|p| !p.trusted));
    assert!(
        s.messages
            .iter()
            .any(|m| m.contains("not used as proof of existence")),
        "{:?}",
        s.messages
    );
    // Late validation therefore fails for lack of proof of existence.
    let mut later = p.clone();
    later.time = c2.cert.not_after + 86400;
    let r = validate_pdf("t.pdf", &ts_untrusted, &later).unwrap();
    assert_eq!(
        only(&r).sub_indication,
        Some(SubIndication::OutOfBoundsNoPoe)
    );
}

#[test]
fn malformed_pdfs_get_errors_not_panics() {
    let p = Policy {
        anchors: vec![],
        extra_certs: vec![],
        extra_crls: vec![],
        extra_ocsp: vec![],
        time: now(),
        algorithms: tamga_pki::AlgorithmPolicy::Strict,
        revocation: RevocationRequirement::Require,
    };
    let good = sample_pdf("x", 10);
    for bad in [
        b"".to_vec(),
        b"not a pdf".to_vec(),
        good[..good.len() / 2].to_vec(),
        good.iter()
            .map(|&b| if b == b'x' { b'y' } else { b })
            .collect(),
        [good.clone(), b"\nstartxref\n999999999\n%%EOF\n".to_vec()].concat(),
    ] {
        assert!(validate_pdf("bad.pdf", &bad, &p).is_err());
    }
    // An unsigned but valid PDF: a precise error.
    assert!(matches!(
        validate_pdf("u.pdf", &good, &p),
        Err(tamga_sign::validate::ValidateError::NoSignature)
    ));
}
