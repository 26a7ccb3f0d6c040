//! Incremental updates (ISO 32000-1 §7.5.6): new and changed objects appended after the
//! existing bytes, which stay untouched, with a cross-reference section of the same kind as the
//! previous one (table or stream) whose `/Prev` points back.

use std::collections::BTreeMap;
use std::ops::Range;

use crate::object::{Dict, ObjRef, Object, Stream, name};
use crate::{Document, PdfError};

/// A revision being built on top of a document.
pub struct Update<'a> {
    doc: &'a Document<'a>,
    objects: BTreeMap<u32, (ObjRef, Object)>,
    next: u32,
}

/// The written file and where each object of the update landed.
pub struct Written {
    /// The whole new file.
    pub bytes: Vec<u8>,
    /// Byte range of each object written in the update (`n g obj` … `endobj`).
    pub positions: BTreeMap<u32, Range<usize>>,
}

impl<'a> Update<'a> {
    /// An empty update.
    pub fn new(doc: &'a Document<'a>) -> Self {
        Update {
            doc,
            objects: BTreeMap::new(),
            next: doc.size().max(1),
        }
    }

    /// A fresh object number.
    pub fn allocate(&mut self) -> ObjRef {
        let r = ObjRef {
            num: self.next,
            gen_: 0,
        };
        self.next += 1;
        r
    }

    /// Adds a new object; returns its reference.
    pub fn add(&mut self, o: Object) -> ObjRef {
        let r = self.allocate();
        self.objects.insert(r.num, (r, o));
        r
    }

    /// Writes `o` as object `r` (a replacement, or an allocated number).
    pub fn set(&mut self, r: ObjRef, o: Object) {
        self.objects.insert(r.num, (r, o));
    }

    /// Writes the update after the document's bytes.
    pub fn write(self) -> Result<Written, PdfError> {
        let doc = self.doc;
        let last = doc.last_revision();
        let prev_rev = &doc.revisions[last];
        let root = doc.root_ref(last)?;
        let mut bytes = doc.bytes().to_vec();
        if !matches!(bytes.last(), Some(b'\n' | b'\r')) {
            bytes.push(b'\n');
        }
        let mut positions = BTreeMap::new();
        let mut offsets: BTreeMap<u32, (usize, u16)> = BTreeMap::new();
        for (num, (r, o)) in &self.objects {
            let start = bytes.len();
            bytes.extend_from_slice(format!("{} {} obj\n", r.num, r.gen_).as_bytes());
            o.write(&mut bytes);
            bytes.extend_from_slice(b"\nendobj\n");
            positions.insert(*num, start..bytes.len());
            offsets.insert(*num, (start, r.gen_));
        }
        let mut trailer = Dict::default();
        let mut size = self.next;
        let xref_at = bytes.len();
        if prev_rev.xref_stream {
            let xr = ObjRef {
                num: self.next,
                gen_: 0,
            };
            size += 1;
            offsets.insert(xr.num, (xref_at, 0));
            let mut data = Vec::new();
            let mut index = Vec::new();
            for run in runs(&offsets) {
                index.push(Object::Int(i64::from(run[0].0)));
                index.push(Object::Int(run.len() as i64));
                for (_, (off, g)) in run {
                    data.push(1u8);
                    data.extend_from_slice(&(off as u32).to_be_bytes());
                    data.extend_from_slice(&g.to_be_bytes());
                }
            }
            trailer.set(b"Type", name(b"XRef"));
            trailer.set(b"Size", Object::Int(i64::from(size)));
            trailer.set(b"Index", Object::Array(index));
            trailer.set(
                b"W",
                Object::Array(vec![Object::Int(1), Object::Int(4), Object::Int(2)]),
            );
            fill_trailer(&mut trailer, doc, last, root, prev_rev.xref_offset);
            if bytes.len() > u32::MAX as usize {
                return Err(PdfError::TooLarge("bytes for a 4-byte xref offset"));
            }
            bytes.extend_from_slice(format!("{} 0 obj\n", xr.num).as_bytes());
            Object::Stream(Stream {
                dict: trailer,
                data,
            })
            .write(&mut bytes);
            bytes.extend_from_slice(b"\nendobj\n");
        } else {
            bytes.extend_from_slice(b"xref\n");
            for run in runs(&offsets) {
                bytes.extend_from_slice(format!("{} {}\n", run[0].0, run.len()).as_bytes());
                for (_, (off, g)) in run {
                    bytes.extend_from_slice(format!("{off:010} {g:05} n\r\n").as_bytes());
                }
            }
            trailer.set(b"Size", Object::Int(i64::from(size)));
            fill_trailer(&mut trailer, doc, last, root, prev_rev.xref_offset);
            bytes.extend_from_slice(b"trailer\n");
            Object::Dict(trailer).write(&mut bytes);
            bytes.push(b'\n');
        }
        bytes.extend_from_slice(format!("startxref\n{xref_at}\n%%EOF\n").as_bytes());
        Ok(Written { bytes, positions })
    }
}

fn fill_trailer(t: &mut Dict, doc: &Document, rev: usize, root: ObjRef, prev: usize) {
    t.set(b"Root", Object::Ref(root));
    if let Some(info) = doc.trailer_value(rev, b"Info") {
        t.set(b"Info", info.clone());
    }
    if let Some(id) = doc.trailer_value(rev, b"ID") {
        t.set(b"ID", id.clone());
    }
    t.set(b"Prev", Object::Int(prev as i64));
}

/// Consecutive object-number runs.
fn runs(offsets: &BTreeMap<u32, (usize, u16)>) -> Vec<Vec<(u32, (usize, u16))>> {
    let mut out: Vec<Vec<(u32, (usize, u16))>> = Vec::new();
    for (&n, &v) in offsets {
        match out.last_mut() {
            Some(run) if run.last().is_some_and(|(p, _)| p + 1 == n) => run.push((n, v)),
            _ => out.push(vec![(n, v)]),
        }
    }
    out
}
