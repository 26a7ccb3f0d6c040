//! Paper copies: a printable PDF/A-2b of an archived document with its verification code and a
//! QR code that leads back to the verifiable original (`/archive/verify/{id}`), so a paper copy
//! can be checked against the archive: the page prints the original's SHA-256, which the
//! verification page shows too.
//!
//! A text document is reproduced in full; for any other format the copy is the certificate
//! sheet that identifies the original (rendering arbitrary PDF pages is not done here).

use tamga_pdfa::{Block, DocumentSpec};
use tamga_store::ArchivedRow;

fn rfc3339_ms(ms: i64) -> String {
    tamga_pki::time::format_rfc3339(ms.div_euclid(1000))
}

/// The verification URL printed in the QR code.
pub fn verify_url(base_url: &str, id: &str) -> String {
    format!("{}/archive/verify/{id}", base_url.trim_end_matches('/'))
}

/// A PDF/A paper copy of `row` (content given when the document is kept).
pub fn paper_copy(
    row: &ArchivedRow,
    content: Option<&[u8]>,
    base_url: &str,
) -> Result<Vec<u8>, tamga_pdfa::PdfaError> {
    let url = verify_url(base_url, &row.document_id);
    let mut blocks =
        vec![
        Block::Title(format!("Цаасан хуулбар / Paper copy — {}", row.title)),
        Block::Text(
            "Энэ хуудас нь цахим архивт хадгалагдаж буй эх баримтын хуулбар юм. QR кодыг уншуулж \
             эсвэл баталгаажуулах кодыг оруулж эх баримтыг шалгана уу. / This is a copy of an \
             original kept in the electronic archive. Scan the QR code or enter the verification \
             code to check it against the original."
                .into(),
        ),
        Block::Rule,
        Block::Field(
            "Баталгаажуулах код / Verification code".into(),
            row.document_id.clone(),
        ),
        Block::Field("Үүсгэгч / Creator".into(), row.creator.clone()),
        Block::Field("Ангилал / Classification".into(), row.classification.clone()),
        Block::Field("Файл / File".into(), row.file_name.clone()),
        Block::Field(
            "Архивт авсан / Archived".into(),
            rfc3339_ms(row.ingested_at_ms),
        ),
        Block::Field(
            "Хадгалах хугацаа / Kept until".into(),
            rfc3339_ms(row.retention_until_ms),
        ),
        Block::Field("SHA-256".into(), hex::encode(&row.sha256)),
        Block::Field(
            "Бүртгэлийн дэвтэр / Ledger".into(),
            format!("{} #{}", row.ledger_log, row.ledger_index),
        ),
        Block::Field("Шалгах / Verify".into(), url.clone()),
        Block::Rule,
    ];
    match content {
        Some(c) if row.media_type.starts_with("text/") => match std::str::from_utf8(c) {
            Ok(text) => {
                blocks.push(Block::Heading("Баримтын агуулга / Content".into()));
                blocks.push(Block::Text(text.to_owned()));
            }
            Err(_) => blocks.push(Block::Small(
                "Агуулга нь UTF-8 биш тул хэвлээгүй. / The content is not UTF-8 and is not printed."
                    .into(),
            )),
        },
        Some(_) => blocks.push(Block::Small(format!(
            "Эх баримт ({}, {} байт) нь цахим хэлбэрээр хадгалагдана; энэ хуудас түүнийг SHA-256 \
             хэшээр нь тодорхойлно. / The original ({}, {} bytes) is kept electronically; this \
             sheet identifies it by its SHA-256.",
            row.media_type, row.size_bytes, row.media_type, row.size_bytes
        ))),
        None => blocks.push(Block::Small(
            "Эх баримтыг хадгалах хугацаа дууссаны дараа устгасан. / The original was disposed of \
             at the end of its retention."
                .into(),
        )),
    }
    tamga_pdfa::render(&DocumentSpec {
        title: format!("Цаасан хуулбар / Paper copy — {}", row.title),
        author: row.creator.clone(),
        lang: "mn".into(),
        created_unix: tamga_pki::builder::now(),
        blocks,
        qr: Some((url, row.document_id.clone())),
        footer: Some(format!(
            "{} · SHA-256 {}",
            row.document_id,
            hex::encode(&row.sha256)
        )),
    })
}
