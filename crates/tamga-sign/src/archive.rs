//! CAdES B-LTA: the archive-time-stamp-v3 attribute (ETSI EN 319 122-1 §5.5.3) with its
//! ats-hash-index-v3 (§5.5.2), so a CAdES signature (and the ASiC-E containers built on CAdES)
//! keeps its proof of existence after the signer's certificate, its CA and the time-stamp
//! authority's own certificate have expired; each new archive time-stamp renews the previous.
//!
//! The time-stamp's imprint covers, in this order and as encoded in the signature: the
//! eContentType, the hash of the signed content, the SignerInfo's version, sid, digestAlgorithm,
//! signedAttrs, signatureAlgorithm and signature, and the DER ATSHashIndexV3 (hashes of every
//! certificate, every revocation entry and every unsigned attribute value present when the
//! time-stamp was taken). The index travels as an unsigned attribute of the time-stamp token.

use const_oid::ObjectIdentifier;

use crate::cms_read::{self, Tlv};

/// id-aa-ets-archiveTimestampV3.
pub const ID_AA_ETS_ARCHIVE_TIMESTAMP_V3: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("0.4.0.1733.2.4");
/// id-aa-ATSHashIndex-v3.
pub const ID_AA_ATS_HASH_INDEX_V3: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("0.4.0.19122.1.5");

/// The raw parts of a SignedData one archive time-stamp covers.
struct Parts<'a> {
    econtent_type: &'a [u8],
    econtent: Option<Vec<u8>>,
    certificates: Vec<&'a [u8]>,
    crls: Vec<&'a [u8]>,
    /// The SignerInfo's fields up to and including the signature, as encoded.
    signer_fields: Vec<&'a [u8]>,
    /// (attrType TLV, value TLV) of every unsigned attribute value.
    unsigned_values: Vec<(&'a [u8], &'a [u8])>,
}

fn parts<'a>(p7s: &'a [u8], signer: usize) -> Result<Parts<'a>, String> {
    let e = |e: cms_read::CmsError| e.to_string();
    let ci = cms_read::read(p7s).map_err(e)?;
    let kids = ci.children().map_err(e)?;
    let sd = kids
        .get(1)
        .and_then(|c| c.children().ok())
        .and_then(|c| c.into_iter().next())
        .ok_or("no SignedData")?;
    let fields = sd.children().map_err(e)?;
    let eci = fields.get(2).ok_or("no encapContentInfo")?;
    let eci_kids = eci.children().map_err(e)?;
    let econtent_type = eci_kids.first().ok_or("no eContentType")?.raw;
    let econtent = match eci_kids.get(1) {
        Some(t) => Some(
            t.children()
                .map_err(e)?
                .first()
                .ok_or("empty eContent")?
                .octets()
                .map_err(e)?,
        ),
        None => None,
    };
    let mut certificates = Vec::new();
    let mut crls = Vec::new();
    let mut signer_infos: Option<Tlv<'a>> = None;
    for f in &fields[3..] {
        match f.tag {
            0xa0 => certificates = f.children().map_err(e)?.iter().map(|c| c.raw).collect(),
            0xa1 => crls = f.children().map_err(e)?.iter().map(|c| c.raw).collect(),
            0x31 => signer_infos = Some(*f),
            _ => {}
        }
    }
    let sis = signer_infos
        .ok_or("no signerInfos")?
        .children()
        .map_err(e)?;
    let si = sis.get(signer).ok_or("no such signer")?;
    let si_fields = si.children().map_err(e)?;
    let mut signer_fields = Vec::new();
    let mut unsigned_values = Vec::new();
    for f in &si_fields {
        if f.tag == 0xa1 {
            for attr in f.children().map_err(e)? {
                let a = attr.children().map_err(e)?;
                let [ty, values, ..] = &a[..] else {
                    return Err("malformed unsigned attribute".into());
                };
                for v in values.children().map_err(e)? {
                    unsigned_values.push((ty.raw, v.raw));
                }
            }
        } else {
            signer_fields.push(f.raw);
        }
    }
    Ok(Parts {
        econtent_type,
        econtent,
        certificates,
        crls,
        signer_fields,
        unsigned_values,
    })
}

fn der_len(n: usize) -> Vec<u8> {
    if n < 0x80 {
        vec![n as u8]
    } else {
        let b: Vec<u8> = n
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|&x| x == 0)
            .collect();
        let mut out = vec![0x80 | b.len() as u8];
        out.extend(b);
        out
    }
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend(der_len(content.len()));
    out.extend_from_slice(content);
    out
}

fn seq_of_hashes(hashes: impl Iterator<Item = Vec<u8>>) -> Vec<u8> {
    let mut body = Vec::new();
    for h in hashes {
        body.extend(tlv(0x04, &h));
    }
    tlv(0x30, &body)
}

/// DER ATSHashIndexV3 over what the signature holds now (SHA-256, the default, omitted).
fn hash_index(p: &Parts<'_>) -> Vec<u8> {
    let h = |d: &[u8]| {
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, d)
            .as_ref()
            .to_vec()
    };
    let mut body = seq_of_hashes(p.certificates.iter().map(|c| h(c)));
    body.extend(seq_of_hashes(p.crls.iter().map(|c| h(c))));
    body.extend(seq_of_hashes(p.unsigned_values.iter().map(|(t, v)| {
        let mut d = t.to_vec();
        d.extend_from_slice(v);
        h(&d)
    })));
    tlv(0x30, &body)
}

fn imprint(
    p: &Parts<'_>,
    content: &[u8],
    alg: &'static aws_lc_rs::digest::Algorithm,
    index_der: &[u8],
) -> Vec<u8> {
    let mut ctx = aws_lc_rs::digest::Context::new(alg);
    ctx.update(p.econtent_type);
    ctx.update(aws_lc_rs::digest::digest(alg, content).as_ref());
    for f in &p.signer_fields {
        ctx.update(f);
    }
    ctx.update(index_der);
    ctx.finish().as_ref().to_vec()
}

/// What the SHA-256 archive time-stamp of signer `signer` must cover now: (imprint, DER index).
pub fn archive_imprint(
    p7s: &[u8],
    signer: usize,
    detached: Option<&[u8]>,
) -> Result<(Vec<u8>, Vec<u8>), String> {
    let p = parts(p7s, signer)?;
    let content = match (&p.econtent, detached) {
        (Some(c), _) => c.clone(),
        (None, Some(d)) => d.to_vec(),
        (None, None) => return Err("the signature is detached: the content is needed".into()),
    };
    let index = hash_index(&p);
    Ok((
        imprint(&p, &content, &aws_lc_rs::digest::SHA256, &index),
        index,
    ))
}

/// Checks an archive-time-stamp-v3 token against the signature as it is now: its
/// ats-hash-index-v3 may only list what is still there (later additions are allowed), and its
/// imprint must be the hash over the covered parts. Returns the token for the caller to verify
/// as a time-stamp (signature, TSA path) with the imprint already checked.
pub fn check_archive_timestamp(
    p7s: &[u8],
    signer: usize,
    detached: Option<&[u8]>,
    token: &[u8],
) -> Result<(), String> {
    let e = |e: cms_read::CmsError| e.to_string();
    let p = parts(p7s, signer)?;
    let content = match (&p.econtent, detached) {
        (Some(c), _) => c.clone(),
        (None, Some(d)) => d.to_vec(),
        (None, None) => return Err("the signature is detached: the content is needed".into()),
    };
    let tsd = cms_read::parse_signed_data(token).map_err(e)?;
    let tsi = tsd.signers.first().ok_or("the time-stamp has no signer")?;
    let index_der = *tsi
        .unsigned(ID_AA_ATS_HASH_INDEX_V3)
        .first()
        .ok_or("the archive time-stamp has no ats-hash-index-v3")?;
    // The index's hash algorithm (default SHA-256) and its three lists.
    let idx = cms_read::read(index_der).map_err(e)?;
    let kids = idx.children().map_err(e)?;
    let (alg, lists) = match &kids[..] {
        [a, rest @ ..]
            if a.tag == 0x30
                && rest.len() == 3
                && a.children()
                    .map(|c| c.first().map(|x| x.tag) == Some(0x06))
                    .unwrap_or(false) =>
        {
            let oid = a.algorithm().map_err(e)?.oid;
            (
                crate::validate::digest_alg(&oid, tamga_pki::AlgorithmPolicy::Strict)?,
                rest.to_vec(),
            )
        }
        [_, _, _] => (&aws_lc_rs::digest::SHA256, kids.clone()),
        _ => return Err("malformed ats-hash-index-v3".into()),
    };
    let h = |d: &[u8]| aws_lc_rs::digest::digest(alg, d).as_ref().to_vec();
    let present: [Vec<Vec<u8>>; 3] = [
        p.certificates.iter().map(|c| h(c)).collect(),
        p.crls.iter().map(|c| h(c)).collect(),
        p.unsigned_values
            .iter()
            .map(|(t, v)| {
                let mut d = t.to_vec();
                d.extend_from_slice(v);
                h(&d)
            })
            .collect(),
    ];
    for (list, have) in lists.iter().zip(present.iter()) {
        for item in list.children().map_err(e)? {
            if !have.iter().any(|x| x.as_slice() == item.content) {
                return Err(
                    "the signature lost or changed an element the archive time-stamp covers".into(),
                );
            }
        }
    }
    let tst = tsd.econtent.as_deref().ok_or("no TSTInfo")?;
    let t = cms_read::read(tst).map_err(e)?;
    let f = t.children().map_err(e)?;
    let mi = f
        .get(2)
        .ok_or("TSTInfo without messageImprint")?
        .children()
        .map_err(e)?;
    let [ialg, ival, ..] = &mi[..] else {
        return Err("malformed messageImprint".into());
    };
    let d = crate::validate::digest_alg(
        &ialg.algorithm().map_err(e)?.oid,
        tamga_pki::AlgorithmPolicy::Strict,
    )?;
    if imprint(&p, &content, d, index_der) != ival.content {
        return Err("the archive time-stamp covers other data (imprint mismatch)".into());
    }
    Ok(())
}
