//! The peer-produced signed PDFs in `../shared/testdata/signed-samples/` parse, their signature
//! fields are found with the coverage and modification levels the upstream suites assert.

use std::path::PathBuf;

use tamga_pdf::changes::{Level, analyse, overall};
use tamga_pdf::signatures::Coverage;
use tamga_pdf::{Document, signatures};

fn samples() -> Option<PathBuf> {
    let p =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/signed-samples");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("skipping: {} is absent", p.display());
        None
    }
}

fn open(rel: &str) -> Option<Document<'static>> {
    let p = samples()?.join(rel);
    Some(Document::parse(std::fs::read(p).expect("read sample")).expect("parse sample"))
}

fn summary(rel: &str) -> Option<Vec<(String, Coverage, Level)>> {
    let doc = open(rel)?;
    let sigs = signatures(&doc).expect("signatures");
    Some(
        sigs.iter()
            .map(|s| {
                let level = match s.signed_revision(&doc) {
                    Some(r) => overall(&analyse(&doc, r).expect("analyse")),
                    None => Level::Other,
                };
                (s.name.clone(), s.coverage.clone(), level)
            })
            .collect(),
    )
}

#[test]
fn every_sample_pdf_parses_and_lists_its_signatures() {
    let Some(dir) = samples() else { return };
    let mut n = 0;
    for sub in ["pyhanko", "pyhanko/coverage-anomalies", "siva"] {
        for e in std::fs::read_dir(dir.join(sub)).expect("dir") {
            let p = e.expect("entry").path();
            if p.extension().is_some_and(|x| x == "pdf") {
                let doc = Document::parse(std::fs::read(&p).expect("read"))
                    .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                let sigs = signatures(&doc).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                assert!(!sigs.is_empty(), "{}: no signatures found", p.display());
                for s in &sigs {
                    if let Some(r) = s.signed_revision(&doc) {
                        analyse(&doc, r).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                    }
                }
                n += 1;
            }
        }
    }
    assert!(n >= 25, "only {n} sample PDFs found");
}

#[test]
fn adobe_double_signature_is_form_filling_then_untouched() {
    let Some(s) = summary("pyhanko/minimal-two-fields-signed-twice.pdf") else {
        return;
    };
    assert_eq!(s.len(), 2);
    assert_eq!(s[0].0, "Sig2");
    assert!(matches!(s[0].1, Coverage::EntireRevision(_)));
    assert_eq!(s[0].2, Level::FormFilling);
    assert_eq!(s[1].1, Coverage::EntireFile);
    assert_eq!(s[1].2, Level::None);
}

#[test]
fn lta_document_timestamp_is_an_lta_update() {
    let Some(s) = summary("pyhanko/pades-lta-dss-indirect-arrs-test.pdf") else {
        return;
    };
    assert_eq!(s[0].2, Level::LtaUpdates, "{s:?}");
}

#[test]
fn sneaky_appearance_override_is_flagged() {
    let Some(ok) = summary("pyhanko/form-update-override-appearance-stream.pdf") else {
        return;
    };
    assert_eq!(ok[0].2, Level::FormFilling, "{ok:?}");
    let Some(bad) = summary("pyhanko/form-update-override-appearance-stream-sneaky.pdf") else {
        return;
    };
    assert_eq!(bad[0].2, Level::Other, "{bad:?}");
}

#[test]
fn coverage_anomalies_are_reported() {
    for f in [
        "tail-uncovered.pdf",
        "signature-gap-too-big.pdf",
        "one-byterange.pdf",
    ] {
        let Some(s) = summary(&format!("pyhanko/coverage-anomalies/{f}")) else {
            return;
        };
        assert!(matches!(s[0].1, Coverage::Anomaly(_)), "{f}: {s:?}");
    }
}

/// Inputs the fuzzer once crashed on (tests/regressions/): each now gives an error or a result.
#[test]
fn fuzz_regressions_give_errors_not_panics() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    let mut n = 0;
    for e in std::fs::read_dir(dir).expect("regressions dir") {
        let data = std::fs::read(e.expect("entry").path()).expect("read");
        if let Ok(doc) = Document::parse(&data[..])
            && let Ok(sigs) = signatures(&doc)
        {
            for s in &sigs {
                if let Some(r) = s.signed_revision(&doc) {
                    let _ = analyse(&doc, r);
                }
            }
        }
        n += 1;
    }
    assert!(n >= 1);
}
