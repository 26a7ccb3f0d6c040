//! A PDF file as a sequence of revisions (ISO 32000-1 §7.5.6 incremental updates): each
//! cross-reference section (table §7.5.4 or stream §7.5.8, hybrid files included) and the
//! `%%EOF` that ends it, so that a signature can be matched to the revision it covers and every
//! later change examined. Objects are read on demand, including those in object streams
//! (§7.5.7).

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::PdfError;
use crate::object::{Dict, ObjRef, Object};
use crate::parse::{Parser, find, rfind};

/// Most revisions a file may have.
const MAX_REVISIONS: usize = 4096;
/// Most bytes a decoded stream may have.
pub const MAX_DECODED: usize = 256 * 1024 * 1024;

/// Where an object lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XrefEntry {
    /// Free (deleted).
    Free,
    /// At a byte offset.
    Offset(usize, u16),
    /// Inside an object stream: (stream object number, index).
    Compressed(u32, u32),
}

/// One revision: the objects its cross-reference section(s) list and its trailer.
#[derive(Debug, Clone)]
pub struct Revision {
    /// Offset of its (newest) cross-reference section.
    pub xref_offset: usize,
    /// End of the revision: just after `%%EOF`.
    pub end: usize,
    /// End including the end-of-line after `%%EOF`.
    pub end_with_eol: usize,
    /// Objects written in this revision.
    pub entries: HashMap<u32, XrefEntry>,
    /// Its trailer dictionary (for xref streams: the stream dictionary).
    pub trailer: Dict,
    /// Whether it used a cross-reference stream.
    pub xref_stream: bool,
}

/// A parsed PDF file, borrowing the bytes when given a slice (validation never copies them).
pub struct Document<'a> {
    bytes: Cow<'a, [u8]>,
    /// Oldest first.
    pub revisions: Vec<Revision>,
    objstm_cache: RefCell<HashMap<u32, Rc<ObjStm>>>,
}

struct ObjStm {
    data: Vec<u8>,
    offsets: Vec<(u32, usize)>,
}

impl std::fmt::Debug for Document<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Document")
            .field("len", &self.bytes.len())
            .field("revisions", &self.revisions.len())
            .finish()
    }
}

impl<'a> Document<'a> {
    /// Parses the file's structure (header, cross-reference chain); objects are read lazily.
    pub fn parse(bytes: impl Into<Cow<'a, [u8]>>) -> Result<Self, PdfError> {
        let bytes: Cow<'a, [u8]> = bytes.into();
        if find(&bytes[..bytes.len().min(1024)], b"%PDF-").is_none() {
            return Err(PdfError::NotPdf);
        }
        let tail_start = bytes.len().saturating_sub(2048);
        let sx = rfind(&bytes[tail_start..], b"startxref")
            .map(|p| p + tail_start)
            .ok_or(PdfError::NoStartXref)?;
        let mut p = Parser::new(&bytes, sx + 9);
        let mut offset = usize::try_from(p.uint()?).map_err(|_| PdfError::BadXref {
            offset: sx,
            what: "startxref offset too large".into(),
        })?;
        // Newest first while walking /Prev.
        let mut chain: Vec<Revision> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        loop {
            if !seen.insert(offset) {
                return Err(PdfError::BadXref {
                    offset,
                    what: "the /Prev chain loops".into(),
                });
            }
            if chain.len() >= MAX_REVISIONS {
                return Err(PdfError::TooLarge("revisions"));
            }
            let mut rev = read_section(&bytes, offset)?;
            // Hybrid files: the table's objects plus those of the stream it points to.
            if let Some(stm) = rev.trailer.int(b"XRefStm")
                && let Ok(stm) = usize::try_from(stm)
                && let Ok(extra) = read_section(&bytes, stm)
            {
                for (k, v) in extra.entries {
                    rev.entries.entry(k).or_insert(v);
                }
            }
            let prev = rev.trailer.int(b"Prev");
            chain.push(rev);
            match prev {
                Some(prev) => {
                    offset = usize::try_from(prev).map_err(|_| PdfError::BadXref {
                        offset,
                        what: "negative /Prev".into(),
                    })?
                }
                None => break,
            }
        }
        // A revision ends at the first %%EOF after its xref section; a section whose end is
        // not before the newer one's (linearized files) belongs to the same revision.
        let mut revisions: Vec<Revision> = Vec::new();
        for mut rev in chain.into_iter() {
            let (end, end_eol) = eof_after(&bytes, rev.xref_offset);
            rev.end = end;
            rev.end_with_eol = end_eol;
            match revisions.last_mut() {
                Some(newer) if rev.end >= newer.end => {
                    for (k, v) in rev.entries {
                        newer.entries.entry(k).or_insert(v);
                    }
                    newer.end = newer.end.max(rev.end);
                    newer.end_with_eol = newer.end_with_eol.max(rev.end_with_eol);
                }
                _ => revisions.push(rev),
            }
        }
        revisions.reverse();
        Ok(Document {
            bytes,
            revisions,
            objstm_cache: RefCell::new(HashMap::new()),
        })
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The latest revision's index.
    pub fn last_revision(&self) -> usize {
        self.revisions.len().saturating_sub(1)
    }

    /// The trailer as of revision `rev` (newest trailer wins; keys fall back to older ones).
    pub fn trailer_value(&self, rev: usize, key: &[u8]) -> Option<&Object> {
        self.revisions[..=rev.min(self.last_revision())]
            .iter()
            .rev()
            .find_map(|r| r.trailer.get(key))
    }

    /// The catalog's reference as of revision `rev`.
    pub fn root_ref(&self, rev: usize) -> Result<ObjRef, PdfError> {
        self.trailer_value(rev, b"Root")
            .and_then(Object::as_ref)
            .ok_or(PdfError::Structure("the trailer has no /Root".into()))
    }

    /// Where object `num` is as of revision `rev`.
    pub fn entry(&self, num: u32, rev: usize) -> Option<XrefEntry> {
        self.revisions[..=rev.min(self.last_revision())]
            .iter()
            .rev()
            .find_map(|r| r.entries.get(&num).copied())
    }

    /// The highest object number in use plus one (`/Size`).
    pub fn size(&self) -> u32 {
        let declared = self
            .trailer_value(self.last_revision(), b"Size")
            .and_then(Object::as_int)
            .and_then(|s| u32::try_from(s).ok())
            .unwrap_or(0);
        let max = self
            .revisions
            .iter()
            .flat_map(|r| r.entries.keys())
            .max()
            .map_or(0, |m| m + 1);
        declared.max(max)
    }

    /// Object `r` as of revision `rev`; a missing or free object is `null` (§7.3.10).
    pub fn get_at(&self, r: ObjRef, rev: usize) -> Result<Object, PdfError> {
        match self.entry(r.num, rev) {
            None | Some(XrefEntry::Free) => Ok(Object::Null),
            Some(XrefEntry::Offset(off, _)) => {
                let mut p = Parser::new(&self.bytes, off);
                let (got, obj) = p.indirect(&|o| self.length_of(o, rev))?;
                if got.num != r.num {
                    return Err(PdfError::BadXref {
                        offset: off,
                        what: format!("xref says object {} but found {}", r.num, got.num),
                    });
                }
                Ok(obj)
            }
            Some(XrefEntry::Compressed(stm, idx)) => {
                let os = self.objstm(stm, rev)?;
                let (num, off) = *os.offsets.get(idx as usize).ok_or_else(|| {
                    PdfError::Structure(format!("object stream {stm} has no index {idx}"))
                })?;
                if num != r.num {
                    return Err(PdfError::Structure(format!(
                        "object stream {stm} index {idx} holds {num}, not {}",
                        r.num
                    )));
                }
                let mut p = Parser::new(&os.data, off);
                p.object(0)
            }
        }
    }

    /// Object `r` in the latest revision.
    pub fn get(&self, r: ObjRef) -> Result<Object, PdfError> {
        self.get_at(r, self.last_revision())
    }

    /// Follows a reference (as of `rev`); direct objects are returned as they are.
    pub fn resolve_at(&self, o: &Object, rev: usize) -> Result<Object, PdfError> {
        let mut o = o.clone();
        for _ in 0..32 {
            match o {
                Object::Ref(r) => o = self.get_at(r, rev)?,
                other => return Ok(other),
            }
        }
        Err(PdfError::Structure("reference chain too long".into()))
    }

    fn length_of(&self, o: &Object, rev: usize) -> Option<usize> {
        match o {
            Object::Int(i) => usize::try_from(*i).ok(),
            Object::Ref(r) => match self.entry(r.num, rev) {
                // Only plain objects: a length inside an object stream is still cheap, but a
                // length that is itself a stream would recurse.
                Some(XrefEntry::Offset(off, _)) => {
                    let mut p = Parser::new(&self.bytes, off);
                    match p.indirect(&|_| None) {
                        Ok((_, Object::Int(i))) => usize::try_from(i).ok(),
                        _ => None,
                    }
                }
                Some(XrefEntry::Compressed(..)) => self
                    .get_at(*r, rev)
                    .ok()
                    .and_then(|o| o.as_int())
                    .and_then(|i| usize::try_from(i).ok()),
                _ => None,
            },
            _ => None,
        }
    }

    fn objstm(&self, num: u32, rev: usize) -> Result<Rc<ObjStm>, PdfError> {
        if let Some(s) = self.objstm_cache.borrow().get(&num) {
            return Ok(s.clone());
        }
        let Some(XrefEntry::Offset(off, _)) = self.entry(num, rev) else {
            return Err(PdfError::Structure(format!(
                "object stream {num} is not a plain object"
            )));
        };
        let mut p = Parser::new(&self.bytes, off);
        let (_, obj) = p.indirect(&|o| self.length_of(o, rev))?;
        let Object::Stream(s) = obj else {
            return Err(PdfError::Structure(format!("object {num} is not a stream")));
        };
        let data = crate::filter::decode(&s)?;
        let n = s.dict.int(b"N").unwrap_or(0).clamp(0, 1_000_000) as usize;
        let first = usize::try_from(s.dict.int(b"First").unwrap_or(0)).unwrap_or(0);
        let mut hp = Parser::new(&data, 0);
        let mut offsets = Vec::with_capacity(n.min(100_000));
        for _ in 0..n {
            let objnum = u32::try_from(hp.uint()?).map_err(|_| {
                PdfError::Structure(format!("object stream {num}: bad object number"))
            })?;
            let rel = usize::try_from(hp.uint()?)
                .map_err(|_| PdfError::Structure(format!("object stream {num}: bad offset")))?;
            let abs = first.saturating_add(rel);
            if abs > data.len() {
                return Err(PdfError::Structure(format!(
                    "object stream {num}: offset beyond its data"
                )));
            }
            offsets.push((objnum, abs));
        }
        let os = Rc::new(ObjStm { data, offsets });
        self.objstm_cache.borrow_mut().insert(num, os.clone());
        Ok(os)
    }
}

fn eof_after(bytes: &[u8], from: usize) -> (usize, usize) {
    match find(&bytes[from.min(bytes.len())..], b"%%EOF") {
        Some(p) => {
            let end = from + p + 5;
            let mut e2 = end;
            if bytes.get(e2) == Some(&b'\r') {
                e2 += 1;
            }
            if bytes.get(e2) == Some(&b'\n') {
                e2 += 1;
            }
            (end, e2)
        }
        None => (bytes.len(), bytes.len()),
    }
}

fn read_section(bytes: &[u8], offset: usize) -> Result<Revision, PdfError> {
    let bad = |what: &str| PdfError::BadXref {
        offset,
        what: what.to_string(),
    };
    if offset >= bytes.len() {
        return Err(bad("offset beyond the end of the file"));
    }
    let mut p = Parser::new(bytes, offset);
    p.skip_ws();
    let start = p.pos;
    if bytes[start..].starts_with(b"xref") {
        p.pos += 4;
        let mut entries = HashMap::new();
        loop {
            p.skip_ws();
            if bytes[p.pos..].starts_with(b"trailer") {
                p.pos += 7;
                break;
            }
            let first = p.uint().map_err(|_| bad("bad subsection header"))?;
            let count = p.uint().map_err(|_| bad("bad subsection header"))?;
            if count > 10_000_000 {
                return Err(bad("subsection too large"));
            }
            for i in 0..count {
                let off = p.uint().map_err(|_| bad("bad entry offset"))?;
                let gen_ = p.uint().map_err(|_| bad("bad entry generation"))?;
                let kind = p.token();
                let num = u32::try_from(first + i).map_err(|_| bad("object number too large"))?;
                let e = match kind {
                    b"n" => XrefEntry::Offset(
                        usize::try_from(off).map_err(|_| bad("offset too large"))?,
                        u16::try_from(gen_).unwrap_or(u16::MAX),
                    ),
                    b"f" => XrefEntry::Free,
                    _ => return Err(bad("entry type is neither n nor f")),
                };
                // Object 0 is the head of the free list, never an object.
                if num != 0 {
                    entries.insert(num, e);
                }
            }
        }
        let trailer = match p.object(0)? {
            Object::Dict(d) => d,
            _ => return Err(bad("trailer is not a dictionary")),
        };
        return Ok(Revision {
            xref_offset: start,
            end: 0,
            end_with_eol: 0,
            entries,
            trailer,
            xref_stream: false,
        });
    }
    let (_, obj) = p.indirect(&|o| o.as_int().and_then(|i| usize::try_from(i).ok()))?;
    let Object::Stream(s) = obj else {
        return Err(bad("neither `xref` nor a cross-reference stream"));
    };
    if s.dict.name(b"Type") != Some(b"XRef") {
        return Err(bad("stream is not /Type /XRef"));
    }
    let data = crate::filter::decode(&s)?;
    let w: Vec<usize> = s
        .dict
        .get(b"W")
        .and_then(Object::as_array)
        .map(|a| {
            a.iter()
                .map(|x| {
                    x.as_int()
                        .and_then(|i| usize::try_from(i).ok())
                        .unwrap_or(99)
                })
                .collect()
        })
        .unwrap_or_default();
    if w.len() != 3 || w.iter().any(|&x| x > 8) {
        return Err(bad("bad /W"));
    }
    let size = s.dict.int(b"Size").unwrap_or(0);
    let index: Vec<i64> = match s.dict.get(b"Index").and_then(Object::as_array) {
        Some(a) => a.iter().filter_map(Object::as_int).collect(),
        None => vec![0, size],
    };
    let row = w[0] + w[1] + w[2];
    if row == 0 {
        return Err(bad("empty /W"));
    }
    let field = |b: &[u8]| b.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x));
    let mut entries = HashMap::new();
    let mut pos = 0usize;
    for pair in index.chunks(2) {
        let [first, count] = pair else {
            return Err(bad("odd /Index"));
        };
        if *first < 0 || *count < 0 || *count > 10_000_000 {
            return Err(bad("bad /Index"));
        }
        for i in 0..*count {
            let Some(r) = data.get(pos..pos + row) else {
                return Err(bad("stream shorter than its /Index"));
            };
            pos += row;
            let t = if w[0] == 0 { 1 } else { field(&r[..w[0]]) };
            let f2 = field(&r[w[0]..w[0] + w[1]]);
            let f3 = field(&r[w[0] + w[1]..]);
            let num = u32::try_from(first + i).map_err(|_| bad("object number too large"))?;
            let e = match t {
                0 => XrefEntry::Free,
                1 => XrefEntry::Offset(
                    usize::try_from(f2).map_err(|_| bad("offset too large"))?,
                    u16::try_from(f3).unwrap_or(0),
                ),
                2 => XrefEntry::Compressed(
                    u32::try_from(f2).map_err(|_| bad("bad object stream number"))?,
                    u32::try_from(f3).map_err(|_| bad("bad index"))?,
                ),
                // §7.5.8.3: unknown types are references to null.
                _ => XrefEntry::Free,
            };
            if num != 0 {
                entries.insert(num, e);
            }
        }
    }
    Ok(Revision {
        xref_offset: start,
        end: 0,
        end_with_eol: 0,
        entries,
        trailer: s.dict,
        xref_stream: true,
    })
}
