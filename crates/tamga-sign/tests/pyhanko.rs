//! pyHanko (PyPI), the reference open-source PAdES implementation, as Tamga's peer in both
//! directions: it validates Tamga's PAdES signatures at B-B, B-T, B-LT and B-LTA as intact,
//! valid and trusted with no disallowed modification, and Tamga validates what pyHanko signs
//! with a PKCS#12 from Tamga's PKI (B-B, and B-LTA with Tamga's OCSP and TSA over HTTP).
//!
//! CI creates the venv and sets `TAMGA_PYHANKO` to its python; elsewhere the test says it is
//! skipped (and fails under CI if the variable is missing).

mod common;

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use tamga_keys::{KeyAlgorithm, SoftwareSigner};
use tamga_pki::builder::now;
use tamga_sign::pades::{PdfSignOptions, add_document_timestamp, add_dss, sign_pdf, validate_pdf};
use tamga_sign::report::Indication;
use tamga_sign::validate::{Policy, RevocationRequirement};
use tamga_testkit::openssl;

use common::{Pki, sample_pdf};

fn python() -> Option<String> {
    match std::env::var("TAMGA_PYHANKO") {
        Ok(p) => Some(p),
        Err(_) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must set TAMGA_PYHANKO"
            );
            eprintln!("skipped: pyHanko interop (set TAMGA_PYHANKO to a python with pyHanko)");
            None
        }
    }
}

fn peer(py: &str, args: &[&str]) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/pyhanko_peer.py");
    let out = tokio::task::block_in_place(|| {
        Command::new(py)
            .arg(&script)
            .args(args)
            .output()
            .expect("run python")
    });
    assert!(
        out.status.success(),
        "pyHanko {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn pyhanko_validates(py: &str, dir: &Path, name: &str, pdf: &[u8], mode: &str) -> Vec<Value> {
    let f = dir.join(name);
    std::fs::write(&f, pdf).unwrap();
    let out = peer(
        py,
        &[
            "validate",
            f.to_str().unwrap(),
            dir.join("root.pem").to_str().unwrap(),
            mode,
        ],
    );
    serde_json::from_str(out.trim()).unwrap()
}

fn assert_all_good(report: &[Value], ctx: &str) {
    assert!(!report.is_empty(), "{ctx}: pyHanko found no signature");
    for s in report {
        for k in ["intact", "valid", "trusted", "bottom_line"] {
            assert_eq!(s[k], Value::Bool(true), "{ctx}: {k} in {s}");
        }
        let m = s["modification_level"].as_str().unwrap_or("");
        assert!(
            ["NONE", "LTA_UPDATES", "FORM_FILLING"].contains(&m),
            "{ctx}: {s}"
        );
        assert_ne!(s["docmdp_ok"], Value::Bool(false), "{ctx}: {s}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyhanko_accepts_tamga_pades_at_every_level() {
    let Some(py) = python() else { return };
    let pki = Pki::new("ph").await;
    let c = pki
        .citizen("ph-ca", "Болд", "Дорж", "УБ00150110", KeyAlgorithm::EcP256)
        .await;
    let d = pki
        .citizen("ph-ca", "Сараа", "Бат", "УБ95152312", KeyAlgorithm::Rsa2048)
        .await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("root.pem"),
        openssl::pem("CERTIFICATE", &pki.root.der),
    )
    .unwrap();
    let tsa = pki.tsa_fn();
    fn o<'a>(
        pki: &'a Pki,
        who: &'a common::Citizen,
        ts: Option<tamga_sign::pades::TimestampFn<'a>>,
    ) -> PdfSignOptions<'a> {
        PdfSignOptions {
            signer: who.key.as_ref(),
            cert: &who.cert,
            chain: std::slice::from_ref(&pki.ca),
            time: now(),
            field: None,
            reason: Some("Тест / test".into()),
            location: None,
            certify: None,
            timestamp: ts,
        }
    }
    let pdf = sample_pdf("Contract for pyHanko", 3000);
    let bb = sign_pdf(&pdf, &o(&pki, &c, None)).unwrap();
    assert_all_good(
        &pyhanko_validates(&py, dir.path(), "bb.pdf", &bb, "plain"),
        "B-B",
    );
    let bt = sign_pdf(&pdf, &o(&pki, &c, Some(&tsa))).unwrap();
    assert_all_good(
        &pyhanko_validates(&py, dir.path(), "bt.pdf", &bt, "plain"),
        "B-T",
    );
    let fetch = pki.ocsp_fn();
    let data = tamga_sign::ltv::collect(
        &[
            c.cert.clone(),
            pki.ca.clone(),
            pki.root.clone(),
            pki.tsa.clone(),
        ],
        &fetch,
        now(),
    )
    .unwrap();
    let blt = add_dss(&bt, &data).unwrap();
    assert_all_good(
        &pyhanko_validates(&py, dir.path(), "blt.pdf", &blt, "lt"),
        "B-LT",
    );
    let blta = add_document_timestamp(&blt, &tsa).unwrap();
    assert_all_good(
        &pyhanko_validates(&py, dir.path(), "blta.pdf", &blta, "lta"),
        "B-LTA",
    );
    // Two parties: the first signature sees form filling (the second signature), allowed.
    let two = sign_pdf(&bt, &o(&pki, &d, Some(&tsa))).unwrap();
    let r = pyhanko_validates(&py, dir.path(), "two.pdf", &two, "plain");
    assert_eq!(r.len(), 2);
    assert_all_good(&r, "two parties");
    assert_eq!(r[0]["modification_level"], "FORM_FILLING");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tamga_accepts_what_pyhanko_signs_with_a_tamga_pkcs12() {
    let Some(py) = python() else { return };
    let pki = Pki::new("pp").await;
    let key = SoftwareSigner::generate("p", KeyAlgorithm::EcP256).unwrap();
    let id = tamga_pki::identity::RegistrationNumber::parse("УБ00150110").unwrap();
    let (der, _) = pki
        .trust
        .issue(
            "pp-ca",
            tamga_trust::IssueSpec {
                profile: tamga_pki::issue::Profile::CitizenSign,
                subject: tamga_pki::issue::citizen_name("Болд", "Дорж", &id).unwrap(),
                spki_der: tamga_keys::Signer::public_key_der(&key).to_vec(),
                alt_names: vec![],
                validity_days: 30,
            },
            "test",
            "test",
        )
        .await
        .unwrap();
    let p12 = tamga_keys::build_pkcs12(
        &key.to_pkcs8().unwrap(),
        &der,
        &[pki.ca.der.clone(), pki.root.der.clone()],
        "246810",
        "Болд Дорж",
        10_000,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("id.p12"), &p12).unwrap();
    std::fs::write(
        d.join("root.pem"),
        openssl::pem("CERTIFICATE", &pki.root.der),
    )
    .unwrap();
    std::fs::write(d.join("in.pdf"), sample_pdf("Signed by pyHanko", 100)).unwrap();
    let policy = |rev| Policy {
        anchors: vec![pki.root.clone()],
        extra_certs: vec![],
        extra_crls: vec![],
        extra_ocsp: vec![],
        time: now(),
        algorithms: tamga_pki::AlgorithmPolicy::Strict,
        revocation: rev,
    };
    let s = |p: &Path| p.to_str().unwrap().to_string();
    // B-B.
    peer(
        &py,
        &[
            "sign",
            &s(&d.join("in.pdf")),
            &s(&d.join("bb.pdf")),
            &s(&d.join("id.p12")),
            "246810",
            &s(&d.join("root.pem")),
            "-",
        ],
    );
    let r = validate_pdf(
        "bb.pdf",
        &std::fs::read(d.join("bb.pdf")).unwrap(),
        &policy(RevocationRequirement::IfAvailable),
    )
    .unwrap();
    assert_eq!(r.indication, Indication::TotalPassed, "{:#?}", r.signatures);
    assert_eq!(r.signatures[0].format, "PAdES-BASELINE-B");
    // B-LTA: pyHanko fetches Tamga's OCSP and time-stamps over HTTP.
    let tsa_url = format!("{}/tsa", pki.base);
    peer(
        &py,
        &[
            "sign",
            &s(&d.join("in.pdf")),
            &s(&d.join("lta.pdf")),
            &s(&d.join("id.p12")),
            "246810",
            &s(&d.join("root.pem")),
            &tsa_url,
        ],
    );
    let r = validate_pdf(
        "lta.pdf",
        &std::fs::read(d.join("lta.pdf")).unwrap(),
        &policy(RevocationRequirement::Require),
    )
    .unwrap();
    let sig = r.signatures.iter().find(|s| s.kind == "signature").unwrap();
    assert_eq!(
        sig.indication,
        Indication::TotalPassed,
        "{:#?}",
        r.signatures
    );
    assert_eq!(sig.format, "PAdES-BASELINE-LTA");
    assert_eq!(r.indication, Indication::TotalPassed, "{:#?}", r.signatures);
}
