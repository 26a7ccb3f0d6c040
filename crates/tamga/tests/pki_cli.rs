//! `tamga pki verify` on NIST PKITS certificates: exit codes, one-line reasons, JSON, past
//! validation times and CRLs.

use std::path::PathBuf;
use std::process::Command;

fn pkits() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/pkits");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("skipped: ../shared/testdata/pkits is absent");
        None
    }
}

fn verify(dir: &std::path::Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tamga"))
        .current_dir(dir)
        .args(["pki", "verify"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn valid_invalid_json_and_crls() {
    let Some(dir) = pkits() else { return };
    let anchor = ["--trust", "certs/TrustAnchorRootCertificate.crt"];
    let at = ["--at", "2022-05-01T00:00:00Z"];
    let (code, out) = verify(
        &dir,
        &[
            &[
                "certs/ValidCertificatePathTest1EE.crt",
                "--untrusted",
                "certs/GoodCACert.crt",
            ][..],
            &anchor,
            &at,
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("valid at 2022-05-01T00:00:00Z: CN=Trust Anchor"),
        "{out}"
    );

    let (code, out) = verify(
        &dir,
        &[
            &[
                "certs/InvalidEEnotAfterDateTest6EE.crt",
                "--untrusted",
                "certs/GoodCACert.crt",
            ][..],
            &anchor,
            &at,
        ]
        .concat(),
    );
    assert_eq!(code, 1, "{out}");
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(
        out.contains("6.1.3 (a)(2)") && out.contains("expired"),
        "{out}"
    );

    // The same certificate was valid before it expired: validation in the past.
    let (code, out) = verify(
        &dir,
        &[
            "certs/InvalidEEnotAfterDateTest6EE.crt",
            "--untrusted",
            "certs/GoodCACert.crt",
            "--trust",
            "certs/TrustAnchorRootCertificate.crt",
            "--at",
            "2010-06-01T00:00:00Z",
        ],
    );
    assert_eq!(code, 0, "{out}");

    let (code, out) = verify(
        &dir,
        &[
            &[
                "certs/InvalidRevokedEETest3EE.crt",
                "--untrusted",
                "certs/GoodCACert.crt",
                "--crl",
                "crls/GoodCACRL.crl",
                "--crl",
                "crls/TrustAnchorRootCRL.crl",
                "--json",
            ][..],
            &anchor,
            &at,
        ]
        .concat(),
    );
    assert_eq!(code, 1, "{out}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["certificate_index"], 2);
    assert!(v["reason"].as_str().unwrap().contains("revoked"), "{v}");

    let (code, out) = verify(
        &dir,
        &[
            &[
                "certs/InvalidMissingCRLTest1EE.crt",
                "--untrusted",
                "certs/NoCRLCACert.crt",
                "--crl",
                "crls/TrustAnchorRootCRL.crl",
            ][..],
            &anchor,
            &at,
        ]
        .concat(),
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("revocation status unknown"), "{out}");

    let (code, out) = verify(
        &dir,
        &[
            &[
                "certs/ValidCertificatePathTest1EE.crt",
                "--purpose",
                "tsa",
                "--untrusted",
                "certs/GoodCACert.crt",
            ][..],
            &anchor,
            &at,
        ]
        .concat(),
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("extKeyUsage"), "{out}");
}

#[test]
fn bad_input_is_one_error_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("junk.pem"),
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let (code, out) = verify(dir.path(), &["junk.pem", "--trust", "junk.pem"]);
    assert_ne!(code, 0);
    assert!(out.starts_with("error: certificate junk.pem"), "{out}");
    let (code, out) = verify(dir.path(), &["missing.pem", "--trust", "junk.pem"]);
    assert_ne!(code, 0);
    assert!(out.contains("cannot read missing.pem"), "{out}");
    let (code, out) = verify(
        dir.path(),
        &["junk.pem", "--trust", "junk.pem", "--at", "yesterday"],
    );
    assert_ne!(code, 0);
    assert!(out.contains("error:"), "{out}");
}
