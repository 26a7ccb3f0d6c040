//! The portal against the demo node: a citizen signs in through the identity role (the portal
//! is an OIDC client) and sees who used their data — the exchange's tracker entries fetched
//! over the exchange from each organisation holding personal data —, filtered by organisation;
//! another citizen sees none of them; a forged callback is refused.

use std::path::Path;
use std::process::Command;

mod support;
use support::exchange::start_demo;

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
    let (_demo, manifest) = start_demo(dir.path(), "600");
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
    assert!(facts["pyhanko"].as_array().unwrap().len() >= 2);
}
