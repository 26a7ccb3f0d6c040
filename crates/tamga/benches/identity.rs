//! The identity provider under load, on one core: the demo node is pinned to CPU 0
//! (`taskset -c 0`), this load generator runs beside it. Two workloads:
//!
//! - **Certificate sign-ins**, the whole flow a relying party and a browser go through:
//!   `GET /id/authorize` (PKCE S256) → sign-in page → a new TLS 1.3 connection to the
//!   certificate listener presenting the citizen's ID-card certificate (RFC 5280 path
//!   validation and an OCSP request to the node's responder on every sign-in: the demo does
//!   not cache OCSP answers) → `login/complete` (session) → code → `POST /id/token`
//!   (`client_secret_basic`, PKCE check, grant stored durably, ES256 access and ID tokens).
//! - **Refresh requests**: each worker rotates its own refresh token (`client_secret_basic`,
//!   one conditional UPDATE committed with `synchronous=FULL`, two ES256 signatures).
//!
//! `cargo bench -p tamga --bench identity`; `TAMGA_BENCH_SECONDS` (default 10) and
//! `TAMGA_BENCH_WORKERS` (default 16) tune it. Results go to BENCHMARKS.md by hand.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_pinned_demo(dir: &Path) -> (Proc, Value) {
    let data = dir.join("demo");
    let child = Command::new("taskset")
        .args(["-c", "0", env!("CARGO_BIN_EXE_tamga")])
        .args(["demo", "--data", data.to_str().unwrap(), "--port", "0"])
        .env("TAMGA_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("taskset");
    let child = Proc(child);
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        if let Ok(t) = std::fs::read_to_string(data.join("demo.json"))
            && let Ok(v) = serde_json::from_str::<Value>(&t)
        {
            return (child, v);
        }
        assert!(Instant::now() < deadline, "demo.json never appeared");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn pct(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn b64(d: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(d)
}

struct Ctx {
    http: reqwest::Client,
    tls: tokio_rustls::TlsConnector,
    issuer: String,
    cert_host: String,
    client_id: String,
    secret: String,
    callback: String,
}

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn cookie(r: &reqwest::Response) -> String {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").to_owned())
        .collect::<Vec<_>>()
        .join("; ")
}

/// One GET over a fresh mutual-TLS connection; returns the Location header.
async fn certificate_get(ctx: &Ctx, path: &str) -> Result<String, String> {
    let tcp = tokio::net::TcpStream::connect(&ctx.cert_host)
        .await
        .map_err(|e| e.to_string())?;
    let _ = tcp.set_nodelay(true);
    let name = ServerName::try_from("127.0.0.1").map_err(|e| e.to_string())?;
    let mut tls = ctx
        .tls
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    tls.write_all(
        format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            ctx.cert_host
        )
        .as_bytes(),
    )
    .await
    .map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    let _ = tls.read_to_end(&mut buf).await;
    let text = String::from_utf8_lossy(&buf);
    if !text.starts_with("HTTP/1.1 303") {
        return Err(text.lines().next().unwrap_or("no answer").to_owned());
    }
    text.lines()
        .find_map(|l| {
            l.strip_prefix("location: ")
                .or_else(|| l.strip_prefix("Location: "))
        })
        .map(str::to_owned)
        .ok_or_else(|| "no location".into())
}

/// The whole certificate sign-in; returns the refresh token.
async fn sign_in(ctx: &Ctx) -> Result<String, String> {
    let e = |e: reqwest::Error| e.to_string();
    let verifier = b64(&rand_bytes());
    let challenge =
        b64(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes()).as_ref());
    let r = ctx
        .http
        .get(format!(
            "{}/authorize?client_id={}&response_type=code&scope=openid&state=s&nonce=n\
             &redirect_uri={}&code_challenge={challenge}&code_challenge_method=S256\
             &acr_values={}",
            ctx.issuer,
            ctx.client_id,
            pct(&ctx.callback),
            pct("http://eidas.europa.eu/LoA/high")
        ))
        .send()
        .await
        .map_err(e)?;
    let tx_cookie = cookie(&r);
    let login = location(&r);
    let tx = url::Url::parse(&login)
        .map_err(|e| e.to_string())?
        .query_pairs()
        .find(|(k, _)| k == "tx")
        .map(|(_, v)| v.into_owned())
        .ok_or("no tx")?;
    let page = ctx
        .http
        .get(&login)
        .header("cookie", &tx_cookie)
        .send()
        .await
        .map_err(e)?;
    if page.status() != 200 {
        return Err(format!("login page {}", page.status()));
    }
    let _ = page.bytes().await;
    let next = certificate_get(ctx, &format!("/id/certificate?tx={}", pct(&tx))).await?;
    let r = ctx
        .http
        .get(&next)
        .header("cookie", &tx_cookie)
        .send()
        .await
        .map_err(e)?;
    let cb = location(&r);
    let code = url::Url::parse(&cb)
        .map_err(|e| format!("{e}: {cb}"))?
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| format!("no code in {cb}"))?;
    let t: Value = ctx
        .http
        .post(format!("{}/token", ctx.issuer))
        .basic_auth(&ctx.client_id, Some(&ctx.secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={verifier}",
            pct(&code),
            pct(&ctx.callback)
        ))
        .send()
        .await
        .map_err(e)?
        .json()
        .await
        .map_err(e)?;
    if t["id_token"].as_str().is_none() {
        return Err(format!("token: {t}"));
    }
    t["refresh_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| "no refresh token".into())
}

/// A credential authorization for `hashes` (PAR, ID-card sign-in, the confirmation page
/// accepted, code, token); returns the SAD.
async fn authorize_credential(
    ctx: &Ctx,
    credential_id: &str,
    hashes: &[[u8; 32]],
) -> Result<String, String> {
    let e = |e: reqwest::Error| e.to_string();
    let verifier = b64(&rand_bytes());
    let challenge =
        b64(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes()).as_ref());
    let list: Vec<String> = hashes.iter().map(|h| b64(h)).collect();
    let par: Value = ctx
        .http
        .post(format!("{}/par", ctx.issuer))
        .basic_auth(&ctx.client_id, Some(&ctx.secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "client_id={}&response_type=code&scope=openid%20credential&state=s&redirect_uri={}\
             &code_challenge={challenge}&code_challenge_method=S256&credentialID={}\
             &numSignatures={}&hashes={}&hashAlgorithmOID=2.16.840.1.101.3.4.2.1\
             &description=benchmark",
            ctx.client_id,
            pct(&ctx.callback),
            pct(credential_id),
            hashes.len(),
            list.join(","),
        ))
        .send()
        .await
        .map_err(e)?
        .json()
        .await
        .map_err(e)?;
    let uri = par["request_uri"].as_str().ok_or(format!("PAR: {par}"))?;
    let r = ctx
        .http
        .get(format!(
            "{}/authorize?client_id={}&request_uri={}",
            ctx.issuer,
            ctx.client_id,
            pct(uri)
        ))
        .send()
        .await
        .map_err(e)?;
    let tx_cookie = cookie(&r);
    let login = location(&r);
    let tx = url::Url::parse(&login)
        .map_err(|e| e.to_string())?
        .query_pairs()
        .find(|(k, _)| k == "tx")
        .map(|(_, v)| v.into_owned())
        .ok_or("no tx")?;
    let next = certificate_get(ctx, &format!("/id/certificate?tx={}", pct(&tx))).await?;
    let r = ctx
        .http
        .get(&next)
        .header("cookie", &tx_cookie)
        .send()
        .await
        .map_err(e)?;
    let cookies = format!("{tx_cookie}; {}", cookie(&r));
    if !location(&r).contains("/consent") {
        return Err(format!(
            "expected the confirmation page, got {}",
            location(&r)
        ));
    }
    let r = ctx
        .http
        .post(format!("{}/consent", ctx.issuer))
        .header("cookie", &cookies)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("tx={}&decision=allow", pct(&tx)))
        .send()
        .await
        .map_err(e)?;
    let cb = location(&r);
    let code = url::Url::parse(&cb)
        .map_err(|e| format!("{e}: {cb}"))?
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| format!("no code in {cb}"))?;
    let t: Value = ctx
        .http
        .post(format!("{}/token", ctx.issuer))
        .basic_auth(&ctx.client_id, Some(&ctx.secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={verifier}",
            pct(&code),
            pct(&ctx.callback)
        ))
        .send()
        .await
        .map_err(e)?
        .json()
        .await
        .map_err(e)?;
    t["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("token: {t}"))
}

async fn sign_hashes(
    ctx: &Ctx,
    base: &str,
    credential_id: &str,
    sad: &str,
    hashes: &[[u8; 32]],
) -> Result<usize, String> {
    use base64::Engine;
    let list: Vec<String> = hashes
        .iter()
        .map(|h| base64::engine::general_purpose::STANDARD.encode(h))
        .collect();
    let body = serde_json::json!({
        "credentialID": credential_id, "SAD": sad, "hashes": list,
        "hashAlgorithmOID": "2.16.840.1.101.3.4.2.1", "signAlgo": "1.2.840.10045.4.3.2",
    });
    let r: Value = ctx
        .http
        .post(format!("{base}/csc/v2/signatures/signHash"))
        .json(&body)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let n = r["signatures"].as_array().map_or(0, Vec::len);
    if n != hashes.len() {
        return Err(format!("signHash: {r}"));
    }
    Ok(n)
}

async fn refresh(ctx: &Ctx, token: &str) -> Result<String, String> {
    let r = ctx
        .http
        .post(format!("{}/token", ctx.issuer))
        .basic_auth(&ctx.client_id, Some(&ctx.secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("grant_type=refresh_token&refresh_token={token}"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let t: Value = r.json().await.map_err(|e| e.to_string())?;
    t["refresh_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("refresh: {t}"))
}

fn rand_bytes() -> [u8; 32] {
    let mut b = [0u8; 32];
    aws_lc_rs::rand::fill(&mut b).unwrap();
    b
}

struct Stats {
    ok: u64,
    failed: u64,
    secs: f64,
    p50: f64,
    p99: f64,
    first_error: Option<String>,
}

async fn run<F, Fut>(workers: usize, secs: u64, f: F) -> Stats
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send,
{
    let f = Arc::new(f);
    let failed = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(std::sync::Mutex::new(None));
    let start = Instant::now();
    let end = start + Duration::from_secs(secs);
    let mut handles = Vec::new();
    for w in 0..workers {
        let f = Arc::clone(&f);
        let failed = Arc::clone(&failed);
        let first_error = Arc::clone(&first_error);
        handles.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while Instant::now() < end {
                let t = Instant::now();
                match f(w).await {
                    Ok(()) => lat.push(t.elapsed().as_secs_f64() * 1000.0),
                    Err(e) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                        first_error.lock().unwrap().get_or_insert(e);
                    }
                }
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    let secs = start.elapsed().as_secs_f64();
    all.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let q = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or(f64::NAN)
    };
    Stats {
        ok: all.len() as u64,
        failed: failed.load(Ordering::Relaxed),
        secs,
        p50: q(0.5),
        p99: q(0.99),
        first_error: first_error.lock().unwrap().take(),
    }
}

fn report(name: &str, workers: usize, s: &Stats, keycloak_per_vcpu: f64) {
    let rate = s.ok as f64 / s.secs;
    println!(
        "| {name} | {workers} | {rate:.0} | {:.1} ms | {:.1} ms | {} | {:.1}× |",
        s.p50,
        s.p99,
        s.failed,
        rate / keycloak_per_vcpu
    );
    if let Some(e) = &s.first_error {
        println!("  first error: {e}");
    }
}

fn main() {
    let secs: u64 = std::env::var("TAMGA_BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let workers: usize = std::env::var("TAMGA_BENCH_WORKERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16);
    let dir = tempfile::tempdir().unwrap();
    let (_demo, manifest) = start_pinned_demo(dir.path());
    let demo = dir.path().join("demo");
    let ident = &manifest["identity"];
    let citizen = &ident["citizens"][0];
    let p12 = std::fs::read(demo.join(citizen["id_card"]["pkcs12"].as_str().unwrap())).unwrap();
    let contents = tamga_keys::read_pkcs12(
        &p12,
        citizen["id_card"]["pkcs12_password"].as_str().unwrap(),
    )
    .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    let roots_pem = std::fs::read(demo.join(ident["tls_roots"].as_str().unwrap())).unwrap();
    for c in tamga_pki::ParsedCert::all_from_pem_or_der(&roots_pem).unwrap() {
        roots.add(CertificateDer::from(c.der.clone())).unwrap();
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13])
    .unwrap()
    .with_root_certificates(roots)
    .with_client_auth_cert(
        contents
            .certificates
            .iter()
            .map(|c| CertificateDer::from(c.clone()))
            .collect(),
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(contents.key_pkcs8.to_vec())),
    )
    .unwrap();
    let rp = &ident["clients"][0];
    let ctx = Arc::new(Ctx {
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(workers)
            .build()
            .unwrap(),
        tls: tokio_rustls::TlsConnector::from(Arc::new(tls)),
        issuer: ident["issuer"].as_str().unwrap().to_owned(),
        cert_host: ident["certificate_login_url"]
            .as_str()
            .unwrap()
            .trim_start_matches("https://")
            .to_owned(),
        client_id: rp["client_id"].as_str().unwrap().to_owned(),
        secret: rp["client_secret"].as_str().unwrap().to_owned(),
        callback: rp["redirect_uris"][0].as_str().unwrap().to_owned(),
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    println!("node pinned to CPU 0 (taskset); {secs} s per run");
    println!(
        "| workload | workers | per second (1 core) | p50 | p99 | failed | × Keycloak per vCPU |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    rt.block_on(async {
        // Warm-up: one sign-in, which also checks the flow works.
        sign_in(&ctx).await.expect("certificate sign-in");
        let c = Arc::clone(&ctx);
        let s = run(workers, secs, move |_| {
            let c = Arc::clone(&c);
            async move { sign_in(&c).await.map(|_| ()) }
        })
        .await;
        // Keycloak's sizing guide: 15 password logins/s per vCPU (no certificate figure).
        report("certificate sign-in, whole flow", workers, &s, 15.0);
        let mut tokens = Vec::new();
        for _ in 0..workers {
            tokens.push(tokio::sync::Mutex::new(sign_in(&ctx).await.expect("grant")));
        }
        let tokens = Arc::new(tokens);
        let c = Arc::clone(&ctx);
        let s = run(workers, secs, move |w| {
            let c = Arc::clone(&c);
            let tokens = Arc::clone(&tokens);
            async move {
                let mut t = tokens[w].lock().await;
                *t = refresh(&c, &t).await?;
                Ok(())
            }
        })
        .await;
        // Keycloak's sizing guide: 120 refresh-token requests/s per vCPU.
        report("refresh (rotation)", workers, &s, 120.0);

        // Remote signing: SADs prepared first (each a whole authorization with the citizen's
        // confirmation), then signHash calls of 100 hashes each, 4 at a time, keys on SoftHSM2.
        let credential = citizen["remote_signing_credential"]
            .as_str()
            .unwrap()
            .to_owned();
        let base = ctx.issuer.trim_end_matches("/id").to_owned();
        let batches = 40usize;
        let per = 100usize;
        let mut prepared = Vec::new();
        for _ in 0..batches {
            let hashes: Vec<[u8; 32]> = (0..per).map(|_| rand_bytes()).collect();
            let sad = authorize_credential(&ctx, &credential, &hashes)
                .await
                .expect("credential authorization");
            prepared.push((sad, hashes));
        }
        let prepared = Arc::new(tokio::sync::Mutex::new(prepared));
        let start = Instant::now();
        let mut handles = Vec::new();
        for _ in 0..4 {
            let (c, p, cred, base) = (
                Arc::clone(&ctx),
                Arc::clone(&prepared),
                credential.clone(),
                base.clone(),
            );
            handles.push(tokio::spawn(async move {
                let mut n = 0;
                loop {
                    let Some((sad, hashes)) = p.lock().await.pop() else {
                        break;
                    };
                    n += sign_hashes(&c, &base, &cred, &sad, &hashes)
                        .await
                        .expect("signHash");
                }
                n
            }));
        }
        let mut total = 0;
        for h in handles {
            total += h.await.unwrap();
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "| remote signHash (SoftHSM2, ECDSA P-256) | 4 | {:.0} signatures/s | — | — | 0 | — |",
            total as f64 / secs
        );
    });
}
