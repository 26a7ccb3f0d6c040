//! The demo's notarial act: a second sale contract taken through the e-Notary workflow — the
//! seller and the buyer each add their signature to the current version, the demo notary
//! countersigns — entered in the notarial register and the ledger, delivered to both wallets,
//! and listed in `demo.json` with its register number, verification code and the commands a
//! bank runs.

use std::path::Path;

use anyhow::Context;
use serde_json::{Value, json};
use tamga_notary::contracts::{NewContract, Party};

use crate::demo_contract::{contract_pdf, holder, latin, sign_one};
use crate::startup::Started;

const RECORD: &str = "documents/notary.json";

/// The demo notary: the registration authority's official (`holders/official-gasr`).
pub const DEMO_NOTARY: &str = "УБ00151530";

/// Runs the demo contract through e-Notary once and describes the act.
pub async fn ensure(started: &Started, data: &Path, country: &Value) -> anyhow::Result<Value> {
    let (Some(notary), Some(trust)) = (&started.notary, &started.trust) else {
        return Ok(Value::Null);
    };
    let path = data.join(RECORD);
    let act: Value = match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).context("documents/notary.json")?,
        Err(_) => {
            let citizen = |i: usize| -> anyhow::Result<(String, String, String)> {
                let c = &country["citizens"][i];
                Ok((
                    c["name"].as_str().context("citizen name")?.to_owned(),
                    c["registration_number"]
                        .as_str()
                        .context("citizen number")?
                        .to_owned(),
                    c["files"]["sign"]["pkcs12"]
                        .as_str()
                        .context("citizen key")?
                        .to_owned(),
                ))
            };
            let (a_name, a_reg, a_p12) = citizen(2)?;
            let (b_name, b_reg, b_p12) = citizen(0)?;
            let official = &country["officials"][0];
            let n_p12 = official["pkcs12"]
                .as_str()
                .context("notary key")?
                .to_owned();
            let id = notary
                .create(
                    NewContract {
                        title: "Худалдах, худалдан авах гэрээ №2026/43 / Sale contract No. 2026/43"
                            .into(),
                        parties: vec![
                            Party {
                                registration_number: a_reg,
                                company_register: None,
                                role_mn: "худалдагч".into(),
                                role_en: "seller".into(),
                                signed_at: None,
                            },
                            Party {
                                registration_number: b_reg,
                                company_register: None,
                                role_mn: "худалдан авагч".into(),
                                role_en: "buyer".into(),
                                signed_at: None,
                            },
                        ],
                        ordered: true,
                        deadline: Some(tamga_pki::builder::now() + 30 * 86400),
                        public: vec!["title".into(), "parties".into()],
                    },
                    contract_pdf(&latin(&a_name), &latin(&b_name)),
                )
                .await?;
            for (p12, field, reason) in [
                (
                    &a_p12,
                    "Seller",
                    "Худалдагч: гэрээг зөвшөөрөв / Seller agrees",
                ),
                (
                    &b_p12,
                    "Buyer",
                    "Худалдан авагч: гэрээг зөвшөөрөв / Buyer agrees",
                ),
            ] {
                let (_, current) = notary.get(&id).await?;
                let signed = sign_one(trust, &holder(data, p12)?, field, reason, &current)?;
                notary.sign(&id, signed).await?;
            }
            let (_, current) = notary.get(&id).await?;
            let signed = sign_one(
                trust,
                &holder(data, &n_p12)?,
                "Notary",
                "Нотариатаар гэрчлэв / Notarised",
                &current,
            )?;
            let (number, code) = notary.notarise(&id, signed).await?;
            let act =
                json!({ "contract_id": id, "register_number": number, "verification_code": code });
            crate::demo::write_atomically(&path, serde_json::to_string_pretty(&act)?.as_bytes())?;
            act
        }
    };
    let base = &started.base_url;
    let number = act["register_number"].as_str().unwrap_or_default();
    let code = act["verification_code"].as_str().unwrap_or_default();
    Ok(json!({
        "token_file": "secrets/notary-token",
        "notaries": [DEMO_NOTARY],
        "contract_id": act["contract_id"],
        "register_number": number,
        "verification_code": code,
        "verify_by_number": format!("{base}/notary/verify/act/{number}"),
        "verify_by_code": format!("{base}/notary/verify/code/{code}"),
        "evidence_bundle": format!("{base}/notary/verify/code/{code}/bundle"),
        "verify_offline": format!("curl -so act.zip {base}/notary/verify/code/{code}/bundle && tamga verify --offline act.zip"),
    }))
}
