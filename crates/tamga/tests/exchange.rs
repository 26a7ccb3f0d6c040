//! The exchange end to end, as two organisations run it: a consumer gateway (the tax
//! administration) and a provider gateway (the civil registry) as separate `tamga serve`
//! processes, over real TCP and mutual TLS, with the demo node as registry, PKI (OCSP), TSA and
//! ledger; a backend; an X-Road-style client; an independent Python peer that relays, records,
//! verifies, replays and tampers with gateway-to-gateway requests; and the failure cases:
//! provider down or slow, expired configuration, revoked or unknown certificate, tampered body
//! or header, replay, expired signature, missing right, missing purpose, oversized body,
//! message log unable to reach its TSA; and each gateway killed (SIGKILL) under load, after
//! which every exchange its client saw answered is in its message log.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod support;
use support::exchange::*;

/// (status, X-Road-Error, headers, body)
async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    headers: &[(&str, String)],
    body: Option<Vec<u8>>,
) -> (u16, String, reqwest::header::HeaderMap, Vec<u8>) {
    let mut r = http.request(method, url);
    for (k, v) in headers {
        r = r.header(*k, v);
    }
    if let Some(b) = body {
        r = r.header("content-type", "application/json").body(b);
    }
    let resp = r.send().await.unwrap();
    let status = resp.status().as_u16();
    let err = resp
        .headers()
        .get("x-road-error")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let h = resp.headers().clone();
    (status, err, h, resp.bytes().await.unwrap().to_vec())
}

fn p12_to_pem(p12: &Path, out_dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let cert = out_dir.join(format!("{name}.crt.pem"));
    let key = out_dir.join(format!("{name}.key.pem"));
    for (args, out) in [
        (vec!["-clcerts", "-nokeys"], &cert),
        (vec!["-nocerts", "-nodes"], &key),
    ] {
        let ok = Command::new("openssl")
            .arg("pkcs12")
            .args([
                "-in",
                p12.to_str().unwrap(),
                "-passin",
                &format!("pass:{PIN}"),
            ])
            .args(args)
            .args(["-out", out.to_str().unwrap()])
            .status()
            .unwrap();
        assert!(ok.success(), "openssl pkcs12 {}", p12.display());
    }
    (cert, key)
}

fn python() -> Option<String> {
    std::env::var("TAMGA_PYTHON").ok().or_else(|| {
        // A python with pyca/cryptography, e.g. the CI venv.
        let ok = Command::new("python3")
            .args(["-c", "import cryptography"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| "python3".to_owned())
    })
}

fn peer(py: &str, args: &[&str]) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/exchange_peer.py");
    let out = Command::new(py).arg(&script).args(args).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.trim()).unwrap_or_else(|_| {
        panic!(
            "peer {args:?} printed {text:?}, stderr {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_gateways_exchange_signed_logged_and_refuse_what_they_must() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (_demo_proc, manifest) = start_demo(root, "20");
    let demo = root.join("demo");
    let base = manifest["base_url"].as_str().unwrap().to_owned();
    let registry_token = std::fs::read_to_string(demo.join("secrets/registry-token")).unwrap();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let citizen = manifest["trust_services"]["citizens"][0]["registration_number"]
        .as_str()
        .unwrap()
        .to_owned();

    // The demo's own calls at start: the citizen's data tracker (findUsage through the portal
    // operator's gateway) lists the tax administration's reading, not the court's, whose
    // disclosure is delayed by 90 days.
    {
        let khur = manifest["exchange"]["gateways"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["member"] == "MN/GOV/9000003")
            .unwrap()["consumer"]
            .as_str()
            .unwrap()
            .to_owned();
        // The demo's gateways load the registry's configuration on their own schedule; a call
        // in the moment before the newest configuration arrives is answered UnknownService, so
        // retry that (and only that) for a while.
        let deadline = Instant::now() + Duration::from_secs(30);
        let (s, e, _, b) = loop {
            let r = call(
                &http,
                reqwest::Method::GET,
                &format!("{khur}/r1/MN/GOV/9000001/civil-registry/findUsage"),
                &[
                    ("X-Road-Client", "MN/GOV/9000003/citizen-portal".to_owned()),
                    ("X-Tamga-Data-Subject", pct(&citizen)),
                    ("X-Tamga-Purpose", "citizen%20view".to_owned()),
                    ("X-Tamga-Legal-Basis", "PDPL".to_owned()),
                ],
                None,
            )
            .await;
            if r.1 != "Server.ClientProxy.UnknownService" || Instant::now() > deadline {
                break r;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        };
        assert_eq!((s, e.as_str()), (200, ""));
        let usage: Value = serde_json::from_slice(&b).unwrap();
        let clients: Vec<&str> = usage
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|u| u["client"].as_str())
            .collect();
        assert!(clients.contains(&"MN/GOV/9000002/tax"), "{clients:?}");
        assert!(
            !clients.contains(&"MN/GOV/9000005/court-cases"),
            "a delayed access must stay hidden: {clients:?}"
        );
        // Each entry is the exact JSON committed: its SHA-256 is the commitment in the access log.
        for u in usage.as_array().unwrap() {
            let entry = u["entry"].as_str().unwrap();
            let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, entry.as_bytes());
            assert_eq!(
                hex::encode(digest.as_ref()),
                u["commitment"].as_str().unwrap()
            );
            assert!(serde_json::from_str::<Value>(entry).unwrap()["salt"].is_string());
        }
    }

    // A backend: quick, echoing, and slow.
    let backend = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let backend_addr = backend.local_addr().unwrap();
    let app = axum::Router::new()
        .route(
            "/ok/{x}",
            axum::routing::get(
                |axum::extract::Path(x): axum::extract::Path<String>| async move {
                    axum::Json(json!({ "ok": x, "name": "Батбаяр" }))
                },
            ),
        )
        .route(
            "/echo",
            axum::routing::post(|b: axum::body::Bytes| async move { b }),
        )
        .route(
            "/slow",
            axum::routing::get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        );
    tokio::spawn(async move { axum::serve(backend, app).await.unwrap() });

    // The configuration as gateways fetch it, through a relay the test can freeze.
    let frozen = Arc::new(AtomicBool::new(false));
    let conf = Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    let conf_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let conf_url = format!(
        "http://{}/exchange/globalconf",
        conf_listener.local_addr().unwrap()
    );
    {
        let fetched = Arc::clone(&conf);
        let frozen = Arc::clone(&frozen);
        let http = http.clone();
        let src = format!("{base}/exchange/globalconf");
        tokio::spawn(async move {
            loop {
                if !frozen.load(Ordering::SeqCst)
                    && let Ok(r) = http.get(&src).send().await
                    && let Ok(b) = r.bytes().await
                {
                    *fetched.lock().unwrap() = b.to_vec();
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
        let conf = Arc::clone(&conf);
        let app = axum::Router::new().route(
            "/exchange/globalconf",
            axum::routing::get(move || {
                let conf = Arc::clone(&conf);
                async move { conf.lock().unwrap().clone() }
            }),
        );
        tokio::spawn(async move { axum::serve(conf_listener, app).await.unwrap() });
    }

    let provider = Gw::new(root, "MN/GOV/9000001", "gasr");
    let consumer = Gw::new(root, "MN/GOV/9000002", "mta");
    let tsa = format!("{base}/tsa");
    let provider_cfg = provider.write_config(
        &demo,
        &base,
        &conf_url,
        &[
            (
                "civil-registry/WS100101_getCitizenIDCardInfo",
                format!("http://{backend_addr}/ok"),
            ),
            ("civil-registry/echo", format!("http://{backend_addr}/echo")),
            ("civil-registry/slow", format!("http://{backend_addr}/slow")),
        ],
        Tuning {
            tsa: &tsa,
            grace: 60,
            timeout: 2,
        },
    );
    let consumer_cfg = consumer.write_config(
        &demo,
        &base,
        &conf_url,
        &[],
        Tuning {
            tsa: &tsa,
            grace: 60,
            timeout: 6,
        },
    );
    admin(
        &http,
        &base,
        &registry_token,
        json!([
            { "command": "set-service", "id": "MN/GOV/9000001/civil-registry/echo", "version": "v1", "title_mn": "Цуурай", "title_en": "Echo", "personal": false },
            { "command": "set-service", "id": "MN/GOV/9000001/civil-registry/slow", "version": "v1", "title_mn": "Удаан", "title_en": "Slow", "personal": false },
            { "command": "grant", "service": "MN/GOV/9000001/civil-registry/echo", "client": "MN/GOV/9000002/tax" },
            { "command": "grant", "service": "MN/GOV/9000001/civil-registry/slow", "client": "MN/GOV/9000002/tax" },
            set_gateway(&demo, provider.member, provider.org, provider.listen),
            set_gateway(&demo, consumer.member, consumer.org, consumer.listen),
        ]),
    )
    .await;
    let mut provider_proc = provider.start(&provider_cfg);
    let mut consumer_proc = consumer.start(&consumer_cfg);
    wait_ready(&http, &provider, &mut provider_proc).await;
    wait_ready(&http, &consumer, &mut consumer_proc).await;

    let personal = |purpose: &str| -> Vec<(&'static str, String)> {
        vec![
            ("X-Road-Client", "MN/GOV/9000002/tax".to_owned()),
            ("X-Tamga-Data-Subject", pct(&citizen)),
            ("X-Tamga-Purpose", pct(purpose)),
            (
                "X-Tamga-Legal-Basis",
                pct("Татварын ерөнхий хууль / General Tax Law"),
            ),
            ("X-Road-UserId", "MN-officer-17".to_owned()),
        ]
    };
    let id_card = format!(
        "{}/r1/MN/GOV/9000001/civil-registry/WS100101_getCitizenIDCardInfo/{}",
        consumer.consumer(),
        pct(&citizen)
    );
    // 1. The happy path (retried while the new addresses reach both gateways).
    let deadline = Instant::now() + Duration::from_secs(30);
    let (status, err, headers, body) = loop {
        let r = call(
            &http,
            reqwest::Method::GET,
            &id_card,
            &personal("татварын тайлан / tax return"),
            None,
        )
        .await;
        if r.0 == 200 || Instant::now() > deadline {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(status, 200, "{err}: {}", String::from_utf8_lossy(&body));
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        v["ok"],
        citizen.as_str(),
        "the backend got the subject in its path"
    );
    let x_road_id = headers["x-road-id"].to_str().unwrap().to_owned();
    assert!(headers.contains_key("x-road-request-hash"));
    let echo_url = format!(
        "{}/r1/MN/GOV/9000001/civil-registry/echo",
        consumer.consumer()
    );
    let tax = vec![("X-Road-Client", "MN/GOV/9000002/tax".to_owned())];
    let (s, e, _, b) = call(
        &http,
        reqwest::Method::POST,
        &echo_url,
        &tax,
        Some(r#"{"message":"сайн байна уу"}"#.as_bytes().to_vec()),
    )
    .await;
    assert_eq!((s, e.as_str()), (200, ""));
    assert_eq!(b, r#"{"message":"сайн байна уу"}"#.as_bytes().to_vec());

    // 2. Refused at the consumer side, each with its X-Road-Error.
    let no_purpose: Vec<(&str, String)> = personal("x")
        .into_iter()
        .filter(|(k, _)| *k != "X-Tamga-Purpose")
        .collect();
    let (s, e, _, _) = call(&http, reqwest::Method::GET, &id_card, &no_purpose, None).await;
    assert_eq!((s, e.as_str()), (400, "Client.MissingPersonalDataHeaders"));
    let birth = format!(
        "{}/r1/MN/GOV/9000001/civil-registry/WS100102_getCitizenBirthInfo/{}",
        consumer.consumer(),
        pct(&citizen)
    );
    let (s, e, _, _) = call(&http, reqwest::Method::GET, &birth, &personal("x"), None).await;
    assert_eq!((s, e.as_str()), (403, "Client.AccessDenied"));
    let (s, e, _, _) = call(
        &http,
        reqwest::Method::GET,
        &format!(
            "{}/r1/MN/GOV/9000001/civil-registry/nothing",
            consumer.consumer()
        ),
        &tax,
        None,
    )
    .await;
    assert_eq!((s, e.as_str()), (404, "Server.ClientProxy.UnknownService"));
    let (s, e, _, _) = call(
        &http,
        reqwest::Method::GET,
        &echo_url,
        &[("X-Road-Client", "MN/GOV/9000001/civil-registry".to_owned())],
        None,
    )
    .await;
    assert_eq!((s, e.as_str()), (403, "Client.InvalidClientId"));
    let (s, e, _, _) = call(&http, reqwest::Method::GET, &echo_url, &[], None).await;
    assert_eq!((s, e.as_str()), (400, "Client.MissingHeader"));
    let big = vec![b'x'; 10 * 1024 * 1024 + 1];
    let (s, e, _, _) = call(&http, reqwest::Method::POST, &echo_url, &tax, Some(big)).await;
    assert_eq!((s, e.as_str()), (413, "Client.BodyTooLarge"));
    let delay = {
        let mut h = personal("x");
        h.push(("X-Tamga-Disclose-After", "2027-01-01".to_owned()));
        h
    };
    let (s, e, _, _) = call(&http, reqwest::Method::GET, &id_card, &delay, None).await;
    assert_eq!((s, e.as_str()), (403, "Client.DisclosureDelayNotAllowed"));
    // A slow backend: the provider's deadline, reported by name.
    let (s, e, _, _) = call(
        &http,
        reqwest::Method::GET,
        &format!(
            "{}/r1/MN/GOV/9000001/civil-registry/slow",
            consumer.consumer()
        ),
        &tax,
        None,
    )
    .await;
    assert_eq!((s, e.as_str()), (504, "Server.ServerProxy.ServiceTimeout"));
    // Metaservices from the signed configuration.
    let (s, _, _, b) = call(
        &http,
        reqwest::Method::GET,
        &format!(
            "{}/r1/MN/GOV/9000001/civil-registry/allowedMethods",
            consumer.consumer()
        ),
        &tax,
        None,
    )
    .await;
    assert_eq!(s, 200);
    let allowed: Value = serde_json::from_slice(&b).unwrap();
    let codes: Vec<&str> = allowed["service"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|x| x["service_code"].as_str())
        .collect();
    assert!(
        codes.contains(&"echo")
            && codes.contains(&"WS100101_getCitizenIDCardInfo")
            && !codes.contains(&"WS100102_getCitizenBirthInfo"),
        "{codes:?}"
    );
    let (s, _, _, b) = call(&http, reqwest::Method::GET, &format!("{}/r1/MN/GOV/9000001/civil-registry/getOpenAPI?serviceCode=WS100101_getCitizenIDCardInfo", consumer.consumer()), &tax, None).await;
    assert_eq!(s, 200);
    assert!(
        serde_json::from_slice::<Value>(&b).unwrap()["openapi"]
            .as_str()
            .unwrap()
            .starts_with('3')
    );

    // 3. Records: both sides, time-stamped, in the ledger, verified offline by the CLI.
    let ledger = &manifest["ledger"];
    let log_key = ledger["logs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "exchange")
        .unwrap()["vkey"]
        .as_str()
        .unwrap()
        .to_owned();
    let witnesses: Vec<String> = ledger["witnesses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["vkey"].as_str().unwrap().to_owned())
        .collect();
    for (gw, side) in [(&consumer, "consumer"), (&provider, "provider")] {
        let out = root.join(format!("record-{side}.json"));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let exported = Command::new(env!("CARGO_BIN_EXE_tamga"))
                .args([
                    "exchange",
                    "export",
                    "--url",
                    &gw.consumer(),
                    "--id",
                    &x_road_id,
                    "-o",
                    out.to_str().unwrap(),
                ])
                .output()
                .unwrap();
            if exported.status.success() {
                let mut args = vec![
                    "exchange".to_owned(),
                    "verify-record".into(),
                    out.to_str().unwrap().into(),
                    "--log-key".into(),
                    log_key.clone(),
                ];
                for w in &witnesses {
                    args.push("--witness".into());
                    args.push(w.clone());
                }
                let v = Command::new(env!("CARGO_BIN_EXE_tamga"))
                    .args(&args)
                    .output()
                    .unwrap();
                let text = String::from_utf8_lossy(&v.stdout).to_string();
                if v.status.success() {
                    assert!(
                        text.contains(&format!("{side} record of {x_road_id}")),
                        "{text}"
                    );
                    break;
                }
                // Witnesses may not have cosigned the newest checkpoint yet.
                assert!(
                    Instant::now() < deadline,
                    "verify-record kept failing: {text}"
                );
            } else {
                assert!(
                    Instant::now() < deadline,
                    "export kept failing: {}",
                    String::from_utf8_lossy(&exported.stderr)
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        // A changed record no longer verifies.
        let text = std::fs::read_to_string(&out)
            .unwrap()
            .replace("MN-officer-17", "MN-officer-18");
        std::fs::write(&out, text).unwrap();
        let v = Command::new(env!("CARGO_BIN_EXE_tamga"))
            .args([
                "exchange",
                "verify-record",
                out.to_str().unwrap(),
                "--log-key",
                &log_key,
            ])
            .output()
            .unwrap();
        assert_eq!(
            v.status.code(),
            Some(1),
            "{side}: a tampered record must fail"
        );
    }
    // The provider's tracker knows the access; the citizen's view lists it.
    let metrics = http
        .get(format!("http://127.0.0.1:{}/metrics", provider.node_port))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("tamga_exchange_requests_total")
            && metrics.contains("WS100101_getCitizenIDCardInfo"),
        "per-service metrics"
    );

    // 3b. Killed mid-load (SIGKILL), provider then consumer: every exchange a client saw
    //     answered is in the killed side's message log after the restart.
    for victim in ["provider", "consumer"] {
        let acked = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let mut load = vec![];
        for _ in 0..8 {
            let (http, url, tax, acked, stop) = (
                http.clone(),
                echo_url.clone(),
                tax.clone(),
                Arc::clone(&acked),
                Arc::clone(&stop),
            );
            load.push(tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let mut r = http.post(&url).body(r#"{"load":1}"#);
                    for (k, v) in &tax {
                        r = r.header(*k, v);
                    }
                    if let Ok(resp) = r.send().await
                        && resp.status() == 200
                        && let Some(id) = resp
                            .headers()
                            .get("x-road-id")
                            .and_then(|v| v.to_str().ok())
                    {
                        acked.lock().unwrap().push(id.to_owned());
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let (gw, cfg, running) = if victim == "provider" {
            (&provider, &provider_cfg, &mut provider_proc)
        } else {
            (&consumer, &consumer_cfg, &mut consumer_proc)
        };
        let _ = running.0.kill();
        let _ = running.0.wait();
        tokio::time::sleep(Duration::from_millis(300)).await;
        stop.store(true, Ordering::SeqCst);
        for l in load {
            l.await.unwrap();
        }
        *running = gw.start(cfg);
        wait_ready(&http, gw, running).await;
        let acked = acked.lock().unwrap().clone();
        assert!(
            acked.len() > 10,
            "{victim}: too little load to mean anything ({})",
            acked.len()
        );
        let db = gw.dir.join("data/tamga.db");
        let store = tamga_store::Store::open(
            &format!("sqlite://{}", db.display()),
            &tamga_store::StoreOptions::default(),
        )
        .await
        .unwrap();
        for id in &acked {
            let recs = store.exchange_records_by_id(gw.member, id).await.unwrap();
            assert!(
                recs.iter().any(|r| r.side == victim),
                "{victim} killed: acknowledged exchange {id} is not in its message log"
            );
        }
        store.close().await;
        eprintln!(
            "{victim} killed mid-load: all {} acknowledged exchanges are in its log",
            acked.len()
        );
    }

    // 4. A man in the middle with TLS keys but no signing key (independent Python peer).
    match python() {
        None => {
            eprintln!("skipped: Python peer (set TAMGA_PYTHON to a python with pyca/cryptography)")
        }
        Some(py) => {
            let keys = root.join("pem");
            std::fs::create_dir_all(&keys).unwrap();
            let (srv_cert, srv_key) = p12_to_pem(
                &demo.join("holders/gasr/tls-server.p12"),
                &keys,
                "gasr-server",
            );
            let (cli_cert, cli_key) = p12_to_pem(
                &demo.join("holders/mta/tls-client.p12"),
                &keys,
                "mta-client",
            );
            let (stranger_cert, stranger_key) =
                p12_to_pem(&demo.join("holders/batbayar/auth.p12"), &keys, "stranger");
            let relay_port = free_port();
            let capture = root.join("capture.jsonl");
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/exchange_peer.py");
            let mut relay = Proc(
                Command::new(&py)
                    .arg(&script)
                    .args([
                        "relay",
                        "--port",
                        &relay_port.to_string(),
                        "--cert",
                        srv_cert.to_str().unwrap(),
                        "--key",
                        srv_key.to_str().unwrap(),
                        "--upstream",
                        &format!("127.0.0.1:{}", provider.listen),
                        "--client-cert",
                        cli_cert.to_str().unwrap(),
                        "--client-key",
                        cli_key.to_str().unwrap(),
                        "--capture",
                        capture.to_str().unwrap(),
                    ])
                    .stdout(Stdio::piped())
                    .spawn()
                    .unwrap(),
            );
            let mut first = String::new();
            BufReader::new(relay.0.stdout.take().unwrap())
                .read_line(&mut first)
                .unwrap();
            assert!(first.contains("listening"), "{first}");
            admin(
                &http,
                &base,
                &registry_token,
                json!([set_gateway(
                    &demo,
                    provider.member,
                    provider.org,
                    relay_port
                )]),
            )
            .await;
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let (s, e, _, _) = call(
                    &http,
                    reqwest::Method::POST,
                    &echo_url,
                    &tax,
                    Some(br#"{"via":"relay"}"#.to_vec()),
                )
                .await;
                if s == 200 && std::fs::read_to_string(&capture).is_ok_and(|t| !t.is_empty()) {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "never went through the relay: {s} {e}"
                );
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            let seal = demo.join("holders/mta/seal.crt.pem");
            let v = peer(
                &py,
                &[
                    "verify",
                    "--capture",
                    capture.to_str().unwrap(),
                    "--cert",
                    seal.to_str().unwrap(),
                ],
            );
            assert_eq!(v["valid"], true, "independent verification: {v}");
            let covered: Vec<&str> = v["covered"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_str)
                .collect();
            for c in [
                "@method",
                "@target-uri",
                "content-digest",
                "x-road-client",
                "x-road-id",
            ] {
                assert!(covered.contains(&c), "{c} not covered: {covered:?}");
            }
            assert!(
                v["nonce"].as_str().is_some_and(|n| n.len() >= 16)
                    && v["created"].is_string()
                    && v["expires"].is_string()
            );
            let upstream = format!("127.0.0.1:{}", provider.listen);
            let send = |tamper: &str| {
                peer(
                    &py,
                    &[
                        "send",
                        "--capture",
                        capture.to_str().unwrap(),
                        "--upstream",
                        &upstream,
                        "--client-cert",
                        cli_cert.to_str().unwrap(),
                        "--client-key",
                        cli_key.to_str().unwrap(),
                        "--tamper",
                        tamper,
                    ],
                )
            };
            let r = send("none");
            assert_eq!(
                (r["status"].as_u64(), r["x_road_error"].as_str()),
                (Some(409), Some("Server.ServerProxy.ReplayedMessage")),
                "replay: {r}"
            );
            let r = send("body");
            assert_eq!(
                (r["status"].as_u64(), r["x_road_error"].as_str()),
                (Some(401), Some("Server.ServerProxy.InvalidSignature")),
                "tampered body: {r}"
            );
            let r = send("header");
            assert_eq!(
                (r["status"].as_u64(), r["x_road_error"].as_str()),
                (Some(401), Some("Server.ServerProxy.InvalidSignature")),
                "tampered header: {r}"
            );
            tokio::time::sleep(Duration::from_secs(8)).await;
            let r = send("none");
            assert_eq!(
                (r["status"].as_u64(), r["x_road_error"].as_str()),
                (Some(401), Some("Server.ServerProxy.ExpiredSignature")),
                "expired: {r}"
            );
            let known = peer(
                &py,
                &[
                    "hello",
                    "--upstream",
                    &upstream,
                    "--client-cert",
                    cli_cert.to_str().unwrap(),
                    "--client-key",
                    cli_key.to_str().unwrap(),
                ],
            );
            assert_eq!(known["handshake"], true, "{known}");
            let stranger = peer(
                &py,
                &[
                    "hello",
                    "--upstream",
                    &upstream,
                    "--client-cert",
                    stranger_cert.to_str().unwrap(),
                    "--client-key",
                    stranger_key.to_str().unwrap(),
                ],
            );
            assert_eq!(
                stranger["handshake"], false,
                "an unregistered client certificate must be refused: {stranger}"
            );
            admin(
                &http,
                &base,
                &registry_token,
                json!([set_gateway(
                    &demo,
                    provider.member,
                    provider.org,
                    provider.listen
                )]),
            )
            .await;
            drop(relay);
        }
    }

    // 5. The message log cannot reach its TSA: after the grace period, no more exchanges.
    drop(consumer_proc);
    let bad = consumer.write_config(
        &demo,
        &base,
        &conf_url,
        &[],
        Tuning {
            tsa: "http://127.0.0.1:9/tsa",
            grace: 2,
            timeout: 6,
        },
    );
    let mut bad_proc = consumer.start(&bad);
    wait_ready(&http, &consumer, &mut bad_proc).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (s, _, _, _) = call(
            &http,
            reqwest::Method::POST,
            &echo_url,
            &tax,
            Some(b"{}".to_vec()),
        )
        .await;
        if s == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "consumer never served after restart"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (s, e, _, _) = call(
        &http,
        reqwest::Method::POST,
        &echo_url,
        &tax,
        Some(b"{}".to_vec()),
    )
    .await;
    assert_eq!(
        (s, e.as_str()),
        (503, "Server.ClientProxy.MessageLogUnavailable")
    );
    let r = http.get(consumer.readyz()).send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.text().await.unwrap().contains("MessageLogUnavailable"));
    drop(bad_proc);
    let consumer_cfg = consumer.write_config(
        &demo,
        &base,
        &conf_url,
        &[],
        Tuning {
            tsa: &tsa,
            grace: 60,
            timeout: 6,
        },
    );
    let mut consumer_proc = consumer.start(&consumer_cfg);
    wait_ready(&http, &consumer, &mut consumer_proc).await;

    // 6. The consumer's signing certificate is revoked: the provider refuses it (OCSP).
    let serial = manifest["trust_services"]["organisations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == "mta")
        .unwrap()["files"]["seal"]["serial"]
        .as_str()
        .unwrap()
        .to_owned();
    let admin_token = std::fs::read_to_string(demo.join("secrets/admin-token")).unwrap();
    let r = http
        .post(format!(
            "{base}/pki/admin/mn-gov-ca/certificates/{serial}/revoke"
        ))
        .bearer_auth(admin_token.trim())
        .json(&json!({ "reason": "keyCompromise", "why": "exchange test" }))
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success(),
        "revoke: {}",
        r.text().await.unwrap()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (s, e, _, _) = call(
        &http,
        reqwest::Method::POST,
        &echo_url,
        &tax,
        Some(b"{}".to_vec()),
    )
    .await;
    assert_eq!(
        (s, e.as_str()),
        (403, "Server.ServerProxy.CertificateRevoked")
    );

    // 7. The provider's gateway is down.
    drop(provider_proc);
    let (s, e, _, _) = call(
        &http,
        reqwest::Method::POST,
        &echo_url,
        &tax,
        Some(b"{}".to_vec()),
    )
    .await;
    assert_eq!((s, e.as_str()), (502, "Server.ClientProxy.NetworkError"));

    // 8. The configuration stops being renewed: once it expires, the gateway refuses to serve.
    frozen.store(true, Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let (s, e, _, _) = call(
            &http,
            reqwest::Method::POST,
            &echo_url,
            &tax,
            Some(b"{}".to_vec()),
        )
        .await;
        if (s, e.as_str()) == (503, "Server.ClientProxy.OutdatedGlobalConf") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "an expired configuration was still used: {s} {e}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let r = http.get(consumer.readyz()).send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.text().await.unwrap().contains("OutdatedGlobalConf"));
    drop(consumer_proc);
}
