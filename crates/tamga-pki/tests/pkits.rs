//! NIST PKITS (PKITS.pdf sections 4.1–4.16) through Tamga's RFC 5280 validator.
//!
//! Cases from `../shared/testdata/pkits/pkits.json` (pyHanko's machine-readable list). Every case
//! must give the expected verdict and, when valid, the expected path length, except the few
//! listed in `UNSUPPORTED` with the reason; those are asserted to still disagree, so the list
//! cannot silently go stale.

use std::path::Path;

use tamga_pki::crl::CrlSet;
use tamga_pki::policy::PolicyInputs;
use tamga_pki::{AlgorithmPolicy, ParsedCert, Purpose, RevocationMode, ValidationInput, validate};

/// 2022-05-01T00:00:00Z, the time pyHanko validates PKITS at.
const TIME: i64 = 1_651_363_200;

/// Cases Tamga deliberately does not support, and why.
const UNSUPPORTED: &[(&str, &str)] = &[
    (
        "valid_dsa_signatures_test4",
        "DSA is not supported (ETSI TS 119 312 has withdrawn it)",
    ),
    (
        "valid_dsa_parameter_inheritance_test5",
        "DSA is not supported",
    ),
    (
        "valid_pre2000_utc_notbefore_date_test3",
        "notBefore 1950 as UTCTime: the x509-cert 0.2 decoder represents UTCTime from 1970 only, \
         so the certificate is refused as malformed (fails safe)",
    ),
];

fn load(dir: &Path, sub: &str, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(sub).join(name)).unwrap_or_else(|e| panic!("{sub}/{name}: {e}"))
}

#[test]
fn nist_pkits() {
    let Some(root) = tamga_testkit::shared_testdata() else {
        eprintln!("skipped: ../shared/testdata is absent, so PKITS cannot run");
        return;
    };
    let dir = root.join("pkits");
    let mut cases: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(dir.join("pkits.json")).unwrap()).unwrap();
    // The user-notice cases (4.8.15–4.8.18, 4.10.12–4.10.14) are valid paths too; Tamga does not
    // report notice texts, so only the verdict is checked.
    let notices: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(dir.join("pkits-user-notice.json")).unwrap())
            .unwrap();
    let total_main = cases.len();
    cases.extend(notices);
    assert_eq!(total_main, 246);
    let anchor =
        ParsedCert::from_der(&load(&dir, "certs", "TrustAnchorRootCertificate.crt")).unwrap();
    let mut wrong = Vec::new();
    let mut still_unsupported = 0;
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let strs = |key: &str| -> Vec<String> {
            case[key]
                .as_array()
                .map(|a| a.iter().map(|v| v.as_str().unwrap().to_owned()).collect())
                .unwrap_or_default()
        };
        let parse_all = |names: Vec<String>| -> Result<Vec<ParsedCert>, String> {
            names
                .iter()
                .map(|n| {
                    ParsedCert::from_der(&load(&dir, "certs", n)).map_err(|e| format!("{n}: {e}"))
                })
                .collect()
        };
        let expect_valid = case.get("error").is_none();
        let verdict: Result<usize, String> = (|| {
            let target = ParsedCert::from_der(&load(&dir, "certs", case["cert"].as_str().unwrap()))
                .map_err(|e| e.to_string())?;
            let others = parse_all(strs("other_certs"))?;
            let fixed = parse_all(strs("path_intermediates"))?;
            let mut crl_der: Vec<Vec<u8>> =
                strs("crls").iter().map(|c| load(&dir, "crls", c)).collect();
            crl_der.push(load(&dir, "crls", "TrustAnchorRootCRL.crl"));
            let crls = CrlSet::from_der_list(&crl_der)?;
            let params = &case["params"];
            let policy = PolicyInputs {
                initial_policy_set: params["user_initial_policy_set"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|v| v.as_str().unwrap().parse().unwrap())
                            .collect()
                    })
                    .unwrap_or_default(),
                initial_explicit_policy: params["initial_explicit_policy"]
                    .as_bool()
                    .unwrap_or(false),
                initial_policy_mapping_inhibit: params["initial_policy_mapping_inhibit"]
                    .as_bool()
                    .unwrap_or(false),
                initial_any_policy_inhibit: params["initial_any_policy_inhibit"]
                    .as_bool()
                    .unwrap_or(false),
            };
            let input = ValidationInput {
                target: &target,
                intermediates: &others,
                anchors: std::slice::from_ref(&anchor),
                time: TIME,
                purpose: Purpose::Any,
                policy,
                algorithms: AlgorithmPolicy::Legacy,
                crls: &crls,
                ocsp_responses: &[],
                revocation: if case["revocation"].as_bool() == Some(false) {
                    RevocationMode::IfAvailable
                } else {
                    RevocationMode::Require
                },
                fixed_path: (!fixed.is_empty()).then_some(&fixed[..]),
            };
            validate(&input)
                .map(|out| out.path.len())
                .map_err(|e| e.to_string())
        })();
        let agrees = match (&verdict, expect_valid) {
            (Ok(len), true) => case["path_len"]
                .as_u64()
                .is_none_or(|want| want as usize == *len),
            (Err(_), false) => true,
            _ => false,
        };
        let unsupported = UNSUPPORTED.iter().any(|(n, _)| *n == name);
        if unsupported {
            assert!(!agrees, "{name} now passes: remove it from UNSUPPORTED");
            still_unsupported += 1;
        } else if !agrees {
            wrong.push(format!(
                "{name} ({}): expected {}, got {verdict:?}",
                case["id"],
                if expect_valid { "valid" } else { "invalid" }
            ));
        }
    }
    assert_eq!(
        still_unsupported,
        UNSUPPORTED.len(),
        "an UNSUPPORTED name matches no case"
    );
    assert!(
        wrong.is_empty(),
        "{} of {} PKITS cases disagree:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
}
