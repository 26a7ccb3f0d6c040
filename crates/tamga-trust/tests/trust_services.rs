//! Trust services over real HTTP on SQLite and PostgreSQL, with openssl as the peer:
//! issuance from an openssl CSR, `openssl ocsp -url` against the running responder before and
//! after a revocation, `openssl crl` on the published CRL, OCSP error statuses, the admin
//! API's authentication, and the signed trusted list.

use std::path::Path;
use std::sync::Arc;

use const_oid::ObjectIdentifier;
use tamga_keys::{KeyAlgorithm, KeyStore, SoftwareKeyStore};
use tamga_store::{Store, StoreOptions};
use tamga_testkit::{TestDatabase, openssl};
use tamga_trust::{CaSpec, TrustServices, trusted_list};

const TOKEN: &str = "s3cret-admin-token";

struct Node {
    base: String,
    trust: Arc<TrustServices>,
    list_key_spki: Vec<u8>,
    handle: tamga_http::ShutdownHandle,
    _keys_dir: tempfile::TempDir,
}

async fn start(db: &TestDatabase) -> Node {
    let store = Store::open(&db.url, &StoreOptions::default())
        .await
        .unwrap();
    let keys_dir = tempfile::tempdir().unwrap();
    let keys: Arc<dyn KeyStore> = Arc::new(
        SoftwareKeyStore::open(keys_dir.path(), b"pw")
            .unwrap()
            .with_pbkdf2_iterations(1000),
    );
    let node_key = keys.open_or_generate("node", KeyAlgorithm::EcP256).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let trust = Arc::new(
        TrustServices::open(store, Arc::clone(&keys), Arc::clone(&node_key), &base)
            .await
            .unwrap(),
    );
    let policy: ObjectIdentifier = "1.3.6.1.4.1.99999.2.1".parse().unwrap();
    trust
        .create_ca(
            &CaSpec {
                name: "test-root".into(),
                display_name: "Test Root".into(),
                organisation: "Tamga".into(),
                parent: None,
                key_algorithm: KeyAlgorithm::EcP384,
                policy,
                validity_years: 20,
            },
            "test",
        )
        .await
        .unwrap();
    trust
        .create_ca(
            &CaSpec {
                name: "test-ca".into(),
                display_name: "Test Citizen CA".into(),
                organisation: "Tamga".into(),
                parent: Some("test-root".into()),
                key_algorithm: KeyAlgorithm::EcP256,
                policy,
                validity_years: 10,
            },
            "test",
        )
        .await
        .unwrap();
    trust
        .create_tsa(
            "test-tsa",
            "test-ca",
            "1.3.6.1.4.1.99999.3.7".parse().unwrap(),
            "test",
        )
        .await
        .unwrap();
    let (routes, api) = tamga_trust::http::routes(Arc::clone(&trust), Some(TOKEN.into()));
    let node = tamga_http::NodeBuilder::new("test", "0")
        .merge(routes, api)
        .build()
        .serve(listener)
        .unwrap();
    let handle = node.shutdown_handle();
    tokio::spawn(node.wait());
    Node {
        base,
        trust,
        list_key_spki: node_key.public_key_der().to_vec(),
        handle,
        _keys_dir: keys_dir,
    }
}

fn ossl(dir: &Path, args: &[&str]) -> String {
    let (ok, out) = openssl::run(dir, args);
    assert!(ok, "openssl {args:?}: {out}");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_revoke_and_publish_over_http() {
    for db in TestDatabase::all().await {
        let node = start(&db).await;
        let c = reqwest::Client::new();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for (ca, file) in [("test-root", "root.der"), ("test-ca", "ca.der")] {
            let der = c
                .get(format!("{}/pki/{ca}/ca.crt", node.base))
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            std::fs::write(d.join(file), &der).unwrap();
        }
        ossl(
            d,
            &[
                "x509", "-inform", "DER", "-in", "root.der", "-out", "root.pem",
            ],
        );
        ossl(
            d,
            &["x509", "-inform", "DER", "-in", "ca.der", "-out", "ca.pem"],
        );
        std::fs::write(
            d.join("chain.pem"),
            format!(
                "{}{}",
                std::fs::read_to_string(d.join("root.pem")).unwrap(),
                std::fs::read_to_string(d.join("ca.pem")).unwrap()
            ),
        )
        .unwrap();

        // A citizen's signing certificate from an openssl CSR.
        ossl(
            d,
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
                "/CN=ignored",
                "-out",
                "req.pem",
            ],
        );
        let body = serde_json::json!({
            "profile": "citizen-sign",
            "subject": { "kind": "citizen", "given_name": "Болд", "surname": "Батбаяр", "registration_number": "УБ99010112" },
            "csr_pem": std::fs::read_to_string(d.join("req.pem")).unwrap(),
            "why": "ID card renewal"
        });
        let r = c
            .post(format!("{}/pki/admin/test-ca/certificates", node.base))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        let issued: serde_json::Value = r.json().await.unwrap();
        let serial = issued["serial"].as_str().unwrap().to_owned();
        std::fs::write(
            d.join("leaf.pem"),
            issued["certificate_pem"].as_str().unwrap(),
        )
        .unwrap();
        let out = ossl(
            d,
            &[
                "verify",
                "-x509_strict",
                "-CAfile",
                "root.pem",
                "-untrusted",
                "ca.pem",
                "leaf.pem",
            ],
        );
        assert!(out.contains("leaf.pem: OK"), "{out}");

        // openssl asks the running responder.
        let url = format!("{}/pki/test-ca/ocsp", node.base);
        let out = ossl(
            d,
            &[
                "ocsp",
                "-url",
                &url,
                "-issuer",
                "ca.pem",
                "-cert",
                "leaf.pem",
                "-CAfile",
                "chain.pem",
            ],
        );
        assert!(
            out.contains("leaf.pem: good") && out.contains("Response verify OK"),
            "{out}"
        );

        // Revoke; the very next OCSP answer says so, and the CRL lists it.
        let r = c
            .post(format!(
                "{}/pki/admin/test-ca/certificates/{serial}/revoke",
                node.base
            ))
            .bearer_auth(TOKEN)
            .json(&serde_json::json!({ "reason": "keyCompromise", "why": "card stolen" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204, "{}", r.text().await.unwrap());
        let out = ossl(
            d,
            &[
                "ocsp",
                "-url",
                &url,
                "-issuer",
                "ca.pem",
                "-cert",
                "leaf.pem",
                "-CAfile",
                "chain.pem",
            ],
        );
        assert!(
            out.contains("leaf.pem: revoked") && out.contains("keyCompromise"),
            "{out}"
        );
        let crl = c
            .get(format!("{}/pki/test-ca/crl", node.base))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        std::fs::write(d.join("ca.crl"), &crl).unwrap();
        let out = ossl(
            d,
            &[
                "crl",
                "-inform",
                "DER",
                "-in",
                "ca.crl",
                "-CAfile",
                "chain.pem",
                "-noout",
                "-text",
            ],
        );
        assert!(
            out.contains("verify OK") && out.to_lowercase().contains(&serial),
            "{out}"
        );
        let history: Vec<String> = node
            .trust
            .history("test-ca", &serial)
            .await
            .unwrap()
            .into_iter()
            .map(|e| format!("{}:{}", e.action, e.why))
            .collect();
        assert_eq!(history, ["issued:ID card renewal", "revoked:card stolen"]);
        // A revoked certificate cannot be suspended or revoked again.
        let r = c
            .post(format!(
                "{}/pki/admin/test-ca/certificates/{serial}/suspend",
                node.base
            ))
            .bearer_auth(TOKEN)
            .json(&serde_json::json!({ "why": "x" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 409);

        node.handle.trigger();
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_precise_answers() {
    let db = TestDatabase::sqlite();
    let node = start(&db).await;
    let c = reqwest::Client::new();
    let dir = tempfile::tempdir().unwrap();
    ossl(
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
            "/CN=x",
            "-out",
            "req.pem",
        ],
    );
    let csr = std::fs::read_to_string(dir.path().join("req.pem")).unwrap();
    let issue = |token: Option<&str>, body: serde_json::Value| {
        let mut rq = c
            .post(format!("{}/pki/admin/test-ca/certificates", node.base))
            .json(&body);
        if let Some(t) = token {
            rq = rq.bearer_auth(t);
        }
        rq.send()
    };
    let good = serde_json::json!({ "profile": "citizen-auth", "subject": { "kind": "citizen", "given_name": "A", "surname": "B", "registration_number": "УБ99010112" }, "csr_pem": csr });
    assert_eq!(issue(None, good.clone()).await.unwrap().status(), 401);
    assert_eq!(
        issue(Some("wrong"), good.clone()).await.unwrap().status(),
        401
    );
    let mut bad_reg = good.clone();
    bad_reg["subject"]["registration_number"] = "UB99010112".into();
    let r = issue(Some(TOKEN), bad_reg).await.unwrap();
    assert_eq!(r.status(), 400);
    let e: serde_json::Value = r.json().await.unwrap();
    assert!(
        e["error"].as_str().unwrap().contains("registration number") && e["error_mn"].is_string(),
        "{e}"
    );
    // The same CSR with one bit of its signature flipped: proof of possession fails.
    let (_, mut csr_der) = der::pem::decode_vec(csr.as_bytes()).unwrap();
    let n = csr_der.len();
    csr_der[n - 3] ^= 0x01;
    let mut bad_csr = good.clone();
    bad_csr["csr_pem"] = openssl::pem("CERTIFICATE REQUEST", &csr_der).into();
    assert_eq!(issue(Some(TOKEN), bad_csr).await.unwrap().status(), 400);
    let mut bad_profile = good.clone();
    bad_profile["profile"] = "root-ca".into();
    assert_eq!(issue(Some(TOKEN), bad_profile).await.unwrap().status(), 400);
    assert_eq!(
        c.get(format!("{}/pki/nope/ca.crt", node.base))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    // OCSP protocol errors.
    let ocsp = |ca: &str, body: Vec<u8>| {
        c.post(format!("{}/pki/{ca}/ocsp", node.base))
            .body(body)
            .send()
    };
    let resp = ocsp("test-ca", b"not der".to_vec())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(
        &resp[..],
        &tamga_pki::ocsp::status_only(x509_ocsp::OcspResponseStatus::MalformedRequest)[..]
    );
    // A request about a certificate of the root sent to the issuing CA's responder.
    let root =
        tamga_pki::ParsedCert::from_der(&node.trust.ca_certificate("test-root").unwrap()).unwrap();
    let req = tamga_pki::ocsp::build_request(&root, &[1, 2, 3], None).unwrap();
    let resp = ocsp("test-ca", req.clone())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(
        &resp[..],
        &tamga_pki::ocsp::status_only(x509_ocsp::OcspResponseStatus::Unauthorized)[..]
    );
    // The GET form answers the same request at the right CA: unknown serial.
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&req);
    let resp = c
        .get(format!(
            "{}/pki/test-root/ocsp/{}",
            node.base,
            b64.replace('/', "%2F").replace('+', "%2B")
        ))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let parsed = tamga_pki::ocsp::ParsedResponse::from_der(&resp).expect("successful response");
    drop(parsed);
    node.handle.trigger();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusted_list_is_signed_and_answers_as_of_a_time() {
    let db = TestDatabase::sqlite();
    let node = start(&db).await;
    let jws = reqwest::get(format!("{}/pki/trusted-list", node.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let list = trusted_list::verify(&jws, &node.list_key_spki).unwrap();
    assert_eq!(list.services.len(), 3);
    assert!(list.services.iter().any(|s| s.kind == "tsa"));
    let now = tamga_pki::builder::now();
    assert_eq!(list.trusted_at(now + 1).len(), 3);
    assert_eq!(
        list.trusted_at(now - 3600).len(),
        0,
        "nothing was accredited before it was created"
    );
    // Tampering with the payload breaks the signature.
    let mut v: serde_json::Value = serde_json::from_str(&jws).unwrap();
    v["payload"] = "e30".into();
    assert!(trusted_list::verify(&v.to_string(), &node.list_key_spki).is_err());
    // Withdraw the issuing CA: trusted before, not after.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    node.trust
        .set_trusted_status("test-ca", false, "regulator", "accreditation withdrawn")
        .await
        .unwrap();
    let jws = reqwest::get(format!("{}/pki/trusted-list", node.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let list = trusted_list::verify(&jws, &node.list_key_spki).unwrap();
    let later = tamga_pki::builder::now() + 1;
    assert_eq!(list.trusted_at(later).len(), 2);
    assert_eq!(
        list.trusted_at(now).len(),
        3,
        "as of before the withdrawal it was trusted"
    );
    node.handle.trigger();
}

/// A CA whose key lives on a PKCS#11 token (SoftHSM2): issuance and OCSP work the same, and
/// openssl accepts the chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ca_keys_on_a_pkcs11_token() {
    let hsm = tamga_testkit::SoftHsm::shared();
    let keys: Arc<dyn KeyStore> = Arc::new(
        tamga_keys::Pkcs11KeyStore::open(&tamga_keys::Pkcs11Config {
            module: hsm.module.clone(),
            token_label: tamga_testkit::SoftHsm::TOKENS[0].into(),
            pin: hsm.pin.clone().into(),
        })
        .unwrap(),
    );
    let db = TestDatabase::sqlite();
    let store = Store::open(&db.url, &StoreOptions::default())
        .await
        .unwrap();
    let node_key = keys
        .open_or_generate("trust-node", KeyAlgorithm::EcP256)
        .unwrap();
    let trust = TrustServices::open(store, Arc::clone(&keys), node_key, "http://127.0.0.1:1")
        .await
        .unwrap();
    let policy: ObjectIdentifier = "1.3.6.1.4.1.99999.2.9".parse().unwrap();
    trust
        .create_ca(
            &CaSpec {
                name: "hsm-root".into(),
                display_name: "HSM Root".into(),
                organisation: "Tamga".into(),
                parent: None,
                key_algorithm: KeyAlgorithm::EcP384,
                policy,
                validity_years: 5,
            },
            "test",
        )
        .await
        .unwrap();
    trust
        .create_ca(
            &CaSpec {
                name: "hsm-ca".into(),
                display_name: "HSM CA".into(),
                organisation: "Tamga".into(),
                parent: Some("hsm-root".into()),
                key_algorithm: KeyAlgorithm::Rsa2048,
                policy,
                validity_years: 5,
            },
            "test",
        )
        .await
        .unwrap();
    let leaf_key = keys
        .open_or_generate("trust-leaf", KeyAlgorithm::EcP256)
        .unwrap();
    let (leaf, serial) = trust
        .issue(
            "hsm-ca",
            tamga_trust::IssueSpec {
                profile: tamga_pki::issue::Profile::TlsClient,
                subject: tamga_pki::issue::NameBuilder::new()
                    .common_name("hsm leaf")
                    .unwrap()
                    .build(),
                spki_der: leaf_key.public_key_der().to_vec(),
                alt_names: vec![],
                validity_days: 10,
            },
            "test",
            "token test",
        )
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("root.pem"),
        openssl::pem("CERTIFICATE", &trust.ca_certificate("hsm-root").unwrap()),
    )
    .unwrap();
    std::fs::write(
        d.join("ca.pem"),
        openssl::pem("CERTIFICATE", &trust.ca_certificate("hsm-ca").unwrap()),
    )
    .unwrap();
    std::fs::write(d.join("leaf.pem"), openssl::pem("CERTIFICATE", &leaf)).unwrap();
    let out = ossl(
        d,
        &[
            "verify",
            "-x509_strict",
            "-purpose",
            "sslclient",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "ca.pem",
            "leaf.pem",
        ],
    );
    assert!(out.contains("leaf.pem: OK"), "{out}");
    let ca = tamga_pki::ParsedCert::from_der(&trust.ca_certificate("hsm-ca").unwrap()).unwrap();
    let leaf_cert = tamga_pki::ParsedCert::from_der(&leaf).unwrap();
    let resp = trust
        .ocsp(
            "hsm-ca",
            &tamga_pki::ocsp::build_request(&ca, leaf_cert.serial(), Some(b"n")).unwrap(),
        )
        .await;
    let status = tamga_pki::ocsp::check_response(
        &resp,
        &leaf_cert,
        &ca,
        tamga_pki::builder::now(),
        tamga_pki::AlgorithmPolicy::Strict,
    )
    .unwrap();
    assert_eq!(status, tamga_pki::crl::CrlStatus::Good);
    trust
        .revoke(
            "hsm-ca",
            &serial,
            x509_cert::ext::pkix::CrlReason::Superseded,
            "test",
            "rekey",
        )
        .await
        .unwrap();
    let resp = trust
        .ocsp(
            "hsm-ca",
            &tamga_pki::ocsp::build_request(&ca, leaf_cert.serial(), None).unwrap(),
        )
        .await;
    assert!(matches!(
        tamga_pki::ocsp::check_response(
            &resp,
            &leaf_cert,
            &ca,
            tamga_pki::builder::now(),
            tamga_pki::AlgorithmPolicy::Strict
        )
        .unwrap(),
        tamga_pki::crl::CrlStatus::Revoked { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timestamps_over_http_verify_in_openssl() {
    let db = TestDatabase::sqlite();
    let node = start(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("root.pem"),
        openssl::pem(
            "CERTIFICATE",
            &node.trust.ca_certificate("test-root").unwrap(),
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("ca.pem"),
        openssl::pem(
            "CERTIFICATE",
            &node.trust.ca_certificate("test-ca").unwrap(),
        ),
    )
    .unwrap();
    std::fs::write(d.join("contract.txt"), "Худалдах, худалдан авах гэрээ").unwrap();
    ossl(
        d,
        &[
            "ts",
            "-query",
            "-data",
            "contract.txt",
            "-sha256",
            "-cert",
            "-out",
            "req.tsq",
        ],
    );
    let c = reqwest::Client::new();
    let resp = c
        .post(format!("{}/tsa", node.base))
        .header("content-type", "application/timestamp-query")
        .body(std::fs::read(d.join("req.tsq")).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.headers()["content-type"],
        "application/timestamp-reply"
    );
    std::fs::write(d.join("resp.tsr"), resp.bytes().await.unwrap()).unwrap();
    let out = ossl(
        d,
        &[
            "ts",
            "-verify",
            "-in",
            "resp.tsr",
            "-queryfile",
            "req.tsq",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "ca.pem",
        ],
    );
    assert!(out.contains("Verification: OK"), "{out}");
    // A restart finds the same TSA again.
    assert!(node.trust.has_tsa());
    let garbage = c
        .post(format!("{}/tsa", node.base))
        .body("nonsense")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    std::fs::write(d.join("bad.tsr"), garbage).unwrap();
    let (_, text) = openssl::run(d, &["ts", "-reply", "-in", "bad.tsr", "-text"]);
    assert!(text.contains("Status: Rejected"), "{text}");
    node.handle.trigger();
}
