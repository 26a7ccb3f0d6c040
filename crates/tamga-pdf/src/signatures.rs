//! Signature fields and their values (ISO 32000-1 §12.7.4.5, §12.8.1; ISO 32000-2 §12.8.5
//! document time-stamps), and the coverage of each `/ByteRange`.

use std::collections::HashSet;

use crate::object::{Dict, ObjRef, Object};
use crate::{Document, PdfError};

/// A signature or a document time-stamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigKind {
    /// `/Type /Sig` (or no type) with a CMS signature.
    Signature,
    /// `/SubFilter /ETSI.RFC3161`: an RFC 3161 token over the byte range.
    DocTimeStamp,
}

/// What a `/ByteRange` covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Coverage {
    /// The whole file as it is.
    EntireFile,
    /// A whole earlier revision; later revisions follow.
    EntireRevision(usize),
    /// Not a well-formed coverage (the reason).
    Anomaly(String),
}

/// A filled signature field.
#[derive(Debug, Clone)]
pub struct SignatureField {
    /// Fully qualified field name.
    pub name: String,
    /// The field (or merged field/widget) object.
    pub field_ref: Option<ObjRef>,
    /// The signature dictionary.
    pub value_ref: Option<ObjRef>,
    /// The signature dictionary itself.
    pub value: Dict,
    /// Signature or document time-stamp.
    pub kind: SigKind,
    /// `/SubFilter`.
    pub sub_filter: String,
    /// `/ByteRange` as written.
    pub byte_range: Vec<i64>,
    /// `/Contents` (the CMS or the token, with its zero padding).
    pub contents: Vec<u8>,
    /// Coverage of the byte range.
    pub coverage: Coverage,
    /// The DocMDP permission (1–3) when this is a certification signature.
    pub docmdp: Option<u8>,
}

impl SignatureField {
    /// The signed bytes (the byte range's two parts, concatenated) out of `file`.
    pub fn signed_bytes<'a>(&self, file: &'a [u8]) -> Option<[&'a [u8]; 2]> {
        let [a, b, c, d] = self.byte_range[..] else {
            return None;
        };
        let r = |s: i64, l: i64| {
            let s = usize::try_from(s).ok()?;
            let e = s.checked_add(usize::try_from(l).ok()?)?;
            file.get(s..e)
        };
        Some([r(a, b)?, r(c, d)?])
    }

    /// The revision the signature covers, if the coverage is well formed.
    pub fn signed_revision(&self, doc: &Document) -> Option<usize> {
        match self.coverage {
            Coverage::EntireFile => Some(doc.last_revision()),
            Coverage::EntireRevision(r) => Some(r),
            Coverage::Anomaly(_) => None,
        }
    }

    /// `/M` (the claimed signing time, a PDF date string), when present.
    pub fn claimed_time(&self) -> Option<String> {
        self.value
            .get(b"M")
            .and_then(Object::as_string)
            .map(|s| String::from_utf8_lossy(s).into_owned())
    }

    /// A text entry (`/Reason`, `/Location`, `/Name`, `/ContactInfo`).
    pub fn text(&self, key: &[u8]) -> Option<String> {
        self.value
            .get(key)
            .and_then(Object::as_string)
            .map(text_string)
    }
}

/// A PDF text string (§7.9.2.2): UTF-16BE with BOM, UTF-8 with BOM, or PDFDocEncoding (read
/// as Latin-1, which agrees on the printable range).
pub fn text_string(s: &[u8]) -> String {
    if let Some(rest) = s.strip_prefix(&[0xfe, 0xff]) {
        let units: Vec<u16> = rest
            .chunks(2)
            .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
            .collect();
        return String::from_utf16_lossy(&units);
    }
    if let Some(rest) = s.strip_prefix(&[0xef, 0xbb, 0xbf]) {
        return String::from_utf8_lossy(rest).into_owned();
    }
    s.iter().map(|&b| b as char).collect()
}

/// A PDF text string for `s`: plain ASCII as is, anything else UTF-16BE with a BOM.
pub fn encode_text(s: &str) -> Vec<u8> {
    if s.is_ascii() {
        return s.as_bytes().to_vec();
    }
    let mut out = vec![0xfe, 0xff];
    for u in s.encode_utf16() {
        out.extend_from_slice(&u.to_be_bytes());
    }
    out
}

/// Every filled signature field of the latest revision, in the order their byte ranges end
/// (the order they were signed).
pub fn signatures(doc: &Document) -> Result<Vec<SignatureField>, PdfError> {
    let rev = doc.last_revision();
    let root = doc.get_at(doc.root_ref(rev)?, rev)?;
    let root = root
        .as_dict()
        .ok_or_else(|| PdfError::Structure("the catalog is not a dictionary".into()))?;
    let Some(acro) = root.get(b"AcroForm") else {
        return Ok(vec![]);
    };
    let acro = doc.resolve_at(acro, rev)?;
    let fields = match acro.as_dict().and_then(|d| d.get(b"Fields")) {
        Some(f) => doc.resolve_at(f, rev)?,
        None => return Ok(vec![]),
    };
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for f in fields.as_array().unwrap_or(&[]) {
        walk(doc, rev, f, "", None, 0, &mut seen, &mut out)?;
    }
    out.sort_by_key(|s| {
        s.byte_range.get(2).copied().unwrap_or(0) + s.byte_range.get(3).copied().unwrap_or(0)
    });
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn walk(
    doc: &Document,
    rev: usize,
    node: &Object,
    parent_name: &str,
    inherited_ft: Option<Vec<u8>>,
    depth: usize,
    seen: &mut HashSet<u32>,
    out: &mut Vec<SignatureField>,
) -> Result<(), PdfError> {
    if depth > 32 {
        return Err(PdfError::Structure("form fields nested too deeply".into()));
    }
    let field_ref = node.as_ref();
    if let Some(r) = field_ref
        && !seen.insert(r.num)
    {
        return Ok(());
    }
    let obj = doc.resolve_at(node, rev)?;
    let Some(d) = obj.as_dict() else {
        return Ok(());
    };
    let partial = d.get(b"T").and_then(Object::as_string).map(text_string);
    let name = match (&partial, parent_name.is_empty()) {
        (Some(p), true) => p.clone(),
        (Some(p), false) => format!("{parent_name}.{p}"),
        (None, _) => parent_name.to_string(),
    };
    let ft = d.name(b"FT").map(<[u8]>::to_vec).or(inherited_ft);
    if let Some(kids) = d.get(b"Kids") {
        let kids = doc.resolve_at(kids, rev)?;
        for k in kids.as_array().unwrap_or(&[]) {
            walk(doc, rev, k, &name, ft.clone(), depth + 1, seen, out)?;
        }
    }
    if ft.as_deref() != Some(b"Sig") {
        return Ok(());
    }
    let Some(v) = d.get(b"V") else { return Ok(()) };
    let value_ref = v.as_ref();
    let value = doc.resolve_at(v, rev)?;
    let Some(value) = value.as_dict().cloned() else {
        return Ok(());
    };
    let sub_filter = value
        .name(b"SubFilter")
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .unwrap_or_default();
    let kind = if value.name(b"Type") == Some(b"DocTimeStamp") || sub_filter == "ETSI.RFC3161" {
        SigKind::DocTimeStamp
    } else {
        SigKind::Signature
    };
    let byte_range: Vec<i64> = match value.get(b"ByteRange") {
        Some(br) => doc
            .resolve_at(br, rev)?
            .as_array()
            .unwrap_or(&[])
            .iter()
            .map(|x| x.as_int().unwrap_or(-1))
            .collect(),
        None => vec![],
    };
    let contents = value
        .get(b"Contents")
        .and_then(Object::as_string)
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    let docmdp = value
        .get(b"Reference")
        .and_then(Object::as_array)
        .and_then(|refs| {
            refs.iter().find_map(|r| {
                let r = doc.resolve_at(r, rev).ok()?;
                let r = r.as_dict()?;
                if r.name(b"TransformMethod") != Some(b"DocMDP") {
                    return None;
                }
                let p = r
                    .get(b"TransformParams")
                    .and_then(|t| doc.resolve_at(t, rev).ok())
                    .and_then(|t| t.as_dict().and_then(|t| t.int(b"P")))
                    .unwrap_or(2);
                u8::try_from(p.clamp(1, 3)).ok()
            })
        });
    let coverage = coverage(doc, &byte_range, &contents);
    out.push(SignatureField {
        name,
        field_ref,
        value_ref,
        value,
        kind,
        sub_filter,
        byte_range,
        contents,
        coverage,
        docmdp,
    });
    Ok(())
}

fn coverage(doc: &Document, br: &[i64], contents: &[u8]) -> Coverage {
    let bytes = doc.bytes();
    let [a, b, c, d] = br[..] else {
        return Coverage::Anomaly(format!(
            "/ByteRange has {} numbers; a signature's has 4 (two ranges)",
            br.len()
        ));
    };
    let (Ok(a), Ok(b), Ok(c), Ok(d)) = (
        usize::try_from(a),
        usize::try_from(b),
        usize::try_from(c),
        usize::try_from(d),
    ) else {
        return Coverage::Anomaly("/ByteRange has a negative number".into());
    };
    if a != 0 {
        return Coverage::Anomaly("/ByteRange does not start at byte 0".into());
    }
    let Some(end) = c.checked_add(d).filter(|&e| e <= bytes.len() && b < c) else {
        return Coverage::Anomaly("/ByteRange lies outside the file or overlaps itself".into());
    };
    // The gap must be exactly the /Contents hex string, nothing else unsigned.
    let gap = &bytes[b..c];
    let ok_gap = gap.len() >= 2
        && gap.first() == Some(&b'<')
        && gap.last() == Some(&b'>')
        && (gap.len() - 2) == contents.len() * 2
        && hex_eq(&gap[1..gap.len() - 1], contents);
    if !ok_gap {
        return Coverage::Anomaly(
            "the unsigned gap in /ByteRange is not exactly the /Contents value".into(),
        );
    }
    for (i, r) in doc.revisions.iter().enumerate() {
        if end >= r.end && end <= r.end_with_eol {
            return if i == doc.last_revision() && end == bytes.len() {
                Coverage::EntireFile
            } else if i == doc.last_revision() {
                Coverage::Anomaly(format!(
                    "the last {} bytes of the file are not covered",
                    bytes.len() - end
                ))
            } else {
                Coverage::EntireRevision(i)
            };
        }
    }
    Coverage::Anomaly(format!(
        "/ByteRange ends at byte {end}, which is not the end of any revision"
    ))
}

/// Whether `hex` is exactly the hex encoding of `bytes` (digits only, no whitespace).
fn hex_eq(hex: &[u8], bytes: &[u8]) -> bool {
    use crate::parse::HEX;
    hex.len() == bytes.len() * 2
        && hex.chunks_exact(2).zip(bytes).all(|(h, &b)| {
            let (hi, lo) = (HEX[h[0] as usize], HEX[h[1] as usize]);
            hi != 0xff && lo != 0xff && (hi << 4 | lo) == b
        })
}
