//! PDF structure for signatures (ISO 32000-1 §12.8, ISO 32000-2, ETSI EN 319 142-1).
//!
//! Not a renderer: this crate reads exactly what signing and validation need. A file is read as
//! its sequence of revisions ([`Document`]); signature fields and their `/ByteRange` and
//! `/Contents` are found in [`signatures`]; what each revision after a signature changed, and
//! whether the signature's DocMDP level allows it, is in [`changes`]; new revisions are written
//! as incremental updates by [`write`]. Every input is bounded (nesting, stream sizes,
//! revisions) and malformed input is an error, never a panic.

pub mod changes;
pub mod document;
pub mod filter;
pub mod object;
mod parse;
pub mod signatures;
pub mod write;

pub use document::{Document, Revision, XrefEntry};
pub use object::{Dict, ObjRef, Object, Stream, dict, name};
pub use signatures::{SigKind, SignatureField, signatures};

/// Why a file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PdfError {
    /// No `%PDF-` header.
    #[error("not a PDF file (no %PDF- header)")]
    NotPdf,
    /// No `startxref` near the end.
    #[error("no startxref at the end of the file (truncated?)")]
    NoStartXref,
    /// A cross-reference section is broken.
    #[error("cross-reference section at byte {offset}: {what}")]
    BadXref {
        /// Where.
        offset: usize,
        /// What is wrong.
        what: String,
    },
    /// Object syntax.
    #[error("syntax error at byte {offset}: {what}")]
    Syntax {
        /// Where.
        offset: usize,
        /// What is wrong.
        what: String,
    },
    /// A stream filter failed.
    #[error("stream filter: {0}")]
    Filter(String),
    /// The document structure is not what it must be.
    #[error("document structure: {0}")]
    Structure(String),
    /// A limit was hit.
    #[error("too many {0}")]
    TooLarge(&'static str),
}
