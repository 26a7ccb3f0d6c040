//! Reading CMS SignedData (RFC 5652 §5) as it is found in the wild: BER (indefinite lengths,
//! constructed OCTET STRINGs), SET OF in any order, certificates listed twice. Nothing is
//! re-encoded: the signed attributes are verified over their bytes as received (§5.4), which
//! strict DER decoders that re-sort or reject such input cannot do.

use const_oid::ObjectIdentifier;
use der::Decode;
use spki::AlgorithmIdentifierOwned;

/// Why a CMS structure could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed CMS at byte {offset}: {what}")]
pub struct CmsError {
    /// Where.
    pub offset: usize,
    /// What is wrong.
    pub what: String,
}

const MAX_DEPTH: usize = 48;

/// One BER element.
#[derive(Debug, Clone, Copy)]
pub struct Tlv<'a> {
    /// The identifier octet (low-tag-number form).
    pub tag: u8,
    /// The content octets (for indefinite lengths: up to, not including, the end-of-contents).
    pub content: &'a [u8],
    /// The whole element, header included.
    pub raw: &'a [u8],
    /// Offset of the element in the outermost input.
    pub offset: usize,
}

impl<'a> Tlv<'a> {
    fn constructed(&self) -> bool {
        self.tag & 0x20 != 0
    }

    /// The children of a constructed element.
    pub fn children(&self) -> Result<Vec<Tlv<'a>>, CmsError> {
        let mut out = Vec::new();
        let mut pos = 0;
        while pos < self.content.len() {
            let t = read_at(
                self.content,
                pos,
                self.offset + (self.raw.len() - self.content.len()),
                0,
            )?;
            pos += t.raw.len();
            out.push(t);
        }
        Ok(out)
    }

    /// An OCTET STRING's bytes, primitive or constructed (BER).
    pub fn octets(&self) -> Result<Vec<u8>, CmsError> {
        self.octets_depth(0)
    }

    fn octets_depth(&self, depth: usize) -> Result<Vec<u8>, CmsError> {
        if depth > MAX_DEPTH {
            return Err(self.err("OCTET STRING nested too deeply"));
        }
        if !self.constructed() {
            return Ok(self.content.to_vec());
        }
        let mut out = Vec::new();
        for c in self.children()? {
            out.extend(c.octets_depth(depth + 1)?);
        }
        Ok(out)
    }

    fn err(&self, what: &str) -> CmsError {
        CmsError {
            offset: self.offset,
            what: what.into(),
        }
    }

    /// An OBJECT IDENTIFIER.
    pub fn oid(&self) -> Result<ObjectIdentifier, CmsError> {
        if self.tag != 0x06 {
            return Err(self.err("expected an OBJECT IDENTIFIER"));
        }
        ObjectIdentifier::from_bytes(self.content).map_err(|e| self.err(&e.to_string()))
    }

    /// A DER AlgorithmIdentifier.
    pub fn algorithm(&self) -> Result<AlgorithmIdentifierOwned, CmsError> {
        AlgorithmIdentifierOwned::from_der(self.raw).map_err(|e| self.err(&e.to_string()))
    }
}

fn read_at<'a>(data: &'a [u8], pos: usize, base: usize, depth: usize) -> Result<Tlv<'a>, CmsError> {
    let err = |what: &str| CmsError {
        offset: base + pos,
        what: what.into(),
    };
    if depth > MAX_DEPTH {
        return Err(err("nested too deeply"));
    }
    let tag = *data.get(pos).ok_or_else(|| err("truncated (no tag)"))?;
    if tag & 0x1f == 0x1f {
        return Err(err("high-tag-number form is not used by CMS"));
    }
    let l0 = *data
        .get(pos + 1)
        .ok_or_else(|| err("truncated (no length)"))?;
    let mut hdr = 2;
    let len: Option<usize> = if l0 < 0x80 {
        Some(l0 as usize)
    } else if l0 == 0x80 {
        if tag & 0x20 == 0 {
            return Err(err("indefinite length on a primitive element"));
        }
        None
    } else {
        let n = (l0 & 0x7f) as usize;
        if n > 4 {
            return Err(err("length too large"));
        }
        let bytes = data
            .get(pos + 2..pos + 2 + n)
            .ok_or_else(|| err("truncated length"))?;
        hdr += n;
        Some(bytes.iter().fold(0usize, |a, &b| (a << 8) | b as usize))
    };
    let start = pos + hdr;
    match len {
        Some(len) => {
            let end = start
                .checked_add(len)
                .filter(|&e| e <= data.len())
                .ok_or_else(|| err("element runs past the end of its container (truncated?)"))?;
            Ok(Tlv {
                tag,
                content: &data[start..end],
                raw: &data[pos..end],
                offset: base + pos,
            })
        }
        None => {
            // Indefinite: children until the end-of-contents octets 00 00.
            let mut p = start;
            loop {
                match data.get(p..p + 2) {
                    Some([0, 0]) => break,
                    Some(_) => p += read_at(data, p, base, depth + 1)?.raw.len(),
                    None => return Err(err("indefinite length without end-of-contents")),
                }
            }
            Ok(Tlv {
                tag,
                content: &data[start..p],
                raw: &data[pos..p + 2],
                offset: base + pos,
            })
        }
    }
}

/// Reads one element at the start of `data` (trailing bytes, e.g. PDF zero padding, ignored).
pub fn read(data: &[u8]) -> Result<Tlv<'_>, CmsError> {
    read_at(data, 0, 0, 0)
}

/// An attribute: type and the raw DER of each value.
#[derive(Debug, Clone)]
pub struct Attr {
    /// Attribute type.
    pub oid: ObjectIdentifier,
    /// Each value's encoding.
    pub values: Vec<Vec<u8>>,
}

/// How a SignerInfo names its certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sid {
    /// issuerAndSerialNumber: the issuer Name's DER and the serial's content octets.
    IssuerSerial(Vec<u8>, Vec<u8>),
    /// subjectKeyIdentifier.
    Ski(Vec<u8>),
}

/// One SignerInfo.
#[derive(Debug, Clone)]
pub struct SignerInfoView {
    /// Who.
    pub sid: Sid,
    /// digestAlgorithm.
    pub digest_alg: AlgorithmIdentifierOwned,
    /// The signed attributes re-tagged as SET OF (0x31): the bytes the signature covers.
    pub signed_attrs_der: Option<Vec<u8>>,
    /// The signed attributes.
    pub signed_attrs: Vec<Attr>,
    /// signatureAlgorithm.
    pub signature_alg: AlgorithmIdentifierOwned,
    /// The signature value.
    pub signature: Vec<u8>,
    /// The unsigned attributes.
    pub unsigned_attrs: Vec<Attr>,
}

impl SignerInfoView {
    /// The values of signed attribute `oid`.
    pub fn signed(&self, oid: ObjectIdentifier) -> Vec<&[u8]> {
        attr_values(&self.signed_attrs, oid)
    }

    /// The values of unsigned attribute `oid`.
    pub fn unsigned(&self, oid: ObjectIdentifier) -> Vec<&[u8]> {
        attr_values(&self.unsigned_attrs, oid)
    }
}

fn attr_values(attrs: &[Attr], oid: ObjectIdentifier) -> Vec<&[u8]> {
    attrs
        .iter()
        .filter(|a| a.oid == oid)
        .flat_map(|a| a.values.iter().map(Vec::as_slice))
        .collect()
}

/// A SignedData.
#[derive(Debug, Clone)]
pub struct SignedDataView {
    /// eContentType.
    pub econtent_type: ObjectIdentifier,
    /// eContent, when encapsulated.
    pub econtent: Option<Vec<u8>>,
    /// Certificates (DER), as listed.
    pub certificates: Vec<Vec<u8>>,
    /// CRLs (DER).
    pub crls: Vec<Vec<u8>>,
    /// OCSP responses carried as RevocationInfoChoice other (RFC 5940).
    pub ocsp: Vec<Vec<u8>>,
    /// The signers.
    pub signers: Vec<SignerInfoView>,
}

/// id-signedData.
pub const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
/// id-ri-ocsp-response (RFC 5940).
pub const ID_RI_OCSP_RESPONSE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.16.2");

/// Parses a ContentInfo holding SignedData.
pub fn parse_signed_data(data: &[u8]) -> Result<SignedDataView, CmsError> {
    let ci = read(data)?;
    let bad = |t: &Tlv<'_>, what: &str| CmsError {
        offset: t.offset,
        what: what.into(),
    };
    if ci.tag != 0x30 {
        return Err(bad(&ci, "ContentInfo is not a SEQUENCE"));
    }
    let parts = ci.children()?;
    let [ct, content, ..] = &parts[..] else {
        return Err(bad(&ci, "ContentInfo needs contentType and content"));
    };
    if ct.oid()? != ID_SIGNED_DATA {
        return Err(bad(ct, "content type is not signedData"));
    }
    if content.tag != 0xa0 {
        return Err(bad(content, "content is not [0] EXPLICIT"));
    }
    let sd = content
        .children()?
        .into_iter()
        .next()
        .ok_or_else(|| bad(content, "empty content"))?;
    let fields = sd.children()?;
    let mut it = fields.iter().peekable();
    let version = it.next().ok_or_else(|| bad(&sd, "no version"))?;
    if version.tag != 0x02 {
        return Err(bad(version, "version is not an INTEGER"));
    }
    let digests = it.next().ok_or_else(|| bad(&sd, "no digestAlgorithms"))?;
    if digests.tag != 0x31 {
        return Err(bad(digests, "digestAlgorithms is not a SET"));
    }
    let eci = it.next().ok_or_else(|| bad(&sd, "no encapContentInfo"))?;
    let eci_parts = eci.children()?;
    let econtent_type = eci_parts
        .first()
        .ok_or_else(|| bad(eci, "no eContentType"))?
        .oid()?;
    let econtent = match eci_parts.get(1) {
        Some(t) if t.tag == 0xa0 => Some(
            t.children()?
                .first()
                .ok_or_else(|| bad(t, "empty eContent"))?
                .octets()?,
        ),
        Some(t) => return Err(bad(t, "eContent is not [0] EXPLICIT")),
        None => None,
    };
    let mut certificates = Vec::new();
    let mut crls = Vec::new();
    let mut ocsp = Vec::new();
    if let Some(t) = it.peek()
        && t.tag == 0xa0
    {
        for c in t.children()? {
            // Only plain certificates (SEQUENCE); attribute certificates and others skipped.
            if c.tag == 0x30 {
                certificates.push(c.raw.to_vec());
            }
        }
        it.next();
    }
    if let Some(t) = it.peek()
        && t.tag == 0xa1
    {
        for c in t.children()? {
            match c.tag {
                0x30 => crls.push(c.raw.to_vec()),
                // [1] OtherRevocationInfoFormat { format OID, info }.
                0xa1 => {
                    let kids = c.children()?;
                    if let [fmt, info, ..] = &kids[..]
                        && fmt.oid()? == ID_RI_OCSP_RESPONSE
                    {
                        ocsp.push(info.raw.to_vec());
                    }
                }
                _ => {}
            }
        }
        it.next();
    }
    let sis = it.next().ok_or_else(|| bad(&sd, "no signerInfos"))?;
    if sis.tag != 0x31 {
        return Err(bad(sis, "signerInfos is not a SET"));
    }
    let mut signers = Vec::new();
    for si in sis.children()? {
        signers.push(parse_signer_info(&si)?);
    }
    Ok(SignedDataView {
        econtent_type,
        econtent,
        certificates,
        crls,
        ocsp,
        signers,
    })
}

/// Parses one SignerInfo (also used for countersignatures, RFC 5652 §11.4).
pub fn parse_signer_info(si: &Tlv<'_>) -> Result<SignerInfoView, CmsError> {
    let bad = |t: &Tlv<'_>, what: &str| CmsError {
        offset: t.offset,
        what: what.into(),
    };
    let f = si.children()?;
    let mut it = f.iter().peekable();
    let _version = it.next().ok_or_else(|| bad(si, "no version"))?;
    let sid_t = it.next().ok_or_else(|| bad(si, "no sid"))?;
    let sid = match sid_t.tag {
        0x30 => {
            let k = sid_t.children()?;
            let [issuer, serial, ..] = &k[..] else {
                return Err(bad(sid_t, "issuerAndSerialNumber incomplete"));
            };
            Sid::IssuerSerial(issuer.raw.to_vec(), serial.content.to_vec())
        }
        0x80 => Sid::Ski(sid_t.content.to_vec()),
        _ => return Err(bad(sid_t, "unknown SignerIdentifier")),
    };
    let digest_alg = it
        .next()
        .ok_or_else(|| bad(si, "no digestAlgorithm"))?
        .algorithm()?;
    let mut signed_attrs_der = None;
    let mut signed_attrs = Vec::new();
    if let Some(t) = it.peek()
        && t.tag == 0xa0
    {
        let mut der = t.raw.to_vec();
        der[0] = 0x31;
        signed_attrs_der = Some(der);
        signed_attrs = attrs(t)?;
        it.next();
    }
    let signature_alg = it
        .next()
        .ok_or_else(|| bad(si, "no signatureAlgorithm"))?
        .algorithm()?;
    let sig = it.next().ok_or_else(|| bad(si, "no signature"))?;
    if sig.tag != 0x04 && sig.tag != 0x24 {
        return Err(bad(sig, "signature is not an OCTET STRING"));
    }
    let signature = sig.octets()?;
    let unsigned_attrs = match it.next() {
        Some(t) if t.tag == 0xa1 => attrs(t)?,
        _ => vec![],
    };
    Ok(SignerInfoView {
        sid,
        digest_alg,
        signed_attrs_der,
        signed_attrs,
        signature_alg,
        signature,
        unsigned_attrs,
    })
}

fn attrs(set: &Tlv<'_>) -> Result<Vec<Attr>, CmsError> {
    let mut out = Vec::new();
    for a in set.children()? {
        let k = a.children()?;
        let [oid, values, ..] = &k[..] else {
            return Err(CmsError {
                offset: a.offset,
                what: "attribute without values".into(),
            });
        };
        out.push(Attr {
            oid: oid.oid()?,
            values: values.children()?.iter().map(|v| v.raw.to_vec()).collect(),
        });
    }
    Ok(out)
}
