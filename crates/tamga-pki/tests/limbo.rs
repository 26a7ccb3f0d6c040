//! x509-limbo (C2SP, 2023-12-02 snapshot in `../shared/testdata/x509-limbo/`) through Tamga's
//! validator as a TLS-server validation with host-name matching.
//!
//! The `rfc5280::`, `pathlen::`, `pathological::` and `online::` namespaces must agree case by
//! case, except where listed in `UNSUPPORTED`. The `webpki::` namespace encodes the Web PKI's
//! (CA/Browser Forum) stricter rules, which are not RFC 5280 and not Tamga's target profile; its
//! agreement is reported, not asserted.

use tamga_pki::crl::CrlSet;
use tamga_pki::policy::PolicyInputs;
use tamga_pki::{
    AlgorithmPolicy, ParsedCert, Purpose, RevocationMode, ValidationInput, matches_dns_name,
    validate,
};

const UNSUPPORTED: &[(&str, &str)] = &[(
    "rfc5280::nc::permitted-dn-match",
    "the leaf's only subjectAltName is DirName CN=foo, yet the case expects it to be accepted for \
     the host example.com; Tamga never accepts a certificate for a host it does not name \
     (RFC 6125 §6.4, no CN fallback). Later limbo versions drop the peer name from such cases",
)];

fn parse_time(s: &str) -> i64 {
    // RFC 3339 "YYYY-MM-DDTHH:MM:SSZ" (limbo's format) to Unix seconds.
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| s[r].parse::<i64>().unwrap();
    assert!(b.len() >= 19, "{s}");
    let (y, m, d) = (num(0..4), num(5..7), num(8..10));
    let (hh, mm, ss) = (num(11..13), num(14..16), num(17..19));
    // Days from civil (Howard Hinnant's algorithm).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + hh * 3600 + mm * 60 + ss
}

#[test]
fn x509_limbo() {
    let Some(root) = tamga_testkit::shared_testdata() else {
        eprintln!("skipped: ../shared/testdata is absent, so x509-limbo cannot run");
        return;
    };
    let path = root.join("x509-limbo/limbo.json");
    if !path.is_file() {
        eprintln!("skipped: {} is absent", path.display());
        return;
    }
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let (mut wrong, mut webpki_agree, mut webpki_total, mut asserted) = (Vec::new(), 0, 0, 0);
    for case in doc["testcases"].as_array().unwrap() {
        let id = case["id"].as_str().unwrap();
        let pems = |k: &str| -> Result<Vec<ParsedCert>, String> {
            case[k]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    ParsedCert::from_pem_or_der(p.as_str().unwrap().as_bytes())
                        .map_err(|e| e.to_string())
                })
                .collect()
        };
        let verdict: Result<(), String> = (|| {
            let anchors = pems("trusted_certs")?;
            let intermediates = pems("untrusted_intermediates")?;
            let target =
                ParsedCert::from_pem_or_der(case["peer_certificate"].as_str().unwrap().as_bytes())
                    .map_err(|e| e.to_string())?;
            let crls = CrlSet::default();
            let input = ValidationInput {
                target: &target,
                intermediates: &intermediates,
                anchors: &anchors,
                time: case["validation_time"].as_str().map_or(now, parse_time),
                purpose: Purpose::TlsServer,
                policy: PolicyInputs::default(),
                algorithms: AlgorithmPolicy::Strict,
                crls: &crls,
                ocsp_responses: &[],
                revocation: RevocationMode::Off,
                fixed_path: None,
            };
            let out = validate(&input).map_err(|e| e.to_string())?;
            // Logical intermediates: self-issued ones (key rollover) do not count.
            let depth = out.path[1..out.path.len() - 1]
                .iter()
                .filter(|c| !c.is_self_issued())
                .count();
            if let Some(max) = case["max_chain_depth"].as_u64()
                && depth > max as usize
            {
                return Err(format!("chain depth {depth} over {max}"));
            }
            if let Some(peer) = case["expected_peer_name"].as_object()
                && peer["kind"] == "DNS"
                && !matches_dns_name(&target, peer["value"].as_str().unwrap())
            {
                return Err(format!("not for {}", peer["value"]));
            }
            Ok(())
        })();
        let expect_ok = case["expected_result"] == "SUCCESS";
        let agrees = verdict.is_ok() == expect_ok;
        if id.starts_with("webpki::") {
            webpki_total += 1;
            webpki_agree += usize::from(agrees);
            continue;
        }
        asserted += 1;
        let unsupported = UNSUPPORTED.iter().any(|(n, _)| *n == id);
        if unsupported {
            assert!(!agrees, "{id} now agrees: remove it from UNSUPPORTED");
        } else if !agrees {
            wrong.push(format!(
                "{id}: expected {}, got {verdict:?}",
                case["expected_result"]
            ));
        }
    }
    eprintln!(
        "x509-limbo: {asserted} cases asserted; webpki:: namespace {webpki_agree}/{webpki_total} agree (reported only)"
    );
    assert!(
        wrong.is_empty(),
        "{} x509-limbo cases disagree:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
