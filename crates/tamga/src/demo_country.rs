//! The demo's synthetic country for the trust services: a government PKI and two accredited
//! CAs, sample citizens with ID-card-like key pairs (authentication and signing), and
//! organisations with electronic seals and gateway certificates.
//!
//! Seeded once; later starts read `<data>/demo-country.json` back. Names come from
//! `shared/data/mongolia` lists of common names (not real people). Registration numbers are
//! synthetic by construction: their month field is 15, which no real number has (months are
//! 01–12, or 21–32 for births from 2000), and their check digit is not computed.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use serde_json::{Value, json};
use tamga_keys::{KeyAlgorithm, Signer, SoftwareSigner, build_pkcs12};
use tamga_pki::identity::RegistrationNumber;
use tamga_pki::issue::{
    NameBuilder, Profile, citizen_name, official_name, organisation_name, registration_alt_name,
};
use tamga_trust::{CaSpec, IssueSpec, TrustServices};
use x509_cert::ext::pkix::name::GeneralName;

/// The PIN protecting the sample citizens' and organisations' demo keys.
pub const DEMO_PIN: &str = "246810";

// Versioned: a data dir seeded by an older demo (fewer organisations) is topped up.
const STATE_FILE: &str = "demo-country-v2.json";

/// Where Debian and others install the SoftHSM2 module.
const SOFTHSM_MODULES: &[&str] = &[
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
];

/// The token holding a sample citizen's keys, like an ID card.
const HOLDER_TOKEN: &str = "tamga-demo-id-card";

/// The token the identity role's remote-signing keys live on (an HSM in production).
pub const REMOTE_SIGNING_TOKEN: &str = "tamga-remote-signing";
/// Its PIN, relative to the data dir.
pub const REMOTE_SIGNING_PIN_FILE: &str = "secrets/remote-signing-pin";

/// The SoftHSM2 module, if installed.
pub fn softhsm_module() -> Option<std::path::PathBuf> {
    SOFTHSM_MODULES
        .iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.is_file())
}

/// Points SoftHSM2 at `<data>/softhsm` (unless the operator set `SOFTHSM2_CONF`), so the demo's
/// token never touches the system's token directory. Called from `main` before the runtime
/// starts any thread.
pub fn prepare_softhsm(data: &Path) {
    if std::env::var_os("SOFTHSM2_CONF").is_some() || softhsm_module().is_none() {
        return;
    }
    let dir = data.join("softhsm");
    let Ok(abs) =
        std::fs::create_dir_all(dir.join("tokens")).and_then(|()| std::fs::canonicalize(&dir))
    else {
        return;
    };
    let conf = abs.join("softhsm2.conf");
    let text = format!(
        "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
        abs.join("tokens").display()
    );
    if std::fs::write(&conf, text).is_ok() {
        // SAFETY: called from `main` before the async runtime (or any other thread) exists.
        unsafe { std::env::set_var("SOFTHSM2_CONF", &conf) };
    }
}

/// The manifest entry for the token citizen: the citizen, a note, or the error.
async fn token_citizen_value(trust: &TrustServices, data: &Path) -> Value {
    match token_citizen(trust, data).await {
        Ok(Some(v)) => v,
        Ok(None) => json!({ "status": "SoftHSM2 is not installed (apt-get install softhsm2)" }),
        Err(e) => json!({ "error": e.to_string() }),
    }
}

/// A sample citizen whose keys are generated on a SoftHSM2 token, when SoftHSM2 is installed.
async fn token_citizen(trust: &TrustServices, data: &Path) -> anyhow::Result<Option<Value>> {
    let Some(module) = softhsm_module() else {
        return Ok(None);
    };
    let Some(conf) = std::env::var_os("SOFTHSM2_CONF") else {
        return Ok(None);
    };
    let config = tamga_keys::Pkcs11Config {
        module: module.clone(),
        token_label: HOLDER_TOKEN.into(),
        pin: DEMO_PIN.to_owned().into(),
    };
    // Initialise the token before this process loads the module: a module sees only the tokens
    // that existed at its C_Initialize.
    let tokens = data.join("softhsm/tokens");
    let empty = std::fs::read_dir(&tokens)
        .map(|mut d| d.next().is_none())
        .unwrap_or(false);
    if empty {
        // The identity role's remote-signing HSM is a second token, made now for the same
        // reason; its PIN is the operator's, kept in a secret file.
        let mut pin = [0u8; 8];
        aws_lc_rs::rand::fill(&mut pin).map_err(|_| anyhow::anyhow!("no randomness"))?;
        let signing_pin = hex::encode(pin);
        write(&data.join(REMOTE_SIGNING_PIN_FILE), &signing_pin)?;
        for (label, pin) in [
            (HOLDER_TOKEN, DEMO_PIN),
            (REMOTE_SIGNING_TOKEN, signing_pin.as_str()),
        ] {
            let mut so_pin = [0u8; 8];
            aws_lc_rs::rand::fill(&mut so_pin).map_err(|_| anyhow::anyhow!("no randomness"))?;
            let out = std::process::Command::new("softhsm2-util")
                .args([
                    "--init-token",
                    "--free",
                    "--label",
                    label,
                    "--pin",
                    pin,
                    "--so-pin",
                    &hex::encode(so_pin),
                ])
                .output()
                .context("softhsm2-util")?;
            anyhow::ensure!(
                out.status.success(),
                "softhsm2-util: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    let store = tamga_keys::Pkcs11KeyStore::open(&config)?;
    use tamga_keys::KeyStore;
    let reg = RegistrationNumber::parse("ЗА00152040").map_err(|e| anyhow::anyhow!("{e}"))?;
    let subject = citizen_name("Энхтуяа", "Цэрэн", &reg)?;
    let alt = vec![registration_alt_name(&reg)?];
    let mut certs = json!({});
    for (usage, profile) in [
        ("auth", Profile::CitizenAuth),
        ("sign", Profile::CitizenSign),
    ] {
        let key = store.open_or_generate(&format!("enkhtuyaa-{usage}"), KeyAlgorithm::EcP256)?;
        let spec = IssueSpec {
            profile,
            subject: subject.clone(),
            spki_der: key.public_key_der().to_vec(),
            alt_names: alt.clone(),
            validity_days: 1825,
        };
        let (der, serial) = trust
            .issue("accredited-a-ca", spec, "demo", "demo ID card on a token")
            .await?;
        certs[usage] =
            json!({ "key_label": key.label(), "serial": serial, "certificate_pem": pem(&der)? });
    }
    Ok(Some(json!({
        "name": "Энхтуяа Цэрэн",
        "registration_number": reg.cyrillic(),
        "pkcs11_module": module,
        "softhsm2_conf": conf.to_string_lossy(),
        "token": HOLDER_TOKEN,
        "pin": DEMO_PIN,
        "certificates": certs,
    })))
}

/// A CA of the demo country.
struct DemoCa {
    name: &'static str,
    display: &'static str,
    organisation: &'static str,
    parent: Option<&'static str>,
    key: KeyAlgorithm,
    /// Last arc of its policy OID under the demo arc 1.3.6.1.4.1.99999.1.
    policy_arc: u32,
}

const CAS: &[DemoCa] = &[
    DemoCa {
        name: "mn-gov-root",
        display: "Монгол Улсын Засгийн газрын үндсэн CA / Government of Mongolia Root CA (demo)",
        organisation: "Tamga demo government PKI",
        parent: None,
        key: KeyAlgorithm::EcP384,
        policy_arc: 1,
    },
    DemoCa {
        name: "mn-gov-ca",
        display: "Төрийн албан хаагч, серверийн CA / Officials and Servers CA (demo)",
        organisation: "Tamga demo government PKI",
        parent: Some("mn-gov-root"),
        key: KeyAlgorithm::EcP256,
        policy_arc: 2,
    },
    DemoCa {
        name: "accredited-a-root",
        display: "Итгэмжлэгдсэн CA A үндсэн / Accredited CA A Root (demo)",
        organisation: "Demo Accredited CA A LLC",
        parent: None,
        key: KeyAlgorithm::EcP384,
        policy_arc: 3,
    },
    DemoCa {
        name: "accredited-a-ca",
        display: "Иргэний гэрчилгээний CA A / Citizen CA A (demo)",
        organisation: "Demo Accredited CA A LLC",
        parent: Some("accredited-a-root"),
        key: KeyAlgorithm::EcP256,
        policy_arc: 4,
    },
    DemoCa {
        name: "accredited-b-root",
        display: "Итгэмжлэгдсэн CA B үндсэн / Accredited CA B Root (demo)",
        organisation: "Demo Accredited CA B LLC",
        parent: None,
        key: KeyAlgorithm::Rsa3072,
        policy_arc: 5,
    },
    DemoCa {
        name: "accredited-b-ca",
        display: "Иргэний гэрчилгээний CA B / Citizen CA B (demo)",
        organisation: "Demo Accredited CA B LLC",
        parent: Some("accredited-b-root"),
        key: KeyAlgorithm::Rsa2048,
        policy_arc: 6,
    },
];

/// (given name, father's name, letters, day, sex digit, issuing CA)
const CITIZENS: &[(&str, &str, &str, &str, char, &str, &str)] = &[
    (
        "Батбаяр",
        "Дорж",
        "Batbayar",
        "УБ",
        '1',
        "01",
        "accredited-a-ca",
    ),
    (
        "Алтанцэцэг",
        "Цэрэн",
        "Altantsetseg",
        "ӨВ",
        '2',
        "12",
        "accredited-a-ca",
    ),
    (
        "Отгонбаяр",
        "Дамдин",
        "Otgonbayar",
        "ДА",
        '3',
        "23",
        "accredited-b-ca",
    ),
];

/// (organisation id, Mongolian name, synthetic 7-digit register number)
const ORGANISATIONS: &[(&str, &str, &str)] = &[
    ("gasr", "Улсын бүртгэлийн ерөнхий газар", "9000001"),
    ("mta", "Татварын ерөнхий газар", "9000002"),
    ("khur", "ХУР мэдээлэл солилцооны систем", "9000003"),
    ("gasi", "Нийгмийн даатгалын ерөнхий газар", "9000004"),
    ("court", "Улсын дээд шүүх", "9000005"),
    ("notaries", "Монголын Нотариатчдын Танхим", "9000006"),
    ("state-bank", "Төрийн банк", "9000007"),
];

fn pem(der: &[u8]) -> anyhow::Result<String> {
    der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, der)
        .map_err(|e| anyhow::anyhow!("PEM: {e}"))
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    crate::demo::write_atomically(path, text.as_bytes())
}

/// Seeds the trust services (first start) or reads the seed back; returns the manifest part.
pub async fn seed(trust: &Arc<TrustServices>, data: &Path) -> anyhow::Result<Value> {
    let state = data.join(STATE_FILE);
    if let Ok(text) = std::fs::read_to_string(&state)
        && let Ok(v) = serde_json::from_str::<Value>(&text)
        && CAS.iter().all(|c| trust.has_ca(c.name))
    {
        if v["citizen_on_token"]["status"]
            .as_str()
            .is_some_and(|s| s.starts_with("token created"))
        {
            let mut v = v;
            v["citizen_on_token"] = token_citizen_value(trust, data).await;
            write(&state, &serde_json::to_string_pretty(&v)?)?;
            return Ok(v);
        }
        return Ok(v);
    }
    for ca in CAS {
        let DemoCa {
            name,
            display,
            organisation: org,
            parent,
            key: alg,
            policy_arc: arc,
        } = ca;
        if !trust.has_ca(name) {
            let policy = format!("1.3.6.1.4.1.99999.1.{arc}")
                .parse()
                .map_err(|_| anyhow::anyhow!("policy OID"))?;
            trust
                .create_ca(
                    &CaSpec {
                        name: (*name).into(),
                        display_name: (*display).into(),
                        organisation: (*org).into(),
                        parent: parent.map(Into::into),
                        key_algorithm: *alg,
                        policy,
                        validity_years: if parent.is_none() { 20 } else { 10 },
                    },
                    "demo",
                )
                .await
                .with_context(|| format!("creating CA {name}"))?;
        }
    }
    if !trust.has_tsa() {
        let policy = "1.3.6.1.4.1.99999.1.100"
            .parse()
            .map_err(|_| anyhow::anyhow!("policy OID"))?;
        trust
            .create_tsa("tamga-tsa", "mn-gov-ca", policy, "demo")
            .await
            .context("creating the TSA")?;
    }
    let chain_der = |ca: &str| -> anyhow::Result<Vec<Vec<u8>>> {
        let parent = CAS
            .iter()
            .find(|c| c.name == ca)
            .and_then(|c| c.parent)
            .unwrap_or(ca);
        Ok(vec![
            trust.ca_certificate(ca)?,
            trust.ca_certificate(parent)?,
        ])
    };
    let chain_pem = |ca: &str| -> anyhow::Result<String> {
        Ok(chain_der(ca)?
            .iter()
            .map(|c| pem(c))
            .collect::<anyhow::Result<Vec<_>>>()?
            .concat())
    };
    // Each holder's key and certificate chain in a PKCS#12 file under the demo PIN, as an ID
    // card's contents would be exported.
    let holder = |dir: &Path,
                  usage: &str,
                  ca: &str,
                  key: &SoftwareSigner,
                  cert: &[u8],
                  name: &str|
     -> anyhow::Result<()> {
        let p12 = build_pkcs12(
            &key.to_pkcs8()?,
            cert,
            &chain_der(ca)?,
            DEMO_PIN,
            name,
            100_000,
        )?;
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        crate::demo::write_atomically(&dir.join(format!("{usage}.p12")), &p12)?;
        write(&dir.join(format!("{usage}.crt.pem")), &pem(cert)?)
    };
    let mut citizens = Vec::new();
    for (given, father, latin, letters, sex, day, ca) in CITIZENS {
        let reg = RegistrationNumber::parse(&format!("{letters}0015{day}{sex}0"))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let subject = citizen_name(given, father, &reg)?;
        let alt = vec![registration_alt_name(&reg)?];
        let rel = Path::new("holders").join(latin.to_lowercase());
        let mut files = json!({});
        for (usage, profile) in [
            ("auth", Profile::CitizenAuth),
            ("sign", Profile::CitizenSign),
        ] {
            let key = SoftwareSigner::generate(usage, KeyAlgorithm::EcP256)?;
            let spec = IssueSpec {
                profile,
                subject: subject.clone(),
                spki_der: key.public_key_der().to_vec(),
                alt_names: alt.clone(),
                validity_days: 1825,
            };
            let (der, serial) = trust
                .issue(ca, spec, "demo", "demo citizen ID card")
                .await?;
            holder(
                &data.join(&rel),
                usage,
                ca,
                &key,
                &der,
                &format!("{given} {father} ({usage})"),
            )?;
            files[usage] = json!({ "pkcs12": rel.join(format!("{usage}.p12")), "certificate": rel.join(format!("{usage}.crt.pem")), "serial": serial });
        }
        write(&data.join(&rel).join("chain.pem"), &chain_pem(ca)?)?;
        citizens.push(json!({
            "name": format!("{given} {father}"),
            "registration_number": reg.cyrillic(),
            "serial_number_attribute": reg.serial_number_attribute(),
            "synthetic": "month field 15 never occurs in a real registration number",
            "ca": ca,
            "files": files,
            "chain": rel.join("chain.pem"),
        }));
    }
    let mut organisations = Vec::new();
    for (id, name, register) in ORGANISATIONS {
        let rel = Path::new("holders").join(id);
        let dns = format!("gw.{id}.khur.demo");
        let mut files = json!({});
        for usage in ["seal", "tls-server", "tls-client"] {
            let gateway_name = || -> anyhow::Result<x509_cert::name::Name> {
                Ok(NameBuilder::new()
                    .country("MN")?
                    .organization(name)?
                    .common_name(&dns)?
                    .build())
            };
            let dns_alt = vec![GeneralName::DnsName(der::asn1::Ia5String::new(&dns)?)];
            let (subject, alt_names, profile) = match usage {
                "seal" => (
                    organisation_name(name, register)?,
                    vec![],
                    Profile::LegalPersonSeal,
                ),
                "tls-server" => (gateway_name()?, dns_alt, Profile::TlsServer),
                _ => (gateway_name()?, dns_alt, Profile::TlsClient),
            };
            let key = SoftwareSigner::generate(usage, KeyAlgorithm::EcP256)?;
            let spec = IssueSpec {
                profile,
                subject,
                spki_der: key.public_key_der().to_vec(),
                alt_names,
                validity_days: 730,
            };
            let (der, serial) = trust
                .issue("mn-gov-ca", spec, "demo", "demo organisation")
                .await?;
            holder(
                &data.join(&rel),
                usage,
                "mn-gov-ca",
                &key,
                &der,
                &format!("{name} ({usage})"),
            )?;
            files[usage] = json!({ "pkcs12": rel.join(format!("{usage}.p12")), "certificate": rel.join(format!("{usage}.crt.pem")), "serial": serial });
        }
        write(&data.join(&rel).join("chain.pem"), &chain_pem("mn-gov-ca")?)?;
        organisations.push(json!({ "id": id, "name": name, "organization_identifier": format!("NTRMN-{register}"), "gateway_dns": dns, "files": files }));
    }
    // Officials signing on their organisation's behalf: the registration authority's (the
    // notary demo) and the social insurance authority's (the portal's back office).
    let mut officials = Vec::new();
    for (given, family, reg, org, org_mn, org_register, dir) in [
        (
            "Сарнай",
            "Дамдин",
            "УБ00151530",
            "gasr",
            "Улсын бүртгэлийн ерөнхий газар",
            "9000001",
            "official-gasr",
        ),
        (
            "Ганбаатар",
            "Батсүх",
            "УБ01151544",
            "gasi",
            "Нийгмийн даатгалын ерөнхий газар",
            "9000004",
            "official-gasi",
        ),
    ] {
        let official_reg = RegistrationNumber::parse(reg).map_err(|e| anyhow::anyhow!("{e}"))?;
        let key = SoftwareSigner::generate("official", KeyAlgorithm::EcP256)?;
        let spec = IssueSpec {
            profile: Profile::Official,
            subject: official_name(
                given,
                family,
                &official_reg,
                org_mn,
                org_register,
                "Мэргэжилтэн / Officer",
            )?,
            spki_der: key.public_key_der().to_vec(),
            alt_names: vec![registration_alt_name(&official_reg)?],
            validity_days: 730,
        };
        let (der, serial) = trust
            .issue("mn-gov-ca", spec, "demo", "demo official")
            .await?;
        let official_rel = Path::new("holders").join(dir);
        holder(
            &data.join(&official_rel),
            "sign",
            "mn-gov-ca",
            &key,
            &der,
            &format!("{given} {family} (official)"),
        )?;
        officials.push(json!({ "name": format!("{given} {family}"), "registration_number": reg, "organisation": org, "pkcs12": official_rel.join("sign.p12"), "certificate": official_rel.join("sign.crt.pem"), "serial": serial }));
    }
    let on_token = token_citizen_value(trust, data).await;
    let value = json!({
        "demo_pin": DEMO_PIN,
        "citizen_on_token": on_token,
        "holders_note": "holders/<name>/<usage>.p12: PKCS#12 (PBES2 AES-256, SHA-256 MAC) with key, certificate and chain; password = demo_pin. openssl pkcs12 -in FILE -passin pass:PIN -info",
        "certificate_authorities": CAS.iter().map(|c| {
            let (crl, ocsp, cert) = trust.urls(c.name);
            json!({ "name": c.name, "display_name": c.display, "parent": c.parent, "certificate": cert, "crl": crl, "ocsp": ocsp })
        }).collect::<Vec<_>>(),
        "citizens": citizens,
        "organisations": organisations,
        "officials": officials,
    });
    write(&state, &serde_json::to_string_pretty(&value)?)?;
    Ok(value)
}
