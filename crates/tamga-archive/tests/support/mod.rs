//! A simulated 30-year archive: one root, a new time-stamp authority certificate every five
//! years (each valid six), and a clock the test moves.

#![allow(dead_code)]

use std::sync::Arc;

use const_oid::ObjectIdentifier;
use tamga_archive::ers::{self, ArchiveTimeStamp, Batch, EvidenceRecord, HashAlg};
use tamga_keys::{KeyAlgorithm, Signer, SoftwareSigner};
use tamga_pki::ParsedCert;
use tamga_pki::builder::key_identifier;
use tamga_pki::issue::{CertificateRequest, Issuer, NameBuilder, Profile, issue, self_signed_root};

pub const YEAR: i64 = 365 * 86400;
/// 1 December 2026.
pub const T0: i64 = 1_796_083_200;
const POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.99999.3.1");

pub struct Authority {
    pub cert: ParsedCert,
    key: Arc<dyn Signer>,
}

pub struct World {
    pub root: ParsedCert,
    pub authorities: Vec<Authority>,
}

fn name(cn: &str) -> x509_cert::name::Name {
    NameBuilder::new()
        .country("MN")
        .unwrap()
        .common_name(cn)
        .unwrap()
        .build()
}

impl World {
    /// A root valid 1 January 2025 – 2075 and a TSA certificate every five years from T0,
    /// each valid six years (one year of overlap for the renewal).
    pub fn new() -> World {
        let root_key: Arc<dyn Signer> =
            Arc::new(SoftwareSigner::generate("root", KeyAlgorithm::EcP256).unwrap());
        let root = ParsedCert::from_der(
            &self_signed_root(
                root_key.as_ref(),
                name("Archive Test Root"),
                T0 - 2 * YEAR,
                T0 + 50 * YEAR,
                None,
            )
            .unwrap(),
        )
        .unwrap();
        let authorities = (0..8)
            .map(|i| {
                let key: Arc<dyn Signer> =
                    Arc::new(SoftwareSigner::generate("tsa", KeyAlgorithm::EcP256).unwrap());
                let start = T0 + i * 5 * YEAR - 86400;
                let der = issue(
                    &Issuer {
                        name: root.subject().clone(),
                        key_id: key_identifier(root_key.public_key_der()).unwrap(),
                        signer: root_key.as_ref(),
                        policy: POLICY,
                        crl_url: None,
                        ocsp_url: None,
                        ca_issuers_url: None,
                    },
                    &CertificateRequest {
                        subject: name(&format!("Archive TSA {i}")),
                        spki_der: key.public_key_der().to_vec(),
                        profile: Profile::Tsa,
                        not_before: start,
                        not_after: start + 6 * YEAR,
                        alt_names: vec![],
                        extra_extensions: vec![],
                    },
                )
                .unwrap()
                .0;
                Authority {
                    cert: ParsedCert::from_der(&der).unwrap(),
                    key,
                }
            })
            .collect();
        World { root, authorities }
    }

    /// The authority whose certificate is newest at `t`.
    pub fn authority_at(&self, t: i64) -> &Authority {
        self.authorities
            .iter()
            .rev()
            .find(|a| a.cert.not_before <= t && t <= a.cert.not_after)
            .expect("an authority for that time")
    }

    /// A token over `digest` at time `t`, from the authority current then.
    pub fn stamp(&self, alg: HashAlg, digest: &[u8], t: i64) -> Vec<u8> {
        self.stamp_by(self.authority_at(t), alg, digest, t)
    }

    pub fn stamp_by(&self, a: &Authority, alg: HashAlg, digest: &[u8], t: i64) -> Vec<u8> {
        let tsa = tamga_tsa::Tsa {
            cert: &a.cert,
            signer: a.key.as_ref(),
            chain: &[],
            policy: POLICY,
            accuracy_secs: 1,
        };
        let req = tamga_tsa::build_request_with(alg.oid(), digest, None, true).unwrap();
        tamga_tsa::token_from_response(&tsa.respond(&req, t)).unwrap()
    }

    /// Records for `docs`, batched under one time-stamp at `t`.
    pub fn ingest(&self, docs: &[Vec<u8>], t: i64) -> Vec<EvidenceRecord> {
        let leaves = docs.iter().map(|d| HashAlg::Sha256.digest(d)).collect();
        let batch = Batch::new(HashAlg::Sha256, leaves).unwrap();
        let token = self.stamp(HashAlg::Sha256, batch.imprint(), t);
        batch
            .archive_timestamps(&token)
            .unwrap()
            .into_iter()
            .map(|ats| ers::new_record(ats).unwrap())
            .collect()
    }

    /// A time-stamp renewal of every record at `t`, under one time-stamp.
    pub fn renew_timestamps(&self, records: &mut [EvidenceRecord], t: i64) {
        let ats = self.renewal_stamps(
            records
                .iter()
                .map(|r| ers::timestamp_renewal_leaf(r).unwrap())
                .collect(),
            t,
        );
        for (r, a) in records.iter_mut().zip(ats) {
            ers::append_timestamp_renewal(r, a).unwrap();
        }
    }

    /// A hash-tree renewal of every record at `t` under `alg`.
    pub fn renew_hash_tree(
        &self,
        records: &mut [EvidenceRecord],
        docs: &[Vec<u8>],
        alg: HashAlg,
        t: i64,
    ) {
        let leaves = records
            .iter()
            .zip(docs)
            .map(|(r, d)| (alg, ers::hash_tree_renewal_leaf(r, alg, d).unwrap()))
            .collect();
        let ats = self.renewal_stamps(leaves, t);
        for (r, a) in records.iter_mut().zip(ats) {
            ers::append_hash_tree_renewal(r, a).unwrap();
        }
    }

    fn renewal_stamps(&self, leaves: Vec<(HashAlg, Vec<u8>)>, t: i64) -> Vec<ArchiveTimeStamp> {
        let alg = leaves[0].0;
        let batch = Batch::new(alg, leaves.into_iter().map(|(_, l)| l).collect()).unwrap();
        let token = self.stamp(alg, batch.imprint(), t);
        batch.archive_timestamps(&token).unwrap()
    }

    /// Thirty years of care: renewed every five years, with a hash-tree renewal to SHA-512 in
    /// year 15.
    pub fn thirty_years(&self, docs: &[Vec<u8>]) -> Vec<EvidenceRecord> {
        let mut records = self.ingest(docs, T0 + 3600);
        for k in 1..=6 {
            let t = T0 + k * 5 * YEAR;
            if k == 3 {
                self.renew_hash_tree(&mut records, docs, HashAlg::Sha512, t);
            } else {
                self.renew_timestamps(&mut records, t);
            }
        }
        records
    }
}
