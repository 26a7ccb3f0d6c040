//! RFC 4998 evidence records over a simulated 30 years: batches, time-stamp renewals, a
//! hash-tree renewal, and every way a record can fail to prove what it should, each with its
//! reason; `openssl ts -verify` checks every token a record carries.

mod support;

use der::Encode;
use der::asn1::OctetString;
use support::{T0, World, YEAR};
use tamga_archive::ers::{self, ErsError, ErsPolicy, HashAlg};
use tamga_testkit::openssl;

fn docs(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| format!("Архивын баримт {i} / archived document {i}").into_bytes())
        .collect()
}

fn policy(w: &World, at: i64) -> ErsPolicy {
    ErsPolicy::new(vec![w.root.clone()], at)
}

#[test]
fn a_batch_gives_each_document_a_record_that_verifies_and_survives_der() {
    let w = World::new();
    let d = docs(7);
    let records = w.ingest(&d, T0 + 60);
    assert_eq!(records.len(), 7);
    for (r, doc) in records.iter().zip(&d) {
        let der = ers::encode(r).unwrap();
        let back = ers::parse(&der).unwrap();
        assert_eq!(&back, r);
        let v = ers::verify(&back, doc, &policy(&w, T0 + YEAR)).unwrap();
        assert_eq!(v.existed_at, T0 + 60);
        assert_eq!(v.stamps.len(), 1);
        assert_eq!(v.stamps[0].kind, "initial");
        assert_eq!(v.renew_by, w.authorities[0].cert.not_after);
    }
    // A record covers the documents of its first hash list (RFC 4998 §4.3: its group in the
    // batch, here documents 0 and 1), and no other.
    ers::verify(&records[0], &d[1], &policy(&w, T0 + YEAR)).unwrap();
    assert_eq!(
        ers::verify(&records[0], &d[6], &policy(&w, T0 + YEAR)).unwrap_err(),
        ErsError::DataNotCovered
    );
    // Nor does a changed byte.
    let mut changed = d[2].clone();
    changed[0] ^= 1;
    assert_eq!(
        ers::verify(&records[2], &changed, &policy(&w, T0 + YEAR)).unwrap_err(),
        ErsError::DataNotCovered
    );
}

#[test]
fn a_single_document_is_stamped_directly() {
    let w = World::new();
    let d = docs(1);
    let records = w.ingest(&d, T0);
    let ats = &records[0].archive_time_stamp_sequence[0][0];
    assert!(ats.reduced_hashtree.is_none());
    ers::verify(&records[0], &d[0], &policy(&w, T0 + 10)).unwrap();
}

#[test]
fn thirty_years_of_renewals_verify_and_each_link_is_needed() {
    let w = World::new();
    let d = docs(5);
    let records = w.thirty_years(&d);
    let at = T0 + 31 * YEAR;
    for (r, doc) in records.iter().zip(&d) {
        let v = ers::verify(r, doc, &policy(&w, at)).unwrap();
        assert_eq!(v.stamps.len(), 7);
        assert_eq!(v.existed_at, T0 + 3600);
        let kinds: Vec<_> = v.stamps.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [
                "initial",
                "time-stamp renewal",
                "time-stamp renewal",
                "hash-tree renewal",
                "time-stamp renewal",
                "time-stamp renewal",
                "time-stamp renewal"
            ]
        );
        assert_eq!(v.stamps[3].hash, "SHA-512");
        assert_eq!(r.digest_algorithms.len(), 2);
    }
    // The same record at 31 years without its renewals: the first authority expired long ago.
    let first_only = w.ingest(&d[..1], T0 + 3600);
    assert!(matches!(
        ers::verify(&first_only[0], &d[0], &policy(&w, at)).unwrap_err(),
        ErsError::NotRenewed { .. }
    ));
    // The hash-tree renewal covers the document and its earlier chains: another record's
    // renewal (from another group of the batch) does not.
    let mut swapped = records[0].clone();
    swapped.archive_time_stamp_sequence[1] = records[3].archive_time_stamp_sequence[1].clone();
    assert_eq!(
        ers::verify(&swapped, &d[0], &policy(&w, at)).unwrap_err(),
        ErsError::RenewalBroken { chain: 1 }
    );
    // A time-stamp renewal from another batch's record breaks the chain.
    let other = w.thirty_years(&docs(2));
    let mut broken = records[0].clone();
    broken.archive_time_stamp_sequence[0][1] = other[0].archive_time_stamp_sequence[0][1].clone();
    assert_eq!(
        ers::verify(&broken, &d[0], &policy(&w, at)).unwrap_err(),
        ErsError::ChainBroken { chain: 0, ats: 1 }
    );
    // Dropping a renewal in the middle leaves the next one covering nothing of this chain.
    let mut gap = records[0].clone();
    gap.archive_time_stamp_sequence[0].remove(1);
    assert_eq!(
        ers::verify(&gap, &d[0], &policy(&w, at)).unwrap_err(),
        ErsError::ChainBroken { chain: 0, ats: 1 }
    );
}

#[test]
fn a_renewal_after_the_authority_expired_is_too_late() {
    let w = World::new();
    let d = docs(2);
    let mut records = w.ingest(&d, T0 + 3600);
    // The first authority's certificate ends six years after T0; renewing in year 7 is late.
    w.renew_timestamps(&mut records, T0 + 7 * YEAR);
    let e = ers::verify(&records[0], &d[0], &policy(&w, T0 + 8 * YEAR)).unwrap_err();
    assert!(
        matches!(
            e,
            ErsError::RenewedTooLate {
                chain: 0,
                ats: 1,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn a_hash_algorithm_past_its_sunset_needs_a_hash_tree_renewal() {
    let w = World::new();
    let d = docs(3);
    let mut p = policy(&w, T0 + 12 * YEAR);
    p.hash_sunsets.push((HashAlg::Sha256, T0 + 9 * YEAR));
    // Only time-stamp renewals: SHA-256 relied on after its (simulated) sunset.
    let mut records = w.ingest(&d, T0 + 3600);
    w.renew_timestamps(&mut records, T0 + 5 * YEAR);
    w.renew_timestamps(&mut records, T0 + 10 * YEAR);
    assert!(matches!(
        ers::verify(&records[0], &d[0], &p).unwrap_err(),
        ErsError::WeakHash { alg: "SHA-256", .. }
    ));
    // A hash-tree renewal to SHA-512 before the sunset keeps the record sound.
    let mut records = w.ingest(&d, T0 + 3600);
    w.renew_timestamps(&mut records, T0 + 5 * YEAR);
    w.renew_hash_tree(&mut records, &d, HashAlg::Sha512, T0 + 8 * YEAR);
    w.renew_timestamps(&mut records, T0 + 10 * YEAR);
    let v = ers::verify(&records[0], &d[0], &p).unwrap();
    assert_eq!(v.stamps.len(), 4);
}

#[test]
fn untrusted_authorities_tampered_tokens_and_trees_are_named() {
    let w = World::new();
    let other = World::new();
    let d = docs(4);
    let records = w.ingest(&d, T0 + 3600);
    let at = T0 + YEAR;
    assert!(matches!(
        ers::verify(&records[0], &d[0], &policy(&other, at)).unwrap_err(),
        ErsError::TsaUntrusted {
            chain: 0,
            ats: 0,
            ..
        }
    ));
    // A flipped byte in the token's signature.
    let mut r = records[0].clone();
    let mut token = r.archive_time_stamp_sequence[0][0]
        .time_stamp
        .to_der()
        .unwrap();
    let n = token.len();
    token[n - 5] ^= 0x40;
    r.archive_time_stamp_sequence[0][0].time_stamp = der::Decode::from_der(&token).unwrap();
    assert!(matches!(
        ers::verify(&r, &d[0], &policy(&w, at)).unwrap_err(),
        ErsError::Token {
            chain: 0,
            ats: 0,
            ..
        }
    ));
    // A sibling hash changed in the tree: the root is no longer the token's imprint.
    let mut r = records[0].clone();
    let tree = r.archive_time_stamp_sequence[0][0]
        .reduced_hashtree
        .as_mut()
        .unwrap();
    let last = tree.len() - 1;
    let mut h = tree[last][0].as_bytes().to_vec();
    h[0] ^= 1;
    tree[last][0] = OctetString::new(h).unwrap();
    assert_eq!(
        ers::verify(&r, &d[0], &policy(&w, at)).unwrap_err(),
        ErsError::ImprintMismatch { chain: 0, ats: 0 }
    );
    // A hash of the wrong length.
    let mut r = records[0].clone();
    r.archive_time_stamp_sequence[0][0]
        .reduced_hashtree
        .as_mut()
        .unwrap()[0]
        .push(OctetString::new(vec![0u8; 20]).unwrap());
    assert!(matches!(
        ers::verify(&r, &d[0], &policy(&w, at)).unwrap_err(),
        ErsError::HashLength { found: 20, .. }
    ));
    // digestAlgorithms must list what the record uses.
    let mut r = records[0].clone();
    r.digest_algorithms.clear();
    assert_eq!(
        ers::verify(&r, &d[0], &policy(&w, at)).unwrap_err(),
        ErsError::UnlistedAlgorithm("SHA-256")
    );
    // Version and structure.
    let mut r = records[0].clone();
    r.version = 2;
    assert_eq!(
        ers::verify(&r, &d[0], &policy(&w, at)).unwrap_err(),
        ErsError::Version(2)
    );
    let mut r = records[0].clone();
    r.archive_time_stamp_sequence.clear();
    assert!(matches!(
        ers::verify(&r, &d[0], &policy(&w, at)).unwrap_err(),
        ErsError::Empty(_)
    ));
    for junk in [&b""[..], b"\x30\x03\x02\x01\x01", b"not der at all"] {
        assert!(matches!(ers::parse(junk), Err(ErsError::Malformed(_))));
    }
}

#[test]
fn a_token_for_another_batch_is_not_accepted_when_building() {
    let w = World::new();
    let leaves = docs(3).iter().map(|d| HashAlg::Sha256.digest(d)).collect();
    let batch = ers::Batch::new(HashAlg::Sha256, leaves).unwrap();
    let token = w.stamp(HashAlg::Sha256, &HashAlg::Sha256.digest(b"other"), T0);
    assert!(matches!(
        batch.archive_timestamps(&token),
        Err(ErsError::Build(_))
    ));
}

/// openssl checks every token of a 30-year record against the root, at its own genTime, over
/// the digest the hash tree leads to.
#[test]
fn openssl_verifies_every_archive_time_stamp() {
    let w = World::new();
    let d = docs(3);
    let records = w.thirty_years(&d);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("root.pem"),
        openssl::pem("CERTIFICATE", &w.root.der),
    )
    .unwrap();
    let v = ers::verify(&records[1], &d[1], &policy(&w, T0 + 31 * YEAR)).unwrap();
    for (i, (ats, info)) in records[1]
        .archive_time_stamp_sequence
        .iter()
        .flatten()
        .zip(&v.stamps)
        .enumerate()
    {
        let token = ats.time_stamp.to_der().unwrap();
        std::fs::write(dir.path().join(format!("t{i}.der")), &token).unwrap();
        let (_, text) = openssl::run(
            dir.path(),
            &[
                "ts",
                "-reply",
                "-in",
                &format!("t{i}.der"),
                "-token_in",
                "-text",
            ],
        );
        let imprint = openssl_imprint(&text);
        assert!(!imprint.is_empty(), "{text}");
        let (ok, out) = openssl::run(
            dir.path(),
            &[
                "ts",
                "-verify",
                "-digest",
                &imprint,
                "-in",
                &format!("t{i}.der"),
                "-token_in",
                "-CAfile",
                "root.pem",
                "-attime",
                &info.gen_time.to_string(),
            ],
        );
        assert!(ok && out.contains("Verification: OK"), "token {i}: {out}");
        // And openssl refuses the same token for another digest.
        let mut wrong = imprint.clone().into_bytes();
        wrong[0] = if wrong[0] == b'0' { b'1' } else { b'0' };
        let (ok, _) = openssl::run(
            dir.path(),
            &[
                "ts",
                "-verify",
                "-digest",
                std::str::from_utf8(&wrong).unwrap(),
                "-in",
                &format!("t{i}.der"),
                "-token_in",
                "-CAfile",
                "root.pem",
                "-attime",
                &info.gen_time.to_string(),
            ],
        );
        assert!(!ok, "token {i} accepted for another digest");
    }
}

/// The message imprint from `openssl ts -reply -text` ("Message data:" hex dump lines).
fn openssl_imprint(text: &str) -> String {
    let Some(after) = text.split("Message data:").nth(1) else {
        return String::new();
    };
    let mut hex = String::new();
    for line in after.lines().skip(1) {
        let Some((offset, rest)) = line.trim_start().split_once(" - ") else {
            break;
        };
        if offset.len() != 4 || !offset.chars().all(|c| c.is_ascii_hexdigit()) {
            break;
        }
        let area: String = rest.chars().take(47).collect();
        for byte in area.replace('-', " ").split_whitespace() {
            hex.push_str(byte);
        }
    }
    hex
}

/// Every single-bit change of a renewed record gives a verdict, never a panic; a change that
/// still verifies touched only what no signature or hash covers (an ArchiveTimeStamp's
/// digestAlgorithm and attributes, the newest token's unsigned fields) and proves exactly the
/// same times from the same authorities.
#[test]
fn every_bit_flip_is_a_verdict_not_a_panic() {
    let w = World::new();
    let d = docs(3);
    let mut records = w.ingest(&d, T0 + 3600);
    w.renew_timestamps(&mut records, T0 + 5 * YEAR);
    let der = ers::encode(&records[1]).unwrap();
    let p = policy(&w, T0 + 6 * YEAR);
    let claims = |v: &ers::ErsVerified| -> Vec<(i64, String, &'static str)> {
        v.stamps
            .iter()
            .map(|s| (s.gen_time, s.tsa.to_lowercase(), s.hash))
            .collect()
    };
    let expected = claims(&ers::verify(&records[1], &d[1], &p).unwrap());
    for i in 0..der.len() {
        let mut m = der.clone();
        m[i] ^= 1 << (i % 8);
        if let Ok(r) = ers::parse(&m)
            && let Ok(v) = ers::verify(&r, &d[1], &p)
        {
            assert_eq!(
                claims(&v),
                expected,
                "flip at byte {i} changed what is proven"
            );
        }
    }
}

/// Evidence records from other implementations (BSI TR-ESOR, DSS samples) when
/// `../shared/testdata` holds any (`*.ers`, with the covered file beside it as the same name
/// without `.ers`): each parses, and with its data verifies structurally up to its
/// time-stamps' trust (their roots are not ours, so only the hash links are asserted).
#[test]
fn evidence_records_of_other_implementations() {
    let Some(root) = tamga_testkit::shared_testdata() else {
        eprintln!("skipped: ../shared/testdata is absent");
        return;
    };
    let mut found = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x.eq_ignore_ascii_case("ers")) {
                found.push(p);
            }
        }
    }
    if found.is_empty() {
        eprintln!(
            "skipped: no RFC 4998 evidence-record samples (*.ers) in ../shared/testdata; \
             Tamga's records are checked against an independent verifier instead \
             (crates/tamga/tests/peers/archive_ers.py)"
        );
        return;
    }
    for ers_path in found {
        let der = std::fs::read(&ers_path).unwrap();
        let record = ers::parse(&der).unwrap_or_else(|e| panic!("{}: {e}", ers_path.display()));
        let data_path = ers_path.with_extension("");
        if let Ok(data) = std::fs::read(&data_path) {
            match ers::verify(&record, &data, &ErsPolicy::new(vec![], i64::MAX / 4)) {
                Ok(_) => {}
                // Foreign roots are not trusted here: only a hash-link failure is a defect.
                Err(
                    ErsError::TsaUntrusted { .. }
                    | ErsError::NotRenewed { .. }
                    | ErsError::WeakHash { .. },
                ) => {}
                Err(e) => panic!("{}: {e}", ers_path.display()),
            }
        }
    }
}
