//! PDF/A-2b documents (ISO 19005-2) for what the state issues: decisions, application
//! summaries and paper copies, in Mongolian Cyrillic and English, with a QR code that leads
//! back to the verifiable original.
//!
//! What makes the output PDF/A-2b, rule by rule (ISO 19005-2 clause):
//! - every font embedded (§6.2.11.4): Noto Sans subsets (Latin, Cyrillic with Ө ө Ү ү, ₮, №)
//!   as `CIDFontType2` with `Identity-H`, `/CIDToGIDMap /Identity` (§6.2.11.3.2), widths taken
//!   from the font's own `hmtx` (§6.2.11.5) and a `ToUnicode` map so text can be searched and
//!   copied;
//! - colour (§6.2.4.3): only DeviceGray, made device-independent by a `DefaultGray` CalGray
//!   colour space on every page, so no output intent is needed;
//! - metadata (§6.6): an uncompressed XMP stream with `pdfaid:part=2`, `conformance=B`,
//!   title, creator and dates; no document information dictionary, so nothing can disagree
//!   with the XMP;
//! - file structure (§6.1): binary header comment, trailer `/ID`, exact stream lengths, no
//!   encryption, no JavaScript, no external content.
//!
//! Signing comes afterwards as incremental updates (PAdES), which PDF/A-2 allows.

mod font;
mod write;

pub use font::{
    Font, NOTO_SANS_BOLD, NOTO_SANS_BOLD_WOFF2, NOTO_SANS_REGULAR, NOTO_SANS_REGULAR_WOFF2,
};
pub use write::{Block, DocumentSpec, render};

/// Why a document could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PdfaError {
    /// The embedded font could not be read (a build defect).
    #[error("embedded font: {0}")]
    Font(String),
    /// The QR code payload is too long for a QR code.
    #[error("QR code: {0}")]
    Qr(String),
    /// Too much text for the page limit.
    #[error("the document would have more than {0} pages")]
    TooLong(usize),
}
