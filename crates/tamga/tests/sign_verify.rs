//! `tamga sign` and `tamga verify` as a notary's office or a court clerk uses them, against a
//! running demo (its CAs, OCSP responders and TSA over HTTP): every format and level, keys
//! from PKCS#12, PKCS#8 and a PKCS#11 token, the demo's B-LTA contract, the exit codes, the
//! evidence bundle replayed offline, `POST /api/v1/validate`, and pyHanko's opinion of the
//! demo contract.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn tamga(data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tamga"));
    c.current_dir(data)
        .env("TAMGA_PIN", "246810")
        .env("TAMGA_LOG", "warn");
    c
}

struct Demo {
    child: Child,
    data: PathBuf,
    manifest: Value,
    _dir: tempfile::TempDir,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_demo() -> Demo {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tamga"))
        .args(["demo", "--data", data.to_str().unwrap(), "--port", "0"])
        .env("TAMGA_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let manifest = loop {
        if let Ok(t) = std::fs::read_to_string(data.join("demo.json"))
            && let Ok(v) = serde_json::from_str::<Value>(&t)
        {
            break v;
        }
        assert!(child.try_wait().unwrap().is_none(), "demo exited early");
        assert!(Instant::now() < deadline, "demo.json never appeared");
        std::thread::sleep(Duration::from_millis(100));
    };
    Demo {
        child,
        data,
        manifest,
        _dir: dir,
    }
}

fn run(c: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = c.output().unwrap();
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

fn verify(d: &Demo, args: &[&str]) -> (i32, Value) {
    let mut c = tamga(&d.data);
    c.args(["verify", "--json", "--trust", "documents/trust-anchors.pem"])
        .args(args);
    let (code, out, err) = run(&mut c);
    let v = serde_json::from_str(&out).unwrap_or(Value::Null);
    assert!(
        code == 3 || !v.is_null(),
        "verify {args:?} printed no report: {err}"
    );
    (code, v)
}

fn sample_pdf(d: &Demo, name: &str) -> String {
    // The demo's unsigned contract source is not kept; reuse the signed one's first revision.
    let signed = std::fs::read(d.data.join("documents/sale-contract.signed.pdf")).unwrap();
    let end = signed.windows(5).position(|w| w == b"%%EOF").unwrap() + 6;
    std::fs::write(d.data.join(name), &signed[..end]).unwrap();
    name.to_string()
}

#[test]
fn sign_and_verify_every_format_against_the_demo() {
    let d = start_demo();
    let tsa = d.manifest["endpoints"]["timestamp_authority"]
        .as_str()
        .unwrap()
        .to_string();
    let citizens = d.manifest["trust_services"]["citizens"]
        .as_array()
        .unwrap()
        .clone();
    let p12 = |i: usize| {
        citizens[i]["files"]["sign"]["pkcs12"]
            .as_str()
            .unwrap()
            .to_string()
    };

    // The demo's contract: three signatures at B-LTA and a document time-stamp, all passed.
    let doc = &d.manifest["signed_documents"][0];
    assert_eq!(doc["verdict"], "TOTAL-PASSED", "{doc}");
    let (code, report) = verify(&d, &["documents/sale-contract.signed.pdf"]);
    assert_eq!(code, 0, "{report}");
    let formats: Vec<&str> = report["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["format"].as_str().unwrap())
        .collect();
    assert_eq!(
        formats
            .iter()
            .filter(|f| **f == "PAdES-BASELINE-LTA")
            .count(),
        3,
        "{formats:?}"
    );
    assert!(
        report["signatures"][0]["summary"]["mn"]
            .as_str()
            .unwrap()
            .contains("ХҮЧИНТЭЙ")
    );

    // PAdES B-LTA from a PKCS#12, with the demo's TSA and OCSP over HTTP.
    let pdf = sample_pdf(&d, "application.pdf");
    let (code, out, err) = run(tamga(&d.data).args([
        "sign",
        &pdf,
        "--p12",
        &p12(0),
        "--level",
        "lta",
        "--tsa",
        &tsa,
        "--reason",
        "Өргөдөл / application",
        "-o",
        "app-lta.pdf",
    ]));
    assert_eq!(code, 0, "{out}{err}");
    let (code, r) = verify(&d, &["app-lta.pdf"]);
    assert_eq!(
        (code, r["signatures"][0]["format"].as_str()),
        (0, Some("PAdES-BASELINE-LTA")),
        "{r}"
    );

    // A second party signs the same PDF; both pass.
    let (code, _, err) = run(tamga(&d.data).args([
        "sign",
        "app-lta.pdf",
        "--p12",
        &p12(1),
        "--level",
        "t",
        "--tsa",
        &tsa,
        "-o",
        "app-two.pdf",
    ]));
    assert_eq!(code, 0, "{err}");
    let (code, r) = verify(&d, &["app-two.pdf"]);
    assert_eq!(code, 0, "{r}");

    // CAdES detached B-LT with a PKCS#8 key (encrypted PEM, passphrase from TAMGA_PIN).
    let contents =
        tamga_keys::read_pkcs12(&std::fs::read(d.data.join(p12(2))).unwrap(), "246810").unwrap();
    let enc = tamga_keys::encrypt_pkcs8(&contents.key_pkcs8, b"246810", 10_000).unwrap();
    std::fs::write(
        d.data.join("key.pem"),
        der::pem::encode_string("ENCRYPTED PRIVATE KEY", der::pem::LineEnding::LF, &enc).unwrap(),
    )
    .unwrap();
    let chain: String = contents
        .certificates
        .iter()
        .map(|c| der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, c).unwrap())
        .collect();
    std::fs::write(d.data.join("certs.pem"), chain).unwrap();
    std::fs::write(d.data.join("order.txt"), "Захирамж №7 / order no. 7\n").unwrap();
    let (code, _, err) = run(tamga(&d.data).args([
        "sign",
        "order.txt",
        "--key",
        "key.pem",
        "--cert",
        "certs.pem",
        "--level",
        "lt",
        "--tsa",
        &tsa,
    ]));
    assert_eq!(code, 0, "{err}");
    let (code, r) = verify(&d, &["order.txt.p7s", "--content", "order.txt"]);
    assert_eq!(
        (code, r["signatures"][0]["format"].as_str()),
        (0, Some("CAdES-BASELINE-LT")),
        "{r}"
    );
    // A notary countersigns it.
    let (code, _, err) = run(tamga(&d.data).args([
        "sign",
        "order.txt.p7s",
        "--format",
        "cades",
        "--countersign",
        "1",
        "--p12",
        &p12(1),
        "-o",
        "order.notarised.p7s",
    ]));
    assert_eq!(code, 0, "{err}");
    let (code, r) = verify(&d, &["order.notarised.p7s", "--content", "order.txt"]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["signatures"][1]["kind"], "countersignature", "{r}");

    // ASiC-E over two files at B-LT.
    std::fs::write(d.data.join("annex.xml"), "<annex/>").unwrap();
    let (code, _, err) = run(tamga(&d.data).args([
        "sign",
        "order.txt",
        "annex.xml",
        "--format",
        "asic-e",
        "--p12",
        &p12(0),
        "--level",
        "lt",
        "--tsa",
        &tsa,
        "-o",
        "packet.asice",
    ]));
    assert_eq!(code, 0, "{err}");
    let (code, r) = verify(&d, &["packet.asice"]);
    assert_eq!(code, 0, "{r}");

    // A key on a PKCS#11 token (the demo's SoftHSM2 ID card).
    let t = &d.manifest["trust_services"]["citizen_on_token"];
    if t["token"].is_string() {
        std::fs::write(
            d.data.join("token-sign.pem"),
            t["certificates"]["sign"]["certificate_pem"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        let (code, _, err) = run(tamga(&d.data)
            .env("SOFTHSM2_CONF", t["softhsm2_conf"].as_str().unwrap())
            .args([
                "sign",
                &pdf,
                "--pkcs11-module",
                t["pkcs11_module"].as_str().unwrap(),
                "--token",
                t["token"].as_str().unwrap(),
                "--key-label",
                t["certificates"]["sign"]["key_label"].as_str().unwrap(),
                "--cert",
                "token-sign.pem",
                "--chain",
                &format!(
                    "holders/{}/chain.pem",
                    citizens[0]["name"].as_str().map(|_| "batbayar").unwrap()
                ),
                "--level",
                "t",
                "--tsa",
                &tsa,
                "-o",
                "app-token.pdf",
            ]));
        assert_eq!(code, 0, "{err}");
        let (code, r) = verify(&d, &["app-token.pdf"]);
        assert_eq!(code, 0, "{r}");
    } else {
        panic!("the demo has no citizen on a token: {t}");
    }

    // Exit codes: changed document 1, no revocation data and no fetching 2, garbage 3.
    let mut bad = std::fs::read(d.data.join("app-lta.pdf")).unwrap();
    let at = bad.windows(7).position(|w| w == b"180,000").unwrap();
    bad[at] = b'9';
    std::fs::write(d.data.join("forged.pdf"), &bad).unwrap();
    let (code, r) = verify(&d, &["forged.pdf"]);
    assert_eq!(
        (code, r["signatures"][0]["sub_indication"].as_str()),
        (1, Some("HASH_FAILURE")),
        "{r}"
    );
    let (code, _, err) =
        run(tamga(&d.data).args(["sign", &pdf, "--p12", &p12(0), "-o", "app-bb.pdf"]));
    assert_eq!(code, 0, "{err}");
    let (code, r) = verify(&d, &["app-bb.pdf", "--no-fetch"]);
    assert_eq!(
        (code, r["signatures"][0]["sub_indication"].as_str()),
        (2, Some("TRY_LATER")),
        "{r}"
    );
    // …and with online OCSP (the default) the B-B signature passes.
    let (code, r) = verify(&d, &["app-bb.pdf"]);
    assert_eq!(code, 0, "{r}");
    // The archive extends a B-B PDF and a B-B CAdES signature to B-LTA, then renews.
    let (code, _, err) = run(tamga(&d.data).args([
        "extend",
        "app-bb.pdf",
        "--level",
        "lta",
        "--tsa",
        &tsa,
        "-o",
        "app-extended.pdf",
    ]));
    assert_eq!(code, 0, "{err}");
    let (code, r) = verify(&d, &["app-extended.pdf", "--no-fetch"]);
    assert_eq!(
        (code, r["signatures"][0]["format"].as_str()),
        (0, Some("PAdES-BASELINE-LTA")),
        "{r}"
    );
    let (code, _, err) = run(tamga(&d.data).args([
        "extend",
        "app-extended.pdf",
        "--level",
        "lta",
        "--tsa",
        &tsa,
    ]));
    assert_eq!(code, 0, "{err}");
    let (code, r) = verify(&d, &["app-extended.pdf", "--no-fetch"]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(
        r["signatures"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["kind"] == "document-timestamp")
            .count(),
        2,
        "{r}"
    );
    let (code, _, err) =
        run(tamga(&d.data).args(["sign", "order.txt", "--p12", &p12(0), "-o", "order-bb.p7s"]));
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(tamga(&d.data).args([
        "extend",
        "order-bb.p7s",
        "--content",
        "order.txt",
        "--level",
        "lta",
        "--tsa",
        &tsa,
    ]));
    assert_eq!(code, 0, "{err}");
    let (code, r) = verify(
        &d,
        &["order-bb.p7s", "--content", "order.txt", "--no-fetch"],
    );
    assert_eq!(
        (code, r["signatures"][0]["format"].as_str()),
        (0, Some("CAdES-BASELINE-LTA")),
        "{r}"
    );
    std::fs::write(d.data.join("garbage.pdf"), b"%PDF-1.7 nothing").unwrap();
    let (code, _) = verify(&d, &["garbage.pdf"]);
    assert_eq!(code, 3);

    // Evidence bundle: reproduced offline once the demo is gone.
    let (code, _, err) = run(tamga(&d.data).args([
        "verify",
        "app-bb.pdf",
        "--trust",
        "documents/trust-anchors.pem",
        "--bundle",
        "evidence.zip",
    ]));
    assert_eq!(code, 0, "{err}");
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::copy(
        d.data.join("evidence.zip"),
        elsewhere.path().join("evidence.zip"),
    )
    .unwrap();
    drop(d);
    let (code, out, err) =
        run(tamga(elsewhere.path()).args(["verify", "--offline", "evidence.zip", "--json"]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("reproduced offline"), "{err}");
}

#[test]
fn validate_over_http_and_pyhanko_agrees_on_the_demo_contract() {
    let d = start_demo();
    let base = d.manifest["base_url"].as_str().unwrap().to_string();
    let pdf = std::fs::read(d.data.join("documents/sale-contract.signed.pdf")).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let c = reqwest::Client::new();
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(pdf.clone()).file_name("contract.pdf"),
        );
        let r = c
            .post(format!("{base}/api/v1/validate"))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["x-tamga-indication"], "TOTAL-PASSED");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["signatures"].as_array().unwrap().len(), 4);
        // No file: 400 with a bilingual error; an upload over the limit: 413.
        let form = reqwest::multipart::Form::new().text("revocation", "require");
        let r = c
            .post(format!("{base}/api/v1/validate"))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        let e: Value = r.json().await.unwrap();
        assert!(e["error_mn"].is_string());
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(vec![0u8; 60 << 20]).file_name("big.pdf"),
        );
        match c
            .post(format!("{base}/api/v1/validate"))
            .multipart(form)
            .send()
            .await
        {
            Ok(r) => assert_eq!(r.status(), 413),
            // The server may answer 413 and close the connection before the client has written
            // all 60 MB; the client then sees the upload cut off — also a refusal (a server
            // that read the whole body would not have cut it).
            Err(e) => assert!(e.is_request() || e.is_body(), "{e}"),
        }
        // A tampered contract: the verdict travels in the header too.
        let mut bad = pdf.clone();
        let at = bad.windows(7).position(|w| w == b"180,000").unwrap();
        bad[at] = b'9';
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bad).file_name("contract.pdf"),
        );
        let r = c
            .post(format!("{base}/api/v1/validate"))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["x-tamga-indication"], "TOTAL-FAILED");
        // The operation is in the node's OpenAPI document.
        let api: Value = c
            .get(format!("{base}/openapi.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(api["paths"]["/api/v1/validate"]["post"].is_object());
    });
    // The contract's commitment is in the notary log: a receipt checks offline with the log's
    // and both witnesses' keys (after the witnesses have cosigned).
    let entry = &d.manifest["signed_documents"][0]["ledger"];
    let index = entry["index"].as_u64().unwrap().to_string();
    let ledger = &d.manifest["ledger"];
    let log_key = ledger["logs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "notary")
        .unwrap()["vkey"]
        .as_str()
        .unwrap()
        .to_string();
    let w: Vec<String> = ledger["witnesses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["vkey"].as_str().unwrap().to_string())
        .collect();
    let mut verified = false;
    for _ in 0..50 {
        let (code, _, err) = run(tamga(&d.data).args([
            "ledger",
            "prove",
            "--url",
            &base,
            "--log",
            "notary",
            "--index",
            &index,
            "-o",
            "receipt.json",
        ]));
        assert_eq!(code, 0, "{err}");
        let (code, out, _) = run(tamga(&d.data).args([
            "ledger",
            "verify-receipt",
            "receipt.json",
            "--log-key",
            &log_key,
            "--witness",
            &w[0],
            "--witness",
            &w[1],
        ]));
        if code == 0 {
            assert!(out.contains("valid"), "{out}");
            verified = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(verified, "the receipt never verified with both witnesses");
    // A receipt for another entry value does not verify.
    let mut r: Value =
        serde_json::from_slice(&std::fs::read(d.data.join("receipt.json")).unwrap()).unwrap();
    r["entry"] = Value::String("AAAA".into());
    std::fs::write(d.data.join("forged.json"), serde_json::to_vec(&r).unwrap()).unwrap();
    let (code, out, _) = run(tamga(&d.data).args([
        "ledger",
        "verify-receipt",
        "forged.json",
        "--log-key",
        &log_key,
        "--witness",
        &w[0],
    ]));
    assert_eq!(code, 1, "{out}");
    // pyHanko: the contract's three signatures at B-LTA, revocation from the DSS only.
    match std::env::var("TAMGA_PYHANKO") {
        Ok(py) => {
            let script = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../tamga-sign/tests/peers/pyhanko_peer.py");
            let root = d.data.join("documents/trust-anchors.pem");
            // pyHanko takes one root; the contract's signers all chain to the roots in the file.
            let out = Command::new(py)
                .arg(script)
                .args([
                    "validate",
                    d.data
                        .join("documents/sale-contract.signed.pdf")
                        .to_str()
                        .unwrap(),
                    root.to_str().unwrap(),
                    "plain",
                ])
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let v: Value = serde_json::from_str(stdout.trim()).unwrap();
            let sigs = v.as_array().unwrap();
            assert_eq!(sigs.len(), 3);
            for s in sigs {
                assert_eq!(
                    (&s["intact"], &s["valid"]),
                    (&Value::Bool(true), &Value::Bool(true)),
                    "{s}"
                );
            }
        }
        Err(_) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must set TAMGA_PYHANKO"
            );
            eprintln!("skipped: pyHanko check of the demo contract (set TAMGA_PYHANKO)");
        }
    }
}
