//! What changed after a signature (ISO 32000-1 §12.8.2.2 DocMDP; PAdES EN 319 142-1 §5.4
//! long-term validation data): every object a later revision rewrote is compared with its
//! previous value and classified. New objects alone cannot change what is displayed; they
//! matter only through a changed existing object, so only those are examined.
//!
//! Levels, from harmless up: adding validation data and document time-stamps (LTA updates),
//! filling in form fields and signing (form filling), adding annotations, anything else
//! (a modification no signature allows, e.g. new page content).

use std::collections::HashSet;

use crate::object::{Dict, ObjRef, Object};
use crate::signatures::SigKind;
use crate::{Document, PdfError, XrefEntry};

/// How far a change goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Nothing changed.
    None,
    /// Validation data (`/DSS`) and document time-stamps only.
    LtaUpdates,
    /// Form fields filled in or signed.
    FormFilling,
    /// Annotations added or changed.
    Annotations,
    /// Anything else.
    Other,
}

impl Level {
    /// The name pyHanko and Tamga's reports use.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::None => "NONE",
            Level::LtaUpdates => "LTA_UPDATES",
            Level::FormFilling => "FORM_FILLING",
            Level::Annotations => "ANNOTATIONS",
            Level::Other => "OTHER",
        }
    }
}

/// One changed object.
#[derive(Debug, Clone)]
pub struct Change {
    /// The revision that made it.
    pub revision: usize,
    /// The object.
    pub object: u32,
    /// How far it goes.
    pub level: Level,
    /// What it is, in words.
    pub description: String,
}

/// Everything revisions after `signed` changed, in order.
pub fn analyse(doc: &Document, signed: usize) -> Result<Vec<Change>, PdfError> {
    let mut out = Vec::new();
    for r in signed + 1..=doc.last_revision() {
        let ctx = Context::new(doc, r)?;
        let mut nums: Vec<u32> = doc.revisions[r].entries.keys().copied().collect();
        nums.sort_unstable();
        for num in nums {
            let before = doc.entry(num, r - 1);
            if matches!(before, None | Some(XrefEntry::Free)) {
                continue;
            }
            let rf = ObjRef { num, gen_: 0 };
            let old = doc.get_at(rf, r - 1)?;
            let new = doc.get_at(rf, r)?;
            if old == new || is_structural(&old) && is_structural(&new) {
                continue;
            }
            let (level, description) = ctx.classify(num, &old, &new)?;
            out.push(Change {
                revision: r,
                object: num,
                level,
                description,
            });
        }
    }
    Ok(out)
}

/// The highest level among `changes`.
pub fn overall(changes: &[Change]) -> Level {
    changes.iter().map(|c| c.level).max().unwrap_or(Level::None)
}

/// Whether a DocMDP permission `p` (1–3) allows `level`. LTA updates are always allowed
/// (ISO 32000-2 §12.8.2.2.1).
pub fn docmdp_allows(p: u8, level: Level) -> bool {
    match p {
        1 => level <= Level::LtaUpdates,
        2 => level <= Level::FormFilling,
        _ => level <= Level::Annotations,
    }
}

/// Cross-reference and xref-stream containers: their contents are compared object by object.
fn is_structural(o: &Object) -> bool {
    matches!(o, Object::Stream(s) if matches!(s.dict.name(b"Type"), Some(b"ObjStm" | b"XRef")))
}

struct Context<'a> {
    doc: &'a Document<'a>,
    rev: usize,
    root: u32,
    acroform: Option<u32>,
    fields: Option<u32>,
    info: Option<u32>,
    metadata: Option<u32>,
    dss: HashSet<u32>,
}

impl<'a> Context<'a> {
    fn new(doc: &'a Document<'a>, rev: usize) -> Result<Self, PdfError> {
        let root_ref = doc.root_ref(rev)?;
        let root = doc.get_at(root_ref, rev)?;
        let rd = root.as_dict().cloned().unwrap_or_default();
        let acroform = rd.get(b"AcroForm").and_then(Object::as_ref).map(|r| r.num);
        let acro = match rd.get(b"AcroForm") {
            Some(a) => doc.resolve_at(a, rev)?,
            None => Object::Null,
        };
        let fields = acro
            .as_dict()
            .and_then(|d| d.get(b"Fields"))
            .and_then(Object::as_ref)
            .map(|r| r.num);
        // Everything the DSS reaches: its arrays, the VRI dictionary and its entries.
        let mut dss = HashSet::new();
        let mut stack: Vec<Object> = rd.get(b"DSS").cloned().into_iter().collect();
        while let Some(o) = stack.pop() {
            if dss.len() > 100_000 {
                break;
            }
            match o {
                Object::Ref(r) if dss.insert(r.num) => {
                    let v = doc.get_at(r, rev)?;
                    if !matches!(v, Object::Stream(_)) {
                        stack.push(v);
                    }
                }
                Object::Dict(d) => stack.extend(d.0.into_iter().map(|(_, v)| v)),
                Object::Array(a) => stack.extend(a),
                _ => {}
            }
        }
        Ok(Context {
            doc,
            rev,
            root: root_ref.num,
            acroform,
            fields,
            info: doc
                .trailer_value(rev, b"Info")
                .and_then(Object::as_ref)
                .map(|r| r.num),
            metadata: rd.get(b"Metadata").and_then(Object::as_ref).map(|r| r.num),
            dss,
        })
    }

    fn classify(&self, num: u32, old: &Object, new: &Object) -> Result<(Level, String), PdfError> {
        let other = |what: String| Ok((Level::Other, what));
        if num == self.root {
            return self.catalog(old, new);
        }
        if Some(num) == self.info {
            return Ok((Level::LtaUpdates, "document information updated".into()));
        }
        if Some(num) == self.metadata {
            return Ok((Level::LtaUpdates, "XMP metadata updated".into()));
        }
        if self.dss.contains(&num) {
            return Ok((Level::LtaUpdates, "validation data (DSS) updated".into()));
        }
        if Some(num) == self.acroform {
            return self.acroform_dict(old, new);
        }
        if Some(num) == self.fields {
            return self.grown_array(old, new, "form field list");
        }
        let (Some(od), Some(nd)) = (old.as_dict(), new.as_dict()) else {
            // An array changed: allowed only as a page's /Annots growing.
            if self.is_annots_array(num)? {
                return self.grown_array(old, new, "page annotations");
            }
            return other(format!("object {num} was rewritten"));
        };
        if nd.name(b"Type") == Some(b"Page") && od.name(b"Type") == Some(b"Page") {
            let keys = diff_keys(od, nd);
            if keys.iter().all(|k| k == b"Annots") {
                let o = self.resolve(od.get(b"Annots"))?;
                let n = self.resolve(nd.get(b"Annots"))?;
                return self.grown_array(&o, &n, "page annotations");
            }
            return other(format!("a page (object {num}) changed: {}", names(&keys)));
        }
        if is_field_or_widget(nd) {
            let keys = diff_keys(od, nd);
            let allowed: &[&[u8]] = &[
                b"V", b"AP", b"AS", b"MK", b"DA", b"F", b"M", b"Lock", b"SV", b"Ff",
            ];
            let resigned = od.get(b"V").is_some()
                && nd.get(b"V") != od.get(b"V")
                && field_type(od) == Some(b"Sig");
            if resigned {
                return other(format!(
                    "an already signed field (object {num}) was changed"
                ));
            }
            if keys.iter().all(|k| allowed.contains(&k.as_slice())) {
                return Ok((
                    Level::FormFilling,
                    format!("form field (object {num}) filled in"),
                ));
            }
            return other(format!(
                "form field (object {num}) changed: {}",
                names(&keys)
            ));
        }
        if matches!(new, Object::Stream(_)) && self.only_appearance(num)? {
            return Ok((
                Level::FormFilling,
                format!("appearance of a form field (object {num}) updated"),
            ));
        }
        other(format!(
            "object {num}{} changed",
            nd.name(b"Type")
                .map(|t| format!(" (/{})", String::from_utf8_lossy(t)))
                .unwrap_or_default()
        ))
    }

    fn resolve(&self, o: Option<&Object>) -> Result<Object, PdfError> {
        match o {
            Some(o) => self.doc.resolve_at(o, self.rev),
            None => Ok(Object::Array(vec![])),
        }
    }

    fn catalog(&self, old: &Object, new: &Object) -> Result<(Level, String), PdfError> {
        let (Some(od), Some(nd)) = (old.as_dict(), new.as_dict()) else {
            return Ok((Level::Other, "the catalog was replaced".into()));
        };
        let mut level = Level::None;
        let mut what = Vec::new();
        for k in diff_keys(od, nd) {
            let l = match k.as_slice() {
                b"DSS" | b"Extensions" | b"Metadata" | b"Version" => Level::LtaUpdates,
                b"AcroForm" => {
                    let o = self.resolve_opt(od.get(b"AcroForm"))?;
                    let n = self.resolve_opt(nd.get(b"AcroForm"))?;
                    self.acroform_dict(&o, &n)?.0
                }
                _ => Level::Other,
            };
            level = level.max(l);
            what.push(String::from_utf8_lossy(&k).into_owned());
        }
        Ok((level, format!("catalog changed: /{}", what.join(", /"))))
    }

    fn resolve_opt(&self, o: Option<&Object>) -> Result<Object, PdfError> {
        match o {
            Some(o) => self.doc.resolve_at(o, self.rev),
            None => Ok(Object::Dict(Dict::default())),
        }
    }

    fn acroform_dict(&self, old: &Object, new: &Object) -> Result<(Level, String), PdfError> {
        let empty = Dict::default();
        let od = old.as_dict().unwrap_or(&empty);
        let Some(nd) = new.as_dict() else {
            return Ok((Level::Other, "the interactive form was removed".into()));
        };
        let mut level = Level::None;
        for k in diff_keys(od, nd) {
            let l = match k.as_slice() {
                b"Fields" => {
                    let o = self.resolve(od.get(b"Fields"))?;
                    let n = self.resolve(nd.get(b"Fields"))?;
                    self.grown_array(&o, &n, "form field list")?.0
                }
                b"SigFlags" | b"DR" | b"DA" | b"NeedAppearances" => Level::FormFilling,
                _ => Level::Other,
            };
            level = level.max(l);
        }
        Ok((level, "interactive form changed".into()))
    }

    /// An array that may only grow (fields, annotations): old items kept, new ones appended.
    fn grown_array(
        &self,
        old: &Object,
        new: &Object,
        what: &str,
    ) -> Result<(Level, String), PdfError> {
        let (Some(o), Some(n)) = (old.as_array(), new.as_array()) else {
            return Ok((Level::Other, format!("{what} replaced")));
        };
        if !o.iter().all(|x| n.contains(x)) {
            return Ok((Level::Other, format!("{what}: entries removed")));
        }
        let mut level = Level::None;
        for added in n.iter().filter(|x| !o.contains(x)) {
            let a = self.doc.resolve_at(added, self.rev)?;
            let l = match a.as_dict() {
                Some(d) if field_type(d) == Some(b"Sig") => match d.get(b"V") {
                    Some(v) => {
                        let v = self.doc.resolve_at(v, self.rev)?;
                        let kind = v.as_dict().map(|v| {
                            if v.name(b"Type") == Some(b"DocTimeStamp")
                                || v.name(b"SubFilter") == Some(b"ETSI.RFC3161")
                            {
                                SigKind::DocTimeStamp
                            } else {
                                SigKind::Signature
                            }
                        });
                        if kind == Some(SigKind::DocTimeStamp) {
                            Level::LtaUpdates
                        } else {
                            Level::FormFilling
                        }
                    }
                    None => Level::FormFilling,
                },
                Some(d) if is_field_or_widget(d) => Level::FormFilling,
                Some(d) if d.name(b"Type") == Some(b"Annot") || d.get(b"Subtype").is_some() => {
                    Level::Annotations
                }
                _ => Level::Other,
            };
            level = level.max(l);
        }
        Ok((level, format!("{what} extended")))
    }

    fn is_annots_array(&self, num: u32) -> Result<bool, PdfError> {
        Ok(self
            .referrers(num)?
            .iter()
            .all(|(_, key, d)| key.as_slice() == b"Annots" && d.name(b"Type") == Some(b"Page")))
    }

    /// A stream referenced only as a widget's appearance.
    fn only_appearance(&self, num: u32) -> Result<bool, PdfError> {
        let refs = self.referrers(num)?;
        Ok(!refs.is_empty()
            && refs
                .iter()
                .all(|(_, key, d)| key.as_slice() == b"AP" && is_field_or_widget(d)))
    }

    /// Objects (as of this revision) that refer to `num`: (object, top-level key, its dict).
    fn referrers(&self, num: u32) -> Result<Vec<(u32, Vec<u8>, Dict)>, PdfError> {
        let size = self.doc.size().min(200_000);
        let mut out = Vec::new();
        for n in 1..size {
            let Ok(o) = self.doc.get_at(ObjRef { num: n, gen_: 0 }, self.rev) else {
                continue;
            };
            match &o {
                Object::Dict(_) | Object::Stream(_) => {
                    let d = o.as_dict().cloned().unwrap_or_default();
                    for (k, v) in &d.0 {
                        if mentions(v, num, 0) {
                            out.push((n, k.clone(), d.clone()));
                        }
                    }
                }
                Object::Array(a) if a.iter().any(|v| mentions(v, num, 0)) => {
                    out.push((n, b"[]".to_vec(), Dict::default()));
                }
                _ => {}
            }
        }
        Ok(out)
    }
}

fn mentions(o: &Object, num: u32, depth: usize) -> bool {
    if depth > 32 {
        return false;
    }
    match o {
        Object::Ref(r) => r.num == num,
        Object::Array(a) => a.iter().any(|x| mentions(x, num, depth + 1)),
        Object::Dict(d) => d.0.iter().any(|(_, v)| mentions(v, num, depth + 1)),
        _ => false,
    }
}

fn field_type(d: &Dict) -> Option<&[u8]> {
    d.name(b"FT")
}

fn is_field_or_widget(d: &Dict) -> bool {
    d.get(b"FT").is_some()
        || d.name(b"Subtype") == Some(b"Widget")
        || (d.get(b"T").is_some() && d.get(b"Parent").is_some())
}

fn diff_keys(a: &Dict, b: &Dict) -> Vec<Vec<u8>> {
    let mut keys: Vec<Vec<u8>> = Vec::new();
    for (k, v) in &a.0 {
        if b.get(k) != Some(v) {
            keys.push(k.clone());
        }
    }
    for (k, _) in &b.0 {
        if a.get(k).is_none() {
            keys.push(k.clone());
        }
    }
    keys
}

fn names(keys: &[Vec<u8>]) -> String {
    keys.iter()
        .map(|k| format!("/{}", String::from_utf8_lossy(k)))
        .collect::<Vec<_>>()
        .join(", ")
}
