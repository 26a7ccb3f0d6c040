//! The identity role end to end, against the demo node: Authlib (PyPI) and openid-client
//! (npm) as relying parties
//! through whole sign-ins (PAR, PKCE, password + TOTP, ID card over mutual TLS, refresh
//! rotation and reuse, revocation, logout), and the refusals a provider owes its clients and
//! citizens — unregistered redirect URIs, missing PKCE, wrong client secrets, brute force,
//! a revoked ID card — each with its precise answer; passkeys in Chromium (Playwright);
//! remote signing through the CSC API with pyHanko.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

mod support;
use support::exchange::{pct, start_demo};

fn python() -> Option<String> {
    match std::env::var("TAMGA_PYTHON") {
        Ok(p) if !p.is_empty() => Some(p),
        _ => {
            eprintln!(
                "skipping the Authlib peer: set TAMGA_PYTHON to a Python with authlib, requests \
                 and cryptography (.ci/run does)"
            );
            None
        }
    }
}

fn peer(python: &str, demo: &Path, extra: &[&str]) -> (bool, String, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/oidc_authlib.py");
    let out = Command::new(python)
        .arg(script)
        .arg(demo)
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn query_of(location: &str) -> Vec<(String, String)> {
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn param<'a>(q: &'a [(String, String)], k: &str) -> Option<&'a str> {
    q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_provider_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let (_demo, manifest) = start_demo(dir.path(), "600");
    let demo_dir = dir.path().join("demo");
    let ident = &manifest["identity"];
    let issuer = ident["issuer"].as_str().unwrap().to_owned();
    let base = manifest["base_url"].as_str().unwrap().to_owned();
    let http = no_redirects();

    // Discovery and keys.
    let meta: Value = http
        .get(ident["discovery"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(meta["issuer"], issuer);
    assert_eq!(meta["authorization_response_iss_parameter_supported"], true);
    let jwks: Value = http
        .get(format!("{issuer}/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kids: Vec<String> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    assert!(kids.len() >= 2, "current and next keys are published");
    let openapi: Value = http
        .get(format!("{base}/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(openapi["paths"]["/id/token"]["post"].is_object());

    // The relying party's library, the whole journey.
    if let Some(py) = python() {
        let (ok, out, err) = peer(&py, &demo_dir, &[]);
        assert!(ok, "authlib peer failed:\n{out}\n{err}");
        let facts: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
        assert_eq!(facts["certificate_acr"], "http://eidas.europa.eu/LoA/high");
        assert_eq!(facts["userinfo_name"], "Дорж Батбаяр");
    }

    // openid-client (npm): PAR, PKCE, code flow, ID token, userinfo, refresh, revocation, logout.
    match std::env::var("TAMGA_OPENID_CLIENT") {
        Ok(oc) if !oc.is_empty() => {
            let script =
                Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/oidc_openid_client.mjs");
            let out = Command::new("node")
                .arg(script)
                .arg(&demo_dir)
                .env("OPENID_CLIENT", &oc)
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "openid-client peer failed:\n{stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let facts: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
            assert_eq!(facts["logout"], true);
        }
        _ => eprintln!(
            "skipping the openid-client peer: set TAMGA_OPENID_CLIENT to an openid-client \
             package directory (.ci/run does)"
        ),
    }

    // Passkeys in Debian Chromium (Playwright, CDP virtual authenticator): registered after
    // an ID-card sign-in, then used for a substantial sign-in; high still needs the card.
    match std::env::var("TAMGA_PLAYWRIGHT_CORE") {
        Ok(pw) if !pw.is_empty() => {
            let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("identity-screenshots");
            let script =
                Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/passkey_playwright.mjs");
            let out = Command::new("node")
                .arg(script)
                .arg(&demo_dir)
                .arg(&shots)
                .env("PLAYWRIGHT_CORE", &pw)
                .env(
                    "AXE_PLAYWRIGHT",
                    std::env::var("TAMGA_AXE_PLAYWRIGHT").unwrap_or_default(),
                )
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "Playwright passkey peer failed:\n{stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let facts: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
            assert_eq!(
                facts["passkey_acr"],
                "http://eidas.europa.eu/LoA/substantial"
            );
            if std::env::var("TAMGA_AXE_PLAYWRIGHT").is_ok_and(|v| !v.is_empty()) {
                // axe-core (WCAG 2.2 A/AA rules) on every page of the journey, both languages.
                assert!(facts["axe_pages"].as_u64().unwrap() >= 12);
                assert_eq!(facts["axe_violations"], serde_json::json!([]));
            }
            assert!(shots.join("02-passkey-added.png").is_file());
        }
        _ => eprintln!(
            "skipping the passkey browser test: set TAMGA_PLAYWRIGHT_CORE to a playwright-core \
             directory and install chromium (.ci/run does)"
        ),
    }

    // Remote signing: pyHanko's CSC signer signs a PDF through the CSC API (keys on the
    // SoftHSM2 token, each batch confirmed by the citizen), and Tamga validates the result.
    if let Some(py) = python() {
        assert!(
            ident["remote_signing"]["keys"]
                .as_str()
                .unwrap()
                .starts_with("pkcs11"),
            "remote-signing keys on the SoftHSM2 token"
        );
        let signed = std::fs::read(demo_dir.join("documents/sale-contract.signed.pdf")).unwrap();
        let end = signed.windows(5).position(|w| w == b"%%EOF").unwrap() + 6;
        let input = dir.path().join("unsigned.pdf");
        std::fs::write(&input, &signed[..end]).unwrap();
        let output = dir.path().join("remote-signed.pdf");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/csc_pyhanko.py");
        let out = Command::new(&py)
            .arg(script)
            .arg(&demo_dir)
            .arg(&input)
            .arg(&output)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pyHanko CSC peer failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let verify = Command::new(env!("CARGO_BIN_EXE_tamga"))
            .arg("verify")
            .arg(&output)
            .arg("--trust")
            .arg(demo_dir.join("documents/trust-anchors.pem"))
            .arg("--json")
            .output()
            .unwrap();
        let report = String::from_utf8_lossy(&verify.stdout);
        assert_eq!(
            verify.status.code(),
            Some(0),
            "Tamga validates the remotely signed PDF: {report}\n{}",
            String::from_utf8_lossy(&verify.stderr)
        );
        assert!(report.contains("Алтанцэцэг"), "signed by the citizen");
    }

    let rp = &ident["clients"][0];
    let client_id = rp["client_id"].as_str().unwrap();
    let secret = rp["client_secret"].as_str().unwrap();
    let callback = rp["redirect_uris"][0].as_str().unwrap();
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"; // RFC 7636 Appendix B
    let authorize = |extra: &str, redirect: &str| {
        format!(
            "{issuer}/authorize?client_id={client_id}&response_type=code&scope=openid&state=st\
             &redirect_uri={}{extra}",
            pct(redirect)
        )
    };

    // An unregistered redirect URI is never redirected to.
    let r = http
        .get(authorize(
            &format!("&code_challenge={challenge}&code_challenge_method=S256"),
            "https://evil.example/cb",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("location").is_none());
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("redirect_uri is not registered")
    );

    // PKCE is mandatory, and only S256.
    for extra in [
        String::new(),
        format!("&code_challenge={challenge}&code_challenge_method=plain"),
    ] {
        let r = http.get(authorize(&extra, callback)).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let q = query_of(r.headers()["location"].to_str().unwrap());
        assert_eq!(param(&q, "error"), Some("invalid_request"));
        assert_eq!(param(&q, "iss"), Some(issuer.as_str()), "RFC 9207");
        assert_eq!(param(&q, "state"), Some("st"));
    }
    // Unknown client.
    let r = http
        .get(format!(
            "{issuer}/authorize?client_id=nobody&response_type=code"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // Wrong client secret: 401 invalid_client with a Basic challenge.
    let r = http
        .post(format!("{issuer}/token"))
        .basic_auth(client_id, Some("wrong"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=refresh_token&refresh_token=x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key("www-authenticate"));
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"], "invalid_client");
    // A forged refresh token from a genuine client: invalid_grant.
    let r = http
        .post(format!("{issuer}/token"))
        .basic_auth(client_id, Some(secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=refresh_token&refresh_token={}.1.{}",
            "A".repeat(22),
            "B".repeat(43)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_grant");

    // Brute force: after the free attempts the right password is refused too, with the same
    // answer an unknown registration number gets.
    let citizen = &ident["citizens"][2];
    let attempt = |reg: String, password: String, otp: String| {
        let http = http.clone();
        let url = authorize(
            &format!("&code_challenge={challenge}&code_challenge_method=S256"),
            callback,
        );
        let issuer = issuer.clone();
        async move {
            let r = http.get(url).send().await.unwrap();
            let cookie = r.headers()["set-cookie"]
                .to_str()
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .to_owned();
            let loc = r.headers()["location"].to_str().unwrap().to_owned();
            let tx = param(&query_of(&loc), "tx").unwrap().to_owned();
            let r = http
                .post(format!("{issuer}/login/password"))
                .header("cookie", cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!(
                    "tx={}&registration_number={}&password={}&otp={otp}",
                    pct(&tx),
                    pct(&reg),
                    pct(&password)
                ))
                .send()
                .await
                .unwrap();
            (
                r.status().as_u16(),
                r.headers()
                    .get("location")
                    .map(|l| l.to_str().unwrap().to_owned())
                    .unwrap_or_default(),
            )
        }
    };
    let reg = citizen["registration_number"].as_str().unwrap().to_owned();
    let unknown = attempt("ЮЯ00159990".into(), "whatever".into(), "123456".into()).await;
    assert_eq!(unknown.0, 303);
    assert!(unknown.1.contains("error=credentials"));
    for _ in 0..5 {
        let r = attempt(reg.clone(), "wrong password".into(), "123456".into()).await;
        assert!(r.1.contains("error=credentials"));
    }
    let ok_password = citizen["password"].as_str().unwrap().to_owned();
    let code = tamga_id::credentials::totp_now(
        citizen["totp_secret_base32"].as_str().unwrap(),
        tamga_store::now_ms() / 1000,
    )
    .unwrap();
    let locked = attempt(reg.clone(), ok_password, code).await;
    assert_eq!(
        (locked.0, locked.1.contains("error=credentials")),
        (unknown.0, true),
        "locked account answers exactly like an unknown one"
    );

    // Key rotation: the new current key signs, the old one stays published.
    let token = std::fs::read_to_string(demo_dir.join("secrets/id-admin-token")).unwrap();
    let r = http
        .post(format!("{issuer}/admin/rotate-keys"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "admin API needs its token");
    let r: Value = http
        .post(format!("{issuer}/admin/rotate-keys"))
        .bearer_auth(token.trim())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new_kid = r["kid"].as_str().unwrap().to_owned();
    assert_eq!(new_kid, kids[1], "the published next key became current");
    let after: Value = http
        .get(format!("{issuer}/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let after: Vec<&str> = after["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert!(
        after.contains(&kids[0].as_str()),
        "previous key still published"
    );
    assert!(after.contains(&new_kid.as_str()));

    // A revoked ID card is refused at sign-in, with the reason.
    if let Some(py) = python() {
        let country: Value = serde_json::from_str(
            &std::fs::read_to_string(demo_dir.join("demo-country-v2.json")).unwrap(),
        )
        .unwrap();
        let card = &country["citizens"][2];
        let serial = card["files"]["auth"]["serial"].as_str().unwrap();
        let ca = card["ca"].as_str().unwrap();
        let admin = std::fs::read_to_string(demo_dir.join("secrets/admin-token")).unwrap();
        let r = http
            .post(format!(
                "{base}/pki/admin/{ca}/certificates/{serial}/revoke"
            ))
            .bearer_auth(admin.trim())
            .json(&serde_json::json!({"reason": "keyCompromise", "why": "identity test"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
        let (ok, out, err) = peer(&py, &demo_dir, &["refused-card", "2"]);
        assert!(ok, "refused-card peer failed:\n{out}\n{err}");
        assert!(out.contains("revoked"), "the page says why: {out}");
    }
}
