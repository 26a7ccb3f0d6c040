//! The portal against the demo node: a citizen signs in through the identity role (the portal
//! is an OIDC client) and sees who used their data — the exchange's tracker entries fetched
//! over the exchange from each organisation holding personal data —, filtered by organisation;
//! another citizen sees none of them; a forged callback is refused.

use std::path::Path;
use std::process::Command;

mod support;
use support::exchange::{start_demo, start_demo_with};

#[test]
fn who_used_my_data_through_the_portal() {
    let Some(py) = std::env::var("TAMGA_PYTHON").ok().filter(|p| !p.is_empty()) else {
        eprintln!(
            "skipping the portal journey: set TAMGA_PYTHON to a Python with authlib and \
             requests (.ci/run does)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (_demo, manifest) = start_demo(dir.path(), "600");
    assert!(manifest["portal"]["tracker_gateway"].is_string());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/portal_tracker.py");
    let out = Command::new(py)
        .arg(script)
        .arg(dir.path().join("demo"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "portal peer failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let facts: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert!(facts["owner_sees"].as_u64().unwrap() >= 1);
    assert_eq!(facts["other_sees"], 0);
}

/// A once-only application end to end (tests/peers/portal_application.py): consent, evidence
/// over Khur, questions, a PAdES signature by pyHanko, delivery over the exchange, the back
/// office with an official certificate over mutual TLS, a sealed B-LTA PDF/A decision that
/// pyHanko validates, verification by code, the bank's share link, and isolation between
/// citizens.
#[test]
fn once_only_application_to_sealed_decision() {
    let Some(py) = std::env::var("TAMGA_PYTHON").ok().filter(|p| !p.is_empty()) else {
        eprintln!(
            "skipping the application journey: set TAMGA_PYTHON to a Python with authlib, \
             requests, pyHanko and pikepdf (.ci/run does)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (relay, mail) = smtp_sink();
    let (_demo, manifest) = start_demo_with(
        dir.path(),
        "600",
        &[
            ("TAMGA_PORTAL__SMTP_RELAY", relay.as_str()),
            ("TAMGA_PORTAL__SMTP_FROM", "noreply@example.org"),
        ],
    );
    assert!(manifest["portal"]["applications"]["apply"].is_string());
    let peers = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers");
    let out = Command::new(py)
        .arg(peers.join("portal_application.py"))
        .arg(dir.path().join("demo"))
        .arg(peers.join("../../../tamga-sign/tests/peers/pyhanko_peer.py"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "application peer failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let facts: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(facts["delivered"], true);
    assert_eq!(facts["decided"], true);
    assert_eq!(facts["bank_verified"], true);
    assert_eq!(facts["remote_signed"], true);
    assert_eq!(facts["company_application"], true);
    assert_eq!(facts["cades_upload"], true);
    assert!(facts["pyhanko"].as_array().unwrap().len() >= 2);
    // E-mail: delivered, asked for more, decided — to the address the parent gave.
    let mail = mail.lock().unwrap().clone();
    let to_parent: Vec<&String> = mail
        .iter()
        .filter(|m| m.contains("RCPT TO:<parent@example.org>"))
        .collect();
    assert!(to_parent.len() >= 3, "{mail:?}");
    assert!(
        to_parent.iter().any(|m| m.contains("APPROVED")),
        "{to_parent:?}"
    );
    assert!(to_parent.iter().all(|m| m.contains("Subject: =?UTF-8?B?")));
}

/// A local SMTP sink (RFC 5321 server side, enough for one client at a time): each message
/// with its envelope, as text.
fn smtp_sink() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead, BufReader, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let mail = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let store = mail.clone();
    std::thread::spawn(move || {
        for c in l.incoming().flatten() {
            let mut w = c.try_clone().unwrap();
            let mut r = BufReader::new(c);
            let _ = w.write_all(b"220 sink ESMTP\r\n");
            let (mut msg, mut data) = (String::new(), false);
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                msg.push_str(&line);
                let reply: &[u8] = if data {
                    if line != ".\r\n" {
                        continue;
                    }
                    data = false;
                    store.lock().unwrap().push(std::mem::take(&mut msg));
                    b"250 queued\r\n"
                } else if line.starts_with("DATA") {
                    data = true;
                    b"354 end with .\r\n"
                } else if line.starts_with("EHLO") {
                    b"250-sink\r\n250 8BITMIME\r\n"
                } else if line.starts_with("QUIT") {
                    let _ = w.write_all(b"221 bye\r\n");
                    break;
                } else {
                    b"250 ok\r\n"
                };
                let _ = w.write_all(reply);
            }
        }
    });
    (addr, mail)
}

/// The whole journey in Debian Chromium (tests/peers/portal_journey_playwright.mjs): apply for
/// a child, sign with the remote signing certificate, the official approves, the decision is
/// downloaded, shared with the bank and verified, the tracker shows the fetch; axe-core on
/// every page; screenshots in `target/tmp/portal-journey/`.
#[test]
fn whole_journey_in_chromium() {
    let Some(pw) = std::env::var("TAMGA_PLAYWRIGHT_CORE")
        .ok()
        .filter(|p| !p.is_empty())
    else {
        eprintln!(
            "skipping the browser journey: set TAMGA_PLAYWRIGHT_CORE to a playwright-core \
             directory and install chromium (.ci/run does)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (_demo, _) = start_demo(dir.path(), "600");
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("portal-journey");
    let out = Command::new("node")
        .arg(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/portal_journey_playwright.mjs"),
        )
        .arg(dir.path().join("demo"))
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
        "Playwright journey failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let facts: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(facts["bank_verified"], true);
    assert!(facts["screenshots"].as_u64().unwrap() >= 15);
    if std::env::var("TAMGA_AXE_PLAYWRIGHT").is_ok_and(|v| !v.is_empty()) {
        assert!(facts["axe_pages"].as_u64().unwrap() >= 15);
        assert_eq!(facts["axe_violations"], serde_json::json!([]));
    }
}
