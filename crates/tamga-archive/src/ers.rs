//! RFC 4998 Evidence Record Syntax: the ASN.1 structures (§3), the hash tree that lets one
//! time-stamp cover a batch of documents (§4.2, sorted concatenation — not the RFC 9162 tree),
//! time-stamp renewal (§5.2, a new ArchiveTimeStamp in the same chain over the previous
//! time-stamp) and hash-tree renewal (§5.2, a new chain over the document and every earlier
//! chain, under a new hash algorithm), and verification (§4.3, §5.3) with a precise reason for
//! every failure.
//!
//! Building is sans-IO: [`Batch::new`] gives the digest the time-stamp authority has to stamp,
//! [`Batch::archive_timestamps`] turns the token into one ArchiveTimeStamp per document. The
//! caller decides how the token is obtained (the node's own TSA, an HTTP TSA, a test clock).
//!
//! Two readings of the RFC are settled here. Reduced hash trees: the first list holds the
//! covered hash and its siblings; each later list holds only siblings, and the hash computed
//! from the list below joins it (§4.3 step 3); a later list that already holds it is also
//! accepted. Hash-tree renewal: §5.2 step 4 concatenates `h(d)` and `ha` positionally while the
//! example of its Figure 4 sorts them; Tamga writes the positional form (as other
//! implementations do) and accepts both when verifying.

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912;
use der::asn1::OctetString;
use der::{Any, Decode, Encode, Sequence};
use spki::AlgorithmIdentifierOwned;
use tamga_pki::ParsedCert;
use tamga_pki::crl::CrlSet;
use tamga_pki::validate::{Purpose, RevocationMode, ValidationInput};

/// `id-aa-er-internal` is not needed: records travel as files of their own (`.ers`).
/// EvidenceRecord version v1.
const VERSION_V1: u8 = 1;

/// A hash algorithm an evidence record may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlg {
    /// SHA-256 (the default for new records).
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512 (the usual target of a hash-tree renewal).
    Sha512,
    /// SHA-1: read and verified for old records, never written.
    Sha1,
}

impl HashAlg {
    /// The algorithm's OID.
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            HashAlg::Sha256 => rfc5912::ID_SHA_256,
            HashAlg::Sha384 => rfc5912::ID_SHA_384,
            HashAlg::Sha512 => rfc5912::ID_SHA_512,
            HashAlg::Sha1 => rfc5912::ID_SHA_1,
        }
    }

    /// The algorithm an OID names.
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<HashAlg> {
        Some(match *oid {
            rfc5912::ID_SHA_256 => HashAlg::Sha256,
            rfc5912::ID_SHA_384 => HashAlg::Sha384,
            rfc5912::ID_SHA_512 => HashAlg::Sha512,
            rfc5912::ID_SHA_1 => HashAlg::Sha1,
            _ => return None,
        })
    }

    /// A name for reports.
    pub fn name(self) -> &'static str {
        match self {
            HashAlg::Sha256 => "SHA-256",
            HashAlg::Sha384 => "SHA-384",
            HashAlg::Sha512 => "SHA-512",
            HashAlg::Sha1 => "SHA-1",
        }
    }

    fn ring(self) -> &'static aws_lc_rs::digest::Algorithm {
        match self {
            HashAlg::Sha256 => &aws_lc_rs::digest::SHA256,
            HashAlg::Sha384 => &aws_lc_rs::digest::SHA384,
            HashAlg::Sha512 => &aws_lc_rs::digest::SHA512,
            HashAlg::Sha1 => &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
        }
    }

    /// The digest of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        aws_lc_rs::digest::digest(self.ring(), data)
            .as_ref()
            .to_vec()
    }

    /// The digest of the concatenation of `parts`.
    pub fn digest_parts(self, parts: &[&[u8]]) -> Vec<u8> {
        let mut ctx = aws_lc_rs::digest::Context::new(self.ring());
        for p in parts {
            ctx.update(p);
        }
        ctx.finish().as_ref().to_vec()
    }

    /// The digest length in bytes.
    pub fn digest_len(self) -> usize {
        self.ring().output_len()
    }

    fn identifier(self) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid: self.oid(),
            parameters: None,
        }
    }
}

/// EncryptionInfo (§3): read so that a record carrying it is named, never used.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct EncryptionInfo {
    /// encryptionInfoType.
    pub info_type: ObjectIdentifier,
    /// encryptionInfoValue.
    pub info_value: Any,
}

/// EvidenceRecord (§3).
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct EvidenceRecord {
    /// version, v1(1).
    pub version: u8,
    /// Every hash algorithm the record uses.
    pub digest_algorithms: Vec<AlgorithmIdentifierOwned>,
    /// cryptoInfos: verification data (certificates, CRLs) carried along.
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub crypto_infos: Option<Vec<Any>>,
    /// encryptionInfo: the archived data was encrypted (not supported).
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub encryption_info: Option<EncryptionInfo>,
    /// The chains, oldest first.
    pub archive_time_stamp_sequence: Vec<Vec<ArchiveTimeStamp>>,
}

/// ArchiveTimeStamp (§4.1).
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct ArchiveTimeStamp {
    /// The hash algorithm; absent means the time-stamp's imprint algorithm.
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub digest_algorithm: Option<AlgorithmIdentifierOwned>,
    /// Attributes (not interpreted).
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub attributes: Option<Vec<Any>>,
    /// The reduced hash tree: lists of hashes, leaf side first.
    #[asn1(context_specific = "2", tag_mode = "IMPLICIT", optional = "true")]
    pub reduced_hashtree: Option<Vec<Vec<OctetString>>>,
    /// The RFC 3161 token (a ContentInfo), kept as encoded: renewal hashes these exact bytes.
    pub time_stamp: Any,
}

/// Why an evidence record could not be built or does not prove what it should.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErsError {
    /// Not DER, or not an EvidenceRecord.
    #[error("not an RFC 4998 evidence record: {0}")]
    Malformed(String),
    /// A version other than v1.
    #[error("evidence record version {0} (only v1 exists)")]
    Version(u8),
    /// The record covers encrypted data (encryptionInfo).
    #[error(
        "the record covers encrypted data (encryptionInfo), which this verifier does not decrypt"
    )]
    Encrypted,
    /// No chain, or an empty chain.
    #[error("the record holds no archive time-stamp{0}")]
    Empty(String),
    /// A hash algorithm this verifier does not know.
    #[error("chain {chain}: unsupported hash algorithm {oid}")]
    UnsupportedHash {
        /// Chain index.
        chain: usize,
        /// The algorithm.
        oid: String,
    },
    /// Archive time-stamps of one chain use different hash algorithms (§5.1).
    #[error("chain {chain}: archive time-stamp {ats} uses {found}, the chain uses {chain_alg}")]
    MixedAlgorithms {
        /// Chain index.
        chain: usize,
        /// Position in the chain.
        ats: usize,
        /// The chain's algorithm.
        chain_alg: &'static str,
        /// This time-stamp's.
        found: &'static str,
    },
    /// The record's digestAlgorithms does not list an algorithm it uses (§3).
    #[error("digestAlgorithms does not list {0}, which the record uses")]
    UnlistedAlgorithm(&'static str),
    /// The first time-stamp does not cover the data (§4.3 step 2).
    #[error(
        "the first archive time-stamp does not cover this data (its hash is not in the first hash list)"
    )]
    DataNotCovered,
    /// A time-stamp renewal does not cover the previous time-stamp (§5.3 step 2).
    #[error(
        "chain {chain}: archive time-stamp {ats} does not cover the time-stamp before it (the chain is broken)"
    )]
    ChainBroken {
        /// Chain index.
        chain: usize,
        /// Position in the chain.
        ats: usize,
    },
    /// A hash-tree renewal does not cover the data and the chains before it (§5.3 step 3).
    #[error(
        "chain {chain}: the hash-tree renewal does not cover this data together with the earlier chains"
    )]
    RenewalBroken {
        /// Chain index.
        chain: usize,
    },
    /// The hash tree leads to a value the time-stamp does not carry (§4.3 step 4).
    #[error(
        "chain {chain}, archive time-stamp {ats}: the hash tree's root is not the time-stamp's imprint"
    )]
    ImprintMismatch {
        /// Chain index.
        chain: usize,
        /// Position in the chain.
        ats: usize,
    },
    /// A hash value in the tree has the wrong length.
    #[error(
        "chain {chain}, archive time-stamp {ats}: a hash in the tree has {found} bytes, {alg} has {expected}"
    )]
    HashLength {
        /// Chain index.
        chain: usize,
        /// Position in the chain.
        ats: usize,
        /// The algorithm.
        alg: &'static str,
        /// Its length.
        expected: usize,
        /// What was found.
        found: usize,
    },
    /// The time-stamp token itself does not verify.
    #[error("chain {chain}, archive time-stamp {ats}: {error}")]
    Token {
        /// Chain index.
        chain: usize,
        /// Position in the chain.
        ats: usize,
        /// Why.
        error: tamga_tsa::TokenError,
    },
    /// The time-stamp authority's certificate does not lead to a trust anchor at genTime.
    #[error(
        "chain {chain}, archive time-stamp {ats}: the time-stamp authority is not trusted at {time}: {reason}"
    )]
    TsaUntrusted {
        /// Chain index.
        chain: usize,
        /// Position in the chain.
        ats: usize,
        /// genTime, RFC 3339.
        time: String,
        /// Path validation's reason.
        reason: String,
    },
    /// Time-stamps out of order.
    #[error(
        "chain {chain}, archive time-stamp {ats}: its time {time} is before the time-stamp it renews"
    )]
    NotMonotonic {
        /// Chain index.
        chain: usize,
        /// Position in the chain.
        ats: usize,
        /// genTime, RFC 3339.
        time: String,
    },
    /// A renewal came after the previous time-stamp authority's certificate expired (§5.2: renew
    /// "before the certificate of the time-stamp authority expires").
    #[error(
        "chain {chain}, archive time-stamp {ats}: renewed at {renewed}, after the previous time-stamp authority's certificate expired at {expired}"
    )]
    RenewedTooLate {
        /// Chain index of the late renewal.
        chain: usize,
        /// Its position.
        ats: usize,
        /// Its genTime, RFC 3339.
        renewed: String,
        /// The previous TSA certificate's notAfter, RFC 3339.
        expired: String,
    },
    /// A hash algorithm was relied on after it stopped being secure without a hash-tree renewal.
    #[error(
        "{alg} stopped being secure at {since}, but the record relied on it until {until} without a hash-tree renewal"
    )]
    WeakHash {
        /// The algorithm.
        alg: &'static str,
        /// When it stopped being secure, RFC 3339.
        since: String,
        /// Until when it was relied on, RFC 3339.
        until: String,
    },
    /// The newest time-stamp's authority certificate expired before the verification time: the
    /// record was not renewed in time.
    #[error(
        "the newest archive time-stamp's authority certificate expired at {expired}, before the verification time {at}: the record was not renewed"
    )]
    NotRenewed {
        /// notAfter, RFC 3339.
        expired: String,
        /// Verification time, RFC 3339.
        at: String,
    },
    /// Building: nothing to stamp, or the token does not cover the batch.
    #[error("building the record: {0}")]
    Build(String),
}

/// What a verification relies on.
#[derive(Clone)]
pub struct ErsPolicy {
    /// Trust anchors for time-stamp authorities.
    pub anchors: Vec<ParsedCert>,
    /// Certificates that may complete paths (the tokens' own are always used).
    pub extra_certs: Vec<ParsedCert>,
    /// Verification time, Unix seconds.
    pub time: i64,
    /// Signature algorithms the tokens may use.
    pub algorithms: tamga_pki::AlgorithmPolicy,
    /// When hash algorithms stopped being secure (Unix seconds).
    pub hash_sunsets: Vec<(HashAlg, i64)>,
}

impl ErsPolicy {
    /// A policy with the default sunset: SHA-1 insecure since 1 January 2011 (the year NIST
    /// SP 800-131A disallowed it for signatures).
    pub fn new(anchors: Vec<ParsedCert>, time: i64) -> ErsPolicy {
        ErsPolicy {
            anchors,
            extra_certs: vec![],
            time,
            algorithms: tamga_pki::AlgorithmPolicy::Strict,
            hash_sunsets: vec![(HashAlg::Sha1, 1_293_840_000)],
        }
    }

    fn sunset(&self, alg: HashAlg) -> Option<i64> {
        self.hash_sunsets
            .iter()
            .filter(|(a, _)| *a == alg)
            .map(|(_, t)| *t)
            .min()
    }
}

/// One verified archive time-stamp.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StampInfo {
    /// Chain index.
    pub chain: usize,
    /// Position in its chain.
    pub index: usize,
    /// genTime, Unix seconds.
    pub gen_time: i64,
    /// The hash algorithm.
    pub hash: &'static str,
    /// The time-stamp authority (subject).
    pub tsa: String,
    /// Its certificate's notAfter, Unix seconds.
    pub tsa_not_after: i64,
    /// "initial", "time-stamp renewal" or "hash-tree renewal".
    pub kind: &'static str,
}

/// A verified record: the data existed at `existed_at`, and the proof holds until `renew_by`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ErsVerified {
    /// The first time-stamp's time: proof of existence, Unix seconds.
    pub existed_at: i64,
    /// The time-stamps, oldest first.
    pub stamps: Vec<StampInfo>,
    /// The record must be renewed before this (the newest TSA certificate's expiry or the
    /// newest hash algorithm's sunset), Unix seconds.
    pub renew_by: i64,
}

/// Reads a DER evidence record.
pub fn parse(der: &[u8]) -> Result<EvidenceRecord, ErsError> {
    EvidenceRecord::from_der(der).map_err(|e| ErsError::Malformed(e.to_string()))
}

/// The DER of a record.
pub fn encode(record: &EvidenceRecord) -> Result<Vec<u8>, ErsError> {
    record
        .to_der()
        .map_err(|e| ErsError::Malformed(e.to_string()))
}

fn sorted_digest(alg: HashAlg, list: &mut [Vec<u8>]) -> Vec<u8> {
    list.sort();
    let parts: Vec<&[u8]> = list.iter().map(Vec::as_slice).collect();
    alg.digest_parts(&parts)
}

/// A hash tree over a batch's leaves (§4.2): leaves are grouped in pairs (the last group takes
/// three when the count is odd), each group's parent is the hash of its members' binary sorted
/// concatenation, up to one root.
#[derive(Debug, Clone)]
pub struct HashTree {
    alg: HashAlg,
    /// Level 0 is the leaves, the last level the root alone.
    levels: Vec<Vec<Vec<u8>>>,
}

/// How many groups a level of `n` nodes has: pairs, the last taking three when `n` is odd
/// (one group for a single node).
fn group_count(n: usize) -> usize {
    (n / 2).max(1)
}

/// The nodes of group `g` of a level of `n` nodes.
fn group(n: usize, g: usize) -> std::ops::Range<usize> {
    let end = if g + 1 == group_count(n) {
        n
    } else {
        2 * g + 2
    };
    2 * g..end
}

/// The group of node `i` in a level of `n` nodes.
fn group_of(n: usize, i: usize) -> usize {
    (i / 2).min(group_count(n) - 1)
}

impl HashTree {
    /// Builds the tree over `leaves` (hashes under `alg`).
    pub fn new(alg: HashAlg, leaves: Vec<Vec<u8>>) -> Result<HashTree, ErsError> {
        if leaves.is_empty() {
            return Err(ErsError::Build("no documents to stamp".into()));
        }
        if let Some(l) = leaves.iter().find(|l| l.len() != alg.digest_len()) {
            return Err(ErsError::Build(format!(
                "a leaf has {} bytes, {} has {}",
                l.len(),
                alg.name(),
                alg.digest_len()
            )));
        }
        let mut levels = vec![leaves];
        while let Some(level) = levels.last().filter(|l| l.len() > 1) {
            let n = level.len();
            let next: Vec<Vec<u8>> = (0..group_count(n))
                .map(|g| sorted_digest(alg, &mut level[group(n, g)].to_vec()))
                .collect();
            levels.push(next);
        }
        Ok(HashTree { alg, levels })
    }

    /// The root: what the time-stamp covers.
    pub fn root(&self) -> &[u8] {
        // `new` guarantees at least one level with one node at the top.
        &self.levels[self.levels.len() - 1][0]
    }

    /// The reduced hash tree for leaf `i` (§4.2 step 5); `None` for a tree of one leaf, whose
    /// time-stamp covers the leaf directly.
    pub fn reduced(&self, mut i: usize) -> Option<Vec<Vec<Vec<u8>>>> {
        if self.levels.len() == 1 {
            return None;
        }
        let mut lists = Vec::with_capacity(self.levels.len() - 1);
        for (depth, level) in self.levels[..self.levels.len() - 1].iter().enumerate() {
            let gi = group_of(level.len(), i);
            let list: Vec<Vec<u8>> = group(level.len(), gi)
                .filter(|&j| depth == 0 || j != i)
                .map(|j| level[j].clone())
                .collect();
            lists.push(list);
            i = gi;
        }
        Some(lists)
    }

    /// The algorithm.
    pub fn alg(&self) -> HashAlg {
        self.alg
    }
}

/// Walks a reduced hash tree from `input` to its root (§4.3 steps 2–3); `None` when `input` is
/// not in the first list.
fn walk(alg: HashAlg, input: &[u8], lists: Option<&[Vec<OctetString>]>) -> Option<Vec<u8>> {
    let Some(lists) = lists else {
        return Some(input.to_vec());
    };
    let first = lists.first()?;
    if !first.iter().any(|h| h.as_bytes() == input) {
        return None;
    }
    let mut h = sorted_digest(
        alg,
        &mut first
            .iter()
            .map(|o| o.as_bytes().to_vec())
            .collect::<Vec<_>>(),
    );
    for list in &lists[1..] {
        let mut members: Vec<Vec<u8>> = list.iter().map(|o| o.as_bytes().to_vec()).collect();
        if !members.contains(&h) {
            members.push(h);
        }
        h = sorted_digest(alg, &mut members);
    }
    Some(h)
}

/// A batch of documents (or earlier time-stamps) that one time-stamp covers.
pub struct Batch {
    tree: HashTree,
    /// For each input, its leaf in the tree: equal inputs share one leaf (the records of one
    /// earlier batch renew the same token).
    leaf_of: Vec<usize>,
}

impl Batch {
    /// A batch over `leaves`, hashes under `alg`: document hashes for new records,
    /// [`timestamp_renewal_leaf`] or [`hash_tree_renewal_leaf`] values for renewals.
    pub fn new(alg: HashAlg, leaves: Vec<Vec<u8>>) -> Result<Batch, ErsError> {
        let mut distinct: Vec<Vec<u8>> = Vec::with_capacity(leaves.len());
        let mut seen: std::collections::HashMap<Vec<u8>, usize> =
            std::collections::HashMap::with_capacity(leaves.len());
        let leaf_of = leaves
            .into_iter()
            .map(|l| {
                *seen.entry(l.clone()).or_insert_with(|| {
                    distinct.push(l);
                    distinct.len() - 1
                })
            })
            .collect();
        Ok(Batch {
            tree: HashTree::new(alg, distinct)?,
            leaf_of,
        })
    }

    /// The digest the time-stamp authority must stamp (with the batch's algorithm).
    pub fn imprint(&self) -> &[u8] {
        self.tree.root()
    }

    /// The batch's algorithm.
    pub fn alg(&self) -> HashAlg {
        self.tree.alg()
    }

    /// One ArchiveTimeStamp per leaf, in leaf order, around `token` (a DER ContentInfo), after
    /// checking that the token stamps this batch's root with this batch's algorithm.
    pub fn archive_timestamps(&self, token: &[u8]) -> Result<Vec<ArchiveTimeStamp>, ErsError> {
        let (alg, imprint) = token_imprint(token).map_err(ErsError::Build)?;
        if alg != self.alg().oid() || imprint != self.imprint() {
            return Err(ErsError::Build(
                "the time-stamp token does not cover this batch's root".into(),
            ));
        }
        let time_stamp = Any::from_der(token).map_err(|e| ErsError::Build(e.to_string()))?;
        // One reduced tree per distinct leaf; inputs that share a leaf share its tree.
        let per_leaf = (0..self.tree.levels[0].len())
            .map(|i| {
                self.tree
                    .reduced(i)
                    .map(|lists| {
                        lists
                            .into_iter()
                            .map(|l| l.into_iter().map(OctetString::new).collect())
                            .collect::<Result<Vec<Vec<OctetString>>, _>>()
                    })
                    .transpose()
                    .map_err(|e| ErsError::Build(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self
            .leaf_of
            .iter()
            .map(|&i| ArchiveTimeStamp {
                digest_algorithm: Some(self.alg().identifier()),
                attributes: None,
                reduced_hashtree: per_leaf[i].clone(),
                time_stamp: time_stamp.clone(),
            })
            .collect())
    }
}

/// The (algorithm, imprint) of a token, read without verifying it (the BER-tolerant CMS
/// reader, then the TSTInfo).
fn token_imprint(token: &[u8]) -> Result<(ObjectIdentifier, Vec<u8>), String> {
    let sd = tamga_sign::cms_read::parse_signed_data(token).map_err(|e| e.to_string())?;
    if sd.econtent_type != tamga_tsa::ID_CT_TST_INFO {
        return Err("the token does not encapsulate a TSTInfo".into());
    }
    let tst =
        x509_tsp::TstInfo::from_der(sd.econtent.as_deref().ok_or("the token has no TSTInfo")?)
            .map_err(|e| e.to_string())?;
    Ok((
        tst.message_imprint.hash_algorithm.oid,
        tst.message_imprint.hashed_message.as_bytes().to_vec(),
    ))
}

/// A new record for one document from its initial ArchiveTimeStamp.
pub fn new_record(ats: ArchiveTimeStamp) -> Result<EvidenceRecord, ErsError> {
    let alg = chain_alg(0, std::slice::from_ref(&ats))?;
    Ok(EvidenceRecord {
        version: VERSION_V1,
        digest_algorithms: vec![alg.identifier()],
        crypto_infos: None,
        encryption_info: None,
        archive_time_stamp_sequence: vec![vec![ats]],
    })
}

/// The hash algorithm of `record`'s newest chain.
pub fn current_alg(record: &EvidenceRecord) -> Result<HashAlg, ErsError> {
    let n = record.archive_time_stamp_sequence.len();
    let chain = record
        .archive_time_stamp_sequence
        .last()
        .ok_or_else(|| ErsError::Empty(String::new()))?;
    chain_alg(n.saturating_sub(1), chain)
}

/// The leaf a time-stamp renewal (§5.2) stamps for `record`: the hash of the newest
/// ArchiveTimeStamp's timeStamp, under the newest chain's algorithm.
pub fn timestamp_renewal_leaf(record: &EvidenceRecord) -> Result<(HashAlg, Vec<u8>), ErsError> {
    let alg = current_alg(record)?;
    let last = record
        .archive_time_stamp_sequence
        .last()
        .and_then(|c| c.last())
        .ok_or_else(|| ErsError::Empty(String::new()))?;
    let der = last
        .time_stamp
        .to_der()
        .map_err(|e| ErsError::Malformed(e.to_string()))?;
    Ok((alg, alg.digest(&der)))
}

/// Appends a time-stamp renewal to the newest chain.
pub fn append_timestamp_renewal(
    record: &mut EvidenceRecord,
    ats: ArchiveTimeStamp,
) -> Result<(), ErsError> {
    let alg = current_alg(record)?;
    let chain = record
        .archive_time_stamp_sequence
        .last_mut()
        .ok_or_else(|| ErsError::Empty(String::new()))?;
    let new_alg = chain_alg(0, std::slice::from_ref(&ats))?;
    if new_alg != alg {
        return Err(ErsError::Build(format!(
            "a time-stamp renewal keeps the chain's {}; {} needs a hash-tree renewal",
            alg.name(),
            new_alg.name()
        )));
    }
    chain.push(ats);
    Ok(())
}

fn sequence_der(chains: &[Vec<ArchiveTimeStamp>]) -> Result<Vec<u8>, ErsError> {
    chains
        .to_vec()
        .to_der()
        .map_err(|e| ErsError::Malformed(e.to_string()))
}

/// The leaf a hash-tree renewal (§5.2) stamps for `record` over `data` under `alg`:
/// `H(H(data) ‖ H(DER(ArchiveTimeStampSequence)))`.
pub fn hash_tree_renewal_leaf(
    record: &EvidenceRecord,
    alg: HashAlg,
    data: &[u8],
) -> Result<Vec<u8>, ErsError> {
    let ha = alg.digest(&sequence_der(&record.archive_time_stamp_sequence)?);
    Ok(alg.digest_parts(&[&alg.digest(data), &ha]))
}

/// Starts a new chain with `ats` (a hash-tree renewal) and lists its algorithm.
pub fn append_hash_tree_renewal(
    record: &mut EvidenceRecord,
    ats: ArchiveTimeStamp,
) -> Result<(), ErsError> {
    let alg = chain_alg(
        record.archive_time_stamp_sequence.len(),
        std::slice::from_ref(&ats),
    )?;
    if !record.digest_algorithms.iter().any(|a| a.oid == alg.oid()) {
        record.digest_algorithms.push(alg.identifier());
    }
    record.archive_time_stamp_sequence.push(vec![ats]);
    Ok(())
}

/// The algorithm of one ArchiveTimeStamp: its digestAlgorithm, else its token's imprint's.
fn ats_alg(chain: usize, ats: &ArchiveTimeStamp) -> Result<HashAlg, ErsError> {
    let oid = match &ats.digest_algorithm {
        Some(a) => a.oid,
        None => {
            let der = ats
                .time_stamp
                .to_der()
                .map_err(|e| ErsError::Malformed(e.to_string()))?;
            token_imprint(&der).map_err(ErsError::Malformed)?.0
        }
    };
    HashAlg::from_oid(&oid).ok_or(ErsError::UnsupportedHash {
        chain,
        oid: oid.to_string(),
    })
}

fn chain_alg(chain: usize, stamps: &[ArchiveTimeStamp]) -> Result<HashAlg, ErsError> {
    let first = stamps
        .first()
        .ok_or_else(|| ErsError::Empty(format!(" in chain {chain}")))?;
    let alg = ats_alg(chain, first)?;
    for (i, ats) in stamps.iter().enumerate().skip(1) {
        let a = ats_alg(chain, ats)?;
        if a != alg {
            return Err(ErsError::MixedAlgorithms {
                chain,
                ats: i,
                chain_alg: alg.name(),
                found: a.name(),
            });
        }
    }
    Ok(alg)
}

fn rfc3339(t: i64) -> String {
    tamga_pki::time::format_rfc3339(t)
}

/// Verifies `record` over `data` (§4.3, §5.3): every hash link from the data to the newest
/// time-stamp, every token's signature and its authority's path at its genTime, each renewal
/// before the previous authority's certificate expired and before the previous hash algorithm
/// stopped being secure, and the newest authority still valid at the verification time.
pub fn verify(
    record: &EvidenceRecord,
    data: &[u8],
    policy: &ErsPolicy,
) -> Result<ErsVerified, ErsError> {
    if record.version != VERSION_V1 {
        return Err(ErsError::Version(record.version));
    }
    if record.encryption_info.is_some() {
        return Err(ErsError::Encrypted);
    }
    let seq = &record.archive_time_stamp_sequence;
    if seq.is_empty() {
        return Err(ErsError::Empty(String::new()));
    }
    let no_crls = CrlSet { crls: vec![] };
    let mut stamps: Vec<StampInfo> = Vec::new();
    let mut chain_algs: Vec<HashAlg> = Vec::with_capacity(seq.len());
    for (c, chain) in seq.iter().enumerate() {
        let alg = chain_alg(c, chain)?;
        if !record.digest_algorithms.iter().any(|a| a.oid == alg.oid()) {
            return Err(ErsError::UnlistedAlgorithm(alg.name()));
        }
        chain_algs.push(alg);
        let mut previous_token: Option<Vec<u8>> = None;
        for (j, ats) in chain.iter().enumerate() {
            let token = ats
                .time_stamp
                .to_der()
                .map_err(|e| ErsError::Malformed(e.to_string()))?;
            let lists = ats.reduced_hashtree.as_deref();
            if let Some(lists) = lists {
                if lists.is_empty() || lists.iter().any(|l| l.is_empty()) {
                    return Err(ErsError::Malformed(format!(
                        "chain {c}, archive time-stamp {j}: an empty hash list"
                    )));
                }
                if let Some(h) = lists
                    .iter()
                    .flatten()
                    .find(|h| h.as_bytes().len() != alg.digest_len())
                {
                    return Err(ErsError::HashLength {
                        chain: c,
                        ats: j,
                        alg: alg.name(),
                        expected: alg.digest_len(),
                        found: h.as_bytes().len(),
                    });
                }
            }
            // What this time-stamp must cover: the previous token, the data, or (hash-tree
            // renewal) the data with every earlier chain, in either reading of §5.2 step 4.
            let (inputs, link_error) = match (&previous_token, c) {
                (Some(prev), _) => (
                    vec![alg.digest(prev)],
                    ErsError::ChainBroken { chain: c, ats: j },
                ),
                (None, 0) => (vec![alg.digest(data)], ErsError::DataNotCovered),
                (None, _) => {
                    let hd = alg.digest(data);
                    let ha = alg.digest(&sequence_der(&seq[..c])?);
                    let positional = alg.digest_parts(&[&hd, &ha]);
                    let sorted = sorted_digest(alg, &mut [hd, ha]);
                    (
                        vec![positional, sorted],
                        ErsError::RenewalBroken { chain: c },
                    )
                }
            };
            let mut pool = policy.extra_certs.clone();
            pool.extend(
                tamga_sign::cms_read::parse_signed_data(&token)
                    .map(|sd| sd.certificates)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|c| ParsedCert::from_der(c).ok()),
            );
            let v = tamga_tsa::verify_token(&token, None, &pool, policy.algorithms).map_err(
                |error| ErsError::Token {
                    chain: c,
                    ats: j,
                    error,
                },
            )?;
            let roots: Vec<Vec<u8>> = inputs.iter().filter_map(|i| walk(alg, i, lists)).collect();
            if v.imprint_algorithm != alg.oid() || !roots.contains(&v.imprint) {
                // Without a tree the input is compared with the imprint directly: a mismatch
                // is a broken link; with a tree, a leaf that is present but does not lead to the
                // imprint means the tree itself was changed.
                return Err(if roots.is_empty() || lists.is_none() {
                    link_error
                } else {
                    ErsError::ImprintMismatch { chain: c, ats: j }
                });
            }
            let trusted_directly = policy.anchors.iter().any(|a| a.der == v.signer.der);
            if !trusted_directly {
                let input = ValidationInput {
                    target: &v.signer,
                    intermediates: &pool,
                    anchors: &policy.anchors,
                    time: v.gen_time,
                    purpose: Purpose::Tsa,
                    policy: Default::default(),
                    algorithms: policy.algorithms,
                    crls: &no_crls,
                    ocsp_responses: &[],
                    revocation: RevocationMode::Off,
                    fixed_path: None,
                };
                tamga_pki::validate::validate(&input).map_err(|e| ErsError::TsaUntrusted {
                    chain: c,
                    ats: j,
                    time: rfc3339(v.gen_time),
                    reason: e.to_string(),
                })?;
            }
            if let Some(prev) = stamps.last() {
                if v.gen_time < prev.gen_time {
                    return Err(ErsError::NotMonotonic {
                        chain: c,
                        ats: j,
                        time: rfc3339(v.gen_time),
                    });
                }
                if v.gen_time > prev.tsa_not_after {
                    return Err(ErsError::RenewedTooLate {
                        chain: c,
                        ats: j,
                        renewed: rfc3339(v.gen_time),
                        expired: rfc3339(prev.tsa_not_after),
                    });
                }
            }
            stamps.push(StampInfo {
                chain: c,
                index: j,
                gen_time: v.gen_time,
                hash: alg.name(),
                tsa: v.signer.subject_string(),
                tsa_not_after: v.signer.not_after,
                kind: match (c, j) {
                    (0, 0) => "initial",
                    (_, 0) => "hash-tree renewal",
                    _ => "time-stamp renewal",
                },
            });
            previous_token = Some(token);
        }
    }
    // Each chain's algorithm must stay secure until the next chain re-hashes the data (or until
    // now, for the newest chain).
    for (c, alg) in chain_algs.iter().enumerate() {
        let until = match stamps.iter().find(|s| s.chain == c + 1) {
            Some(next) => next.gen_time,
            None => policy.time,
        };
        if let Some(since) = policy.sunset(*alg)
            && since < until
        {
            return Err(ErsError::WeakHash {
                alg: alg.name(),
                since: rfc3339(since),
                until: rfc3339(until),
            });
        }
    }
    let (first, last) = match (stamps.first(), stamps.last()) {
        (Some(f), Some(l)) => (f, l),
        _ => return Err(ErsError::Empty(String::new())),
    };
    if last.tsa_not_after < policy.time {
        return Err(ErsError::NotRenewed {
            expired: rfc3339(last.tsa_not_after),
            at: rfc3339(policy.time),
        });
    }
    let last_alg = chain_algs[chain_algs.len() - 1];
    let renew_by = policy
        .sunset(last_alg)
        .map_or(last.tsa_not_after, |s| s.min(last.tsa_not_after));
    Ok(ErsVerified {
        existed_at: first.gen_time,
        renew_by,
        stamps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: usize) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| HashAlg::Sha256.digest(format!("document {i}").as_bytes()))
            .collect()
    }

    #[test]
    fn every_leaf_walks_to_the_root() {
        for n in [1usize, 2, 3, 4, 5, 7, 8, 9, 100, 1023] {
            let t = HashTree::new(HashAlg::Sha256, leaves(n)).unwrap();
            for i in 0..n {
                let lists = t.reduced(i).map(|ls| {
                    ls.into_iter()
                        .map(|l| {
                            l.into_iter()
                                .map(|h| OctetString::new(h).unwrap())
                                .collect()
                        })
                        .collect::<Vec<Vec<_>>>()
                });
                let root = walk(HashAlg::Sha256, &t.levels[0][i], lists.as_deref()).unwrap();
                assert_eq!(root, t.root(), "n={n} i={i}");
            }
        }
    }

    #[test]
    fn a_hash_outside_the_first_list_is_refused() {
        let t = HashTree::new(HashAlg::Sha256, leaves(5)).unwrap();
        let lists: Vec<Vec<OctetString>> = t
            .reduced(0)
            .unwrap()
            .into_iter()
            .map(|l| {
                l.into_iter()
                    .map(|h| OctetString::new(h).unwrap())
                    .collect()
            })
            .collect();
        // Leaf 4 is in another group: its hash is not in leaf 0's first list.
        assert!(walk(HashAlg::Sha256, &t.levels[0][4], Some(&lists)).is_none());
        // A sibling from a higher list is not a leaf.
        let higher = lists[1][0].as_bytes().to_vec();
        assert!(walk(HashAlg::Sha256, &higher, Some(&lists)).is_none());
    }

    #[test]
    fn the_sorted_concatenation_is_order_free_and_matches_the_rfc() {
        // §4.2: the parent of a group is H of its members sorted in binary ascending order.
        let a = HashAlg::Sha256.digest(b"a");
        let b = HashAlg::Sha256.digest(b"b");
        let t1 = HashTree::new(HashAlg::Sha256, vec![a.clone(), b.clone()]).unwrap();
        let t2 = HashTree::new(HashAlg::Sha256, vec![b.clone(), a.clone()]).unwrap();
        assert_eq!(t1.root(), t2.root());
        let (lo, hi) = if a < b { (&a, &b) } else { (&b, &a) };
        assert_eq!(
            t1.root(),
            HashAlg::Sha256.digest_parts(&[lo, hi]).as_slice()
        );
    }

    #[test]
    fn leaves_of_the_wrong_length_are_refused() {
        assert!(HashTree::new(HashAlg::Sha512, leaves(2)).is_err());
        assert!(HashTree::new(HashAlg::Sha256, vec![]).is_err());
    }
}
