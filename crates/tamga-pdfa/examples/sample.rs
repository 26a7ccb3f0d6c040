//! Writes a sample decision to the path given: `cargo run -p tamga-pdfa --example sample OUT.pdf`.
use tamga_pdfa::{Block, DocumentSpec, render};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args().nth(1).ok_or("usage: sample OUT.pdf")?;
    let pdf = render(&DocumentSpec {
        title: "Шийдвэр / Decision".into(),
        author: "Нийгмийн даатгалын ерөнхий газар".into(),
        lang: "mn".into(),
        created_unix: 1_795_800_000,
        blocks: vec![
            Block::Title("Шийдвэр: Сайн дурын нийгмийн даатгалд хамрагдах".into()),
            Block::Small("Voluntary social insurance decision".into()),
            Block::Gap(8.0),
            Block::Field(
                "Өргөдөл гаргагч / Applicant".into(),
                "Бат-Эрдэнэ Үүрцайх (УБ15150111)".into(),
            ),
            Block::Field(
                "Шийдвэр / Decision".into(),
                "Зөвшөөрсөн / Approved — 50,000₮ №12".into(),
            ),
            Block::Field(
                "Даатгуулах сарын орлого (₮) / Monthly income to insure (₮)".into(),
                "450000".into(),
            ),
            Block::Field(
                "Хэдэн сарын шимтгэл төлөх вэ? / How many months will you pay for?".into(),
                "6".into(),
            ),
            Block::Rule,
            Block::Heading("Үндэслэл / Grounds".into()),
            Block::Text("Өргөдөл, бүртгэлээс авсан мэдээлэлд үндэслэн шийдвэрлэв. ".repeat(12)),
        ],
        qr: Some((
            "http://localhost:8080/portal/verify?code=ABCD-EFGH-JK".into(),
            "ABCD-EFGH-JK".into(),
        )),
        footer: Some("Баталгаажуулах код / Verification code ABCD-EFGH-JK".into()),
    })?;
    std::fs::write(out, pdf)?;
    Ok(())
}
