//! e-Notary as a notary office, the parties, a bank and a court use it, against the demo node:
//! contracts created with `tamga notary create`, each party signing the current version with
//! `tamga sign` and submitting it, the notary countersigning; every refusal with its reason
//! (out of turn, not a party, another version, an official who is not a notary, a citizen
//! certificate instead of an official one, a representative without a mandate); the register
//! number and code; verification by number (public data only), by code and by document; the
//! evidence bundle reproduced by `tamga verify --offline`; pyHanko validates the notarised PDF.

mod support;

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use support::exchange::start_demo;

const PIN: &str = "246810";

fn tamga(dir: &Path, token: &str, args: &[&str]) -> (i32, String, String) {
    support::run_tamga(
        dir,
        &[("TAMGA_NOTARY_TOKEN", token), ("TAMGA_PIN", PIN)],
        args,
    )
}

struct Office<'a> {
    dir: &'a Path,
    token: String,
    base: String,
}

impl Office<'_> {
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        tamga(self.dir, &self.token, args)
    }

    fn create(&self, parties: &[&str], ordered: bool) -> String {
        self.create_from(&["contract.pdf"], parties, ordered)
    }

    fn create_from(&self, files: &[&str], parties: &[&str], ordered: bool) -> String {
        let mut args = vec!["notary", "create", "--url", &self.base];
        for f in files {
            args.extend(["--file", f]);
        }
        args.extend([
            "--title",
            "Түрээсийн гэрээ / Lease contract",
            "--public",
            "title,parties",
            "--deadline-days",
            "7",
        ]);
        for p in parties {
            args.extend(["--party", p]);
        }
        if ordered {
            args.push("--ordered");
        }
        let (code, out, err) = self.run(&args);
        assert_eq!(code, 0, "{out}{err}");
        let v: Value = serde_json::from_str(&out).unwrap();
        v["contract_id"].as_str().unwrap().to_owned()
    }

    /// Downloads the current version, signs it with `p12` and submits it (`step`: submit or
    /// notarise). `version` names the file to sign instead of the current one.
    fn sign(
        &self,
        id: &str,
        p12: &str,
        field: &str,
        step: &str,
        version: Option<&str>,
    ) -> (i32, String) {
        let current = format!("{id}-current.pdf");
        let source = match version {
            Some(v) => v.to_owned(),
            None => {
                let (code, out, err) = self.run(&[
                    "notary", "download", "--url", &self.base, "--id", id, "-o", &current,
                ]);
                assert_eq!(code, 0, "{out}{err}");
                current
            }
        };
        let asic = std::fs::read(self.dir.join(&source))
            .unwrap()
            .starts_with(b"PK");
        let signed = format!("{id}-{field}.{}", if asic { "asice" } else { "pdf" });
        let tsa = format!("{}/tsa", self.base);
        let mut args = vec![
            "sign", &source, "-o", &signed, "--p12", p12, "--level", "t", "--tsa", &tsa,
        ];
        if asic {
            args.extend(["--format", "asic-e", "--add-to-container"]);
        } else {
            args.extend(["--field", field]);
        }
        let (code, out, err) = self.run(&args);
        assert_eq!(code, 0, "{out}{err}");
        let (code, out, err) = self.run(&[
            "notary", step, "--url", &self.base, "--id", id, "--file", &signed,
        ]);
        (code, format!("{out}{err}"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contracts_signed_by_parties_notarised_and_verified_by_a_bank() {
    let tmp = tempfile::tempdir().unwrap();
    let (_demo, manifest) = start_demo(tmp.path(), "600");
    let data = tmp.path().join("demo");
    let d = data.as_path();
    let office = Office {
        dir: d,
        token: std::fs::read_to_string(d.join("secrets/notary-token"))
            .unwrap()
            .trim()
            .to_owned(),
        base: manifest["base_url"].as_str().unwrap().to_owned(),
    };
    let base = office.base.clone();
    let country = &manifest["trust_services"];
    let citizen = |i: usize| {
        (
            country["citizens"][i]["registration_number"]
                .as_str()
                .unwrap()
                .to_owned(),
            country["citizens"][i]["files"]["sign"]["pkcs12"]
                .as_str()
                .unwrap()
                .to_owned(),
        )
    };
    let (c0, c0_p12) = citizen(0);
    let (c1, c1_p12) = citizen(1);
    let (_c2, c2_p12) = citizen(2);
    let notary_p12 = country["officials"][0]["pkcs12"]
        .as_str()
        .unwrap()
        .to_owned();
    let other_official_p12 = country["officials"][1]["pkcs12"]
        .as_str()
        .unwrap()
        .to_owned();

    // The demo's act: public facts by number, the full verdict by code, offline bundle.
    let act = &manifest["notary"];
    let code = act["verification_code"].as_str().unwrap();
    let http = reqwest::Client::new();
    let by_number: Value = http
        .get(act["verify_by_number"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(by_number["register_number"], act["register_number"]);
    assert!(by_number.get("report").is_none(), "{by_number}");
    assert_eq!(by_number["public"]["parties"][0]["role_en"], "seller");
    let (rc, out, err) = office.run(&[
        "notary",
        "verify",
        "--url",
        &base,
        "--code",
        code,
        "--bundle",
        "demo-act.zip",
    ]);
    assert_eq!(rc, 0, "{out}{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["report"]["indication"], "TOTAL-PASSED");
    assert_eq!(v["ledger"]["log"], "notary");
    let (rc, out, err) = office.run(&["verify", "--offline", "demo-act.zip"]);
    assert_eq!(rc, 0, "{out}{err}");
    assert!(err.contains("reproduced offline"), "{err}");

    // A new contract: a citizen and a company (the first citizen is its legal representative).
    let unsigned = tamga_pdfa::render(&tamga_pdfa::DocumentSpec {
        title: "Түрээсийн гэрээ / Lease contract".into(),
        author: "Test".into(),
        lang: "mn".into(),
        created_unix: 1_796_083_200,
        blocks: vec![
            tamga_pdfa::Block::Title("Түрээсийн гэрээ №7 / Lease contract No. 7".into()),
            tamga_pdfa::Block::Text(
                "Түрээслэгч байрыг 12 сар түрээслэнэ. / The tenant leases the flat for 12 months."
                    .into(),
            ),
        ],
        qr: None,
        footer: None,
    })
    .unwrap();
    std::fs::write(d.join("contract.pdf"), &unsigned).unwrap();
    let company_party = format!("{c0}@9100001:түрээслэгч:tenant");
    let id = office.create(
        &[&format!("{c1}:түрээслүүлэгч:landlord"), &company_party],
        true,
    );

    // Out of turn; not a party; then the landlord signs.
    let (rc, out) = office.sign(&id, &c0_p12, "Tenant", "submit", None);
    assert_ne!(rc, 0);
    assert!(out.contains("sign in order"), "{out}");
    let (rc, out) = office.sign(&id, &c2_p12, "Stranger", "submit", None);
    assert_ne!(rc, 0);
    assert!(out.contains("is not a party"), "{out}");
    let (rc, out) = office.sign(&id, &c1_p12, "Landlord", "submit", None);
    assert_eq!(rc, 0, "{out}");
    assert!(out.contains("\"signing\""), "{out}");
    // The tenant signing the original instead of the current version.
    let (rc, out) = office.sign(&id, &c0_p12, "Tenant0", "submit", Some("contract.pdf"));
    assert_ne!(rc, 0);
    assert!(out.contains("not the current version"), "{out}");
    let (rc, out) = office.sign(&id, &c0_p12, "Tenant", "submit", None);
    assert_eq!(rc, 0, "{out}");
    assert!(out.contains("awaiting-notary"), "{out}");
    // An official who is not a notary; a citizen certificate; then the notary.
    let (rc, out) = office.sign(&id, &other_official_p12, "Official", "notarise", None);
    assert_ne!(rc, 0);
    assert!(out.contains("is not a notary"), "{out}");
    let (rc, out) = office.sign(&id, &c2_p12, "Citizen", "notarise", None);
    assert_ne!(rc, 0);
    assert!(out.contains("official certificate"), "{out}");
    let (rc, out) = office.sign(&id, &notary_p12, "Notary", "notarise", None);
    assert_eq!(rc, 0, "{out}");
    let notarised: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    let number = notarised["register_number"].as_str().unwrap().to_owned();
    let vcode = notarised["verification_code"].as_str().unwrap().to_owned();
    assert!(number.ends_with("/000002"), "{number}");
    // Notarised: archived for the long term, in both parties' wallets, a paper copy with QR.
    let (rc, out, err) = office.run(&["notary", "status", "--url", &base, "--id", &id]);
    assert_eq!(rc, 0, "{out}{err}");
    let status: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(status["status"], "notarised");
    assert!(
        status["record"]["notary"]["archive_id"]
            .as_str()
            .is_some_and(|a| a.starts_with("ARX-")),
        "{status}"
    );
    let store = tamga_store::Store::open(
        manifest["database"]["url"].as_str().unwrap(),
        &Default::default(),
    )
    .await
    .unwrap();
    for reg in [&c0, &c1] {
        let wallet = store.wallet_of(reg).await.unwrap();
        assert!(
            wallet.iter().any(|w| w.title_en.contains(&number)),
            "{reg}: {wallet:?}"
        );
    }
    store.close().await;
    let copy = http
        .get(format!("{base}/notary/verify/code/{vcode}/copy"))
        .send()
        .await
        .unwrap();
    assert_eq!(copy.status(), 200);
    assert!(copy.bytes().await.unwrap().starts_with(b"%PDF-"));
    // Once notarised, no more signatures.
    let (rc, out) = office.sign(&id, &c1_p12, "Late", "submit", None);
    assert_ne!(rc, 0);
    assert!(out.contains("409"), "{out}");

    // The bank: by document (exact bytes only), by code; the bundle offline.
    let (rc, out, err) = office.run(&[
        "notary",
        "download",
        "--url",
        &base,
        "--id",
        &id,
        "-o",
        "final.pdf",
    ]);
    assert_eq!(rc, 0, "{out}{err}");
    let (rc, out, err) = office.run(&["notary", "verify", "--url", &base, "--file", "final.pdf"]);
    assert_eq!(rc, 0, "{out}{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["register_number"], number.as_str());
    assert_eq!(v["report"]["indication"], "TOTAL-PASSED");
    // The notarised PDF carries the three signatures and the B-LTA document time-stamp.
    let kinds: Vec<&str> = v["report"]["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "signature").count(),
        3,
        "{kinds:?}"
    );
    assert!(kinds.contains(&"document-timestamp"));
    let mut changed = std::fs::read(d.join("final.pdf")).unwrap();
    changed.extend_from_slice(b"\n% appended\n");
    std::fs::write(d.join("changed.pdf"), changed).unwrap();
    let (rc, _, err) = office.run(&["notary", "verify", "--url", &base, "--file", "changed.pdf"]);
    assert_ne!(rc, 0);
    assert!(err.contains("404"), "{err}");
    let (rc, out, err) = office.run(&[
        "notary", "verify", "--url", &base, "--code", &vcode, "--bundle", "act.zip",
    ]);
    assert_eq!(rc, 0, "{out}{err}");
    let (rc, out, err) = office.run(&["verify", "--offline", "act.zip"]);
    assert_eq!(rc, 0, "{out}{err}");
    let (rc, _, _) = office.run(&["notary", "verify", "--url", &base, "--code", "0000000000ZZ"]);
    assert_ne!(rc, 0);

    // A representative without a legal-representative mandate (the second citizen is only an
    // employee of the company): the notary refuses.
    let id2 = office.create(
        &[
            &format!("{c1}@9100001:худалдагч:seller"),
            &format!("{c0}:худалдан авагч:buyer"),
        ],
        false,
    );
    assert_eq!(office.sign(&id2, &c0_p12, "Buyer", "submit", None).0, 0);
    assert_eq!(office.sign(&id2, &c1_p12, "Seller", "submit", None).0, 0);
    let (rc, out) = office.sign(&id2, &notary_p12, "Notary", "notarise", None);
    assert_ne!(rc, 0);
    assert!(out.contains("no valid mandate"), "{out}");

    // Several files: an ASiC-E container that every party and the notary sign in full.
    std::fs::write(
        d.join("lease-terms.txt"),
        "Түрээсийн нөхцөл / Lease terms\n",
    )
    .unwrap();
    std::fs::write(
        d.join("annex.txt"),
        "Хавсралт: тавилга / Annex: furniture\n",
    )
    .unwrap();
    let id3 = office.create_from(
        &["lease-terms.txt", "annex.txt"],
        &[
            &format!("{c1}:түрээслүүлэгч:landlord"),
            &format!("{c0}:түрээслэгч:tenant"),
        ],
        false,
    );
    let (rc, out) = office.sign(&id3, &c1_p12, "landlord", "submit", None);
    assert_eq!(rc, 0, "{out}");
    // The tenant signs a container whose annex was changed: another version.
    let (rc, out, err) = office.run(&[
        "notary", "download", "--url", &base, "--id", &id3, "-o", "c3.asice",
    ]);
    assert_eq!(rc, 0, "{out}{err}");
    let mut entries = tamga_sign::zip::read(
        &std::fs::read(d.join("c3.asice")).unwrap(),
        Default::default(),
    )
    .unwrap();
    for e in entries.iter_mut().filter(|e| e.name == "annex.txt") {
        e.data = "Хавсралт: тавилгагүй / Annex: no furniture\n"
            .as_bytes()
            .to_vec();
    }
    std::fs::write(
        d.join("c3-changed.asice"),
        tamga_sign::zip::write(&entries).unwrap(),
    )
    .unwrap();
    let (rc, out) = office.sign(&id3, &c0_p12, "tenant0", "submit", Some("c3-changed.asice"));
    assert_ne!(rc, 0);
    assert!(out.contains("not the current version"), "{out}");
    let (rc, out) = office.sign(&id3, &c0_p12, "tenant", "submit", None);
    assert_eq!(rc, 0, "{out}");
    assert!(out.contains("awaiting-notary"), "{out}");
    let (rc, out) = office.sign(&id3, &notary_p12, "notary", "notarise", None);
    assert_eq!(rc, 0, "{out}");
    let act3: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    let code3 = act3["verification_code"].as_str().unwrap();
    let (rc, out, err) = office.run(&[
        "notary", "verify", "--url", &base, "--code", code3, "--bundle", "act3.zip",
    ]);
    assert_eq!(rc, 0, "{out}{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["report"]["indication"], "TOTAL-PASSED", "{v}");
    assert_eq!(
        v["report"]["signatures"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["kind"] == "signature")
            .count(),
        3
    );
    let (rc, out, err) = office.run(&["verify", "--offline", "act3.zip"]);
    assert_eq!(rc, 0, "{out}{err}");

    // The office API needs its token.
    let r = http
        .get(format!("{base}/notary/api/contracts/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // pyHanko: the three signatures intact and valid, revocation from the DSS.
    let py = std::env::var("TAMGA_PYHANKO").expect("TAMGA_PYHANKO (a venv with pyHanko)");
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tamga-sign/tests/peers/pyhanko_peer.py");
    let out = Command::new(py)
        .arg(script)
        .args([
            "validate",
            d.join("final.pdf").to_str().unwrap(),
            d.join("documents/trust-anchors.pem").to_str().unwrap(),
            "plain",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    let sigs = v.as_array().unwrap();
    assert_eq!(sigs.len(), 3, "{v}");
    for s in sigs {
        assert_eq!(
            (&s["intact"], &s["valid"]),
            (&Value::Bool(true), &Value::Bool(true)),
            "{s}"
        );
    }
}
