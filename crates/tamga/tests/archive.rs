//! The archive as an archivist and a court use it: the demo node archives a file through
//! `tamga archive ingest`, seals it, exports the package; `tamga archive verify` checks it
//! offline (exit 0) and names what is wrong with a tampered one (exit 1); an independent Python
//! verifier (its own RFC 4998 ASN.1 and hash-tree code, `openssl ts -verify` for the tokens)
//! agrees; the paper copy's QR page shows the hash and no metadata; the archivist API refuses
//! without its token and refuses disposal before the end of retention.

mod support;

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use support::exchange::start_demo;

fn tamga(dir: &Path, token: &str, args: &[&str]) -> (i32, String, String) {
    support::run_tamga(dir, &[("TAMGA_ARCHIVE_TOKEN", token)], args)
}

fn rezip(src: &Path, dst: &Path, f: impl Fn(&mut Vec<tamga_sign::zip::Entry>)) {
    let mut e = tamga_sign::zip::read(&std::fs::read(src).unwrap(), Default::default()).unwrap();
    f(&mut e);
    std::fs::write(dst, tamga_sign::zip::write(&e).unwrap()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_ingest_export_verify_offline_and_paper_copy() {
    let dir = tempfile::tempdir().unwrap();
    let (_demo, manifest) = start_demo(dir.path(), "600");
    let data = dir.path().join("demo");
    let d = data.as_path();
    let base = manifest["base_url"].as_str().unwrap().to_owned();
    let token = std::fs::read_to_string(d.join("secrets/archive-token"))
        .unwrap()
        .trim()
        .to_owned();
    let vkey = manifest["ledger"]["logs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "archive")
        .unwrap()["vkey"]
        .as_str()
        .unwrap()
        .to_owned();
    // The demo archived its documents at start.
    let demo_docs = manifest["archive"]["documents"].as_array().unwrap();
    assert_eq!(demo_docs.len(), 2, "{}", manifest["archive"]);

    // Ingest through the CLI.
    std::fs::write(
        d.join("minutes.txt"),
        "Хурлын тэмдэглэл №12 / Minutes of meeting No. 12\n",
    )
    .unwrap();
    let (code, out, err) = tamga(
        d,
        &token,
        &[
            "archive",
            "ingest",
            "--url",
            &base,
            "minutes.txt",
            "--title",
            "Хурлын тэмдэглэл №12 / Minutes No. 12",
            "--creator",
            "Сангийн яам / Ministry of Finance",
            "--classification",
            "02-01 Тэмдэглэл / Minutes",
            "--retain-years",
            "20",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let ack: Value = serde_json::from_str(&out).unwrap();
    let id = ack["ingested"][0]["document_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(ack["ingested"][0]["ledger_log"], "archive");

    // Seal now (the background task would within seconds), export, verify offline.
    let (code, out, err) = tamga(d, &token, &["archive", "renew", "--url", &base]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = tamga(
        d,
        &token,
        &[
            "archive", "export", "--url", &base, "--id", &id, "-o", "m.asics",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let anchors = "documents/trust-anchors.pem";
    let (code, out, err) = tamga(
        d,
        "",
        &[
            "archive",
            "verify",
            "m.asics",
            "--trust",
            anchors,
            "--log-key",
            &vkey,
            "--json",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["document_id"], id.as_str());
    assert!(
        report["ledger"]
            .as_str()
            .unwrap()
            .starts_with("receipt verified"),
        "{report}"
    );
    assert_eq!(report["evidence"]["stamps"][0]["kind"], "initial");

    // The independent verifier agrees, and refuses a changed document.
    let python = std::env::var("TAMGA_PYTHON").expect("TAMGA_PYTHON (a venv with asn1crypto)");
    let peer = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/archive_ers.py");
    let run_peer = |pkg: &str| {
        let o = Command::new(&python)
            .args([peer, pkg, anchors])
            .current_dir(d)
            .output()
            .unwrap();
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
        )
    };
    let (ok, out) = run_peer("m.asics");
    assert!(ok, "{out}");
    // The demo's PDF contract too (a batch of two: a real reduced hash tree).
    let contract = demo_docs[1]["id"].as_str().unwrap();
    let (code, out, err) = tamga(
        d,
        &token,
        &[
            "archive", "export", "--url", &base, "--id", contract, "-o", "c.asics",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let (ok, out) = run_peer("c.asics");
    assert!(ok, "{out}");

    // Tampered packages: each refused with its reason, by Tamga (exit 1) and by the peer.
    rezip(&d.join("m.asics"), &d.join("changed.asics"), |e| {
        e[1].data[0] ^= 1
    });
    let (code, _, err) = tamga(
        d,
        "",
        &["archive", "verify", "changed.asics", "--trust", anchors],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("describes another document"), "{err}");
    let (ok, out) = run_peer("changed.asics");
    assert!(!ok && out.contains("does not lead"), "{out}");
    let c_ers = tamga_sign::zip::read(
        &std::fs::read(d.join("c.asics")).unwrap(),
        Default::default(),
    )
    .unwrap()[2]
        .clone();
    rezip(&d.join("m.asics"), &d.join("swapped.asics"), |e| {
        e[2] = c_ers.clone()
    });
    let (code, _, err) = tamga(
        d,
        "",
        &["archive", "verify", "swapped.asics", "--trust", anchors],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("does not cover this data"), "{err}");
    // Far in the future, without renewals, the authority's certificate has expired.
    let (code, _, err) = tamga(
        d,
        "",
        &[
            "archive",
            "verify",
            "m.asics",
            "--trust",
            anchors,
            "--at",
            "2090-01-01T00:00:00Z",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("not renewed"), "{err}");
    let (code, _, err) = tamga(
        d,
        "",
        &["archive", "verify", "minutes.txt", "--trust", anchors],
    );
    assert_eq!(code, 3, "{err}");

    // The paper copy and the page its QR code opens: hash and dates, no title or creator.
    let (code, out, err) = tamga(
        d,
        &token,
        &[
            "archive", "copy", "--url", &base, "--id", &id, "-o", "copy.pdf",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        std::fs::read(d.join("copy.pdf"))
            .unwrap()
            .starts_with(b"%PDF-")
    );
    let http = reqwest::Client::new();
    let page: Value = http
        .get(format!("{base}/archive/verify/{id}"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["sha256"], ack["ingested"][0]["sha256"]);
    assert_eq!(page["evidence"]["verified"], true, "{page}");
    assert!(!page.to_string().contains("Minutes"), "{page}");
    let html = http
        .get(format!("{base}/archive/verify/{id}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("lang=\"mn\"") && html.contains(&id));
    let missing = http
        .get(format!(
            "{base}/archive/verify/ARX-2026-00000000000000000000"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    // A package uploaded to the public verification endpoint.
    let r: Value = http
        .post(format!("{base}/archive/verify"))
        .body(std::fs::read(d.join("m.asics")).unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["verified"], true, "{r}");

    // The archivist API: no token, no access; no disposal before the end of retention.
    let r = http
        .get(format!("{base}/archive/api/documents/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = http
        .get(format!("{base}/archive/api/documents/{id}"))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let (code, _, err) = tamga(
        d,
        &token,
        &[
            "archive", "dispose", "--url", &base, "--id", &id, "--reason", "test",
        ],
    );
    assert_ne!(code, 0);
    assert!(
        err.contains("409") && err.contains("cannot be disposed"),
        "{err}"
    );
}
