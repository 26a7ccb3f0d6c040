//! The demo's identity provider: its certificate sign-in listener (TLS certificate from the
//! demo government CA), two sample relying parties (`client_secret_basic` and
//! `private_key_jwt`) and an account with password + TOTP for each demo citizen, whose
//! ID-card certificates (`holders/<name>/auth.p12`) sign in at level high.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::{Context, anyhow};
use der::asn1::{Ia5String, OctetString};
use serde_json::{Value, json};
use std::sync::Arc;
use tamga_id::client::{AuthMethod, ClientRegistration, SubjectType};
use tamga_id::jose::{Jwk, JwkSet};
use tamga_id::provider::Profile;

use tamga_id::model::Loa;
use tamga_keys::{KeyAlgorithm, KeyStore, Signer, SoftwareKeyStore, SoftwareSigner};
use tamga_pki::ParsedCert;
use tamga_pki::identity::RegistrationNumber;
use tamga_pki::issue::{NameBuilder, Profile as CertProfile, citizen_name, registration_alt_name};
use tamga_trust::IssueSpec;
use x509_cert::ext::pkix::name::GeneralName;

use crate::startup::Started;

/// Demo passwords are `Tamga-demo-` and the citizen's Latin name: documented, not secret.
fn demo_password(latin: &str) -> String {
    format!("Tamga-demo-{latin}")
}

/// Starts certificate sign-in, registers the sample clients and accounts; returns the
/// manifest's `identity` part.
pub async fn start(started: &Started, data: &Path, country: &Value) -> anyhow::Result<Value> {
    let (Some(provider), Some(trust)) = (&started.identity, &started.trust) else {
        return Ok(Value::Null);
    };
    let dir = data.join("identity");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;

    // The certificate sign-in listener: its own port, a TLS certificate for 127.0.0.1.
    let node_addr: SocketAddr = started
        .base_url
        .trim_start_matches("http://")
        .parse()
        .context("demo base URL")?;
    let tls_key = SoftwareSigner::generate("id-tls", KeyAlgorithm::EcP256)?;
    let ip = node_addr.ip();
    let ip_octets = match ip {
        std::net::IpAddr::V4(v) => v.octets().to_vec(),
        std::net::IpAddr::V6(v) => v.octets().to_vec(),
    };
    let (tls_cert, _) = trust
        .issue(
            "mn-gov-ca",
            IssueSpec {
                profile: CertProfile::TlsServer,
                subject: NameBuilder::new()
                    .country("MN")?
                    .organization("Tamga demo identity provider")?
                    .common_name(&ip.to_string())?
                    .build(),
                spki_der: tls_key.public_key_der().to_vec(),
                alt_names: vec![
                    GeneralName::IpAddress(OctetString::new(ip_octets)?),
                    GeneralName::DnsName(Ia5String::new("localhost")?),
                ],
                validity_days: 90,
            },
            "demo",
            "certificate sign-in listener",
        )
        .await?;
    let mut chain = vec![tls_cert];
    chain.push(trust.ca_certificate("mn-gov-ca")?);
    let wanted = if node_addr.port() == 0 || node_addr.port() == u16::MAX {
        0
    } else {
        node_addr.port() + 1
    };
    let listener = match tokio::net::TcpListener::bind(SocketAddr::new(ip, wanted)).await {
        Ok(l) => l,
        Err(_) => tokio::net::TcpListener::bind(SocketAddr::new(ip, 0)).await?,
    };
    let cert_addr = listener.local_addr()?;
    let cert_url = format!("https://{cert_addr}");
    let anchors: Vec<ParsedCert> = trust
        .root_certificates()
        .iter()
        .filter_map(|d| ParsedCert::from_der(d).ok())
        .collect();
    let intermediates: Vec<ParsedCert> = trust
        .ca_names()
        .iter()
        .filter_map(|n| trust.ca_certificate(n).ok())
        .filter_map(|d| ParsedCert::from_der(&d).ok())
        .filter(|c| !c.is_self_issued())
        .collect();
    crate::identity_role::start_certificate_login(
        provider,
        listener,
        &cert_url,
        (chain, tls_key.to_pkcs8()?.to_vec()),
        anchors,
        intermediates,
        0,
    )?;
    let mut tls_ca = String::new();
    for root in trust.root_certificates() {
        tls_ca.push_str(
            &der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &root)
                .map_err(|e| anyhow!("PEM: {e}"))?,
        );
    }
    crate::demo::write_atomically(&dir.join("roots.pem"), tls_ca.as_bytes())?;

    // Sample relying parties.
    let base = &started.base_url;
    let redirects = vec![
        format!("{base}/demo-rp/callback"),
        "http://127.0.0.1:8400/callback".to_owned(),
        "http://localhost:8400/callback".to_owned(),
    ];
    let basic = ClientRegistration {
        client_id: "demo-rp".into(),
        client_name_mn: "Жишээ үйлчилгээ".into(),
        client_name_en: "Sample service".into(),
        redirect_uris: redirects.clone(),
        post_logout_redirect_uris: vec![
            format!("{base}/demo-rp/"),
            "http://127.0.0.1:8400/".into(),
        ],
        token_endpoint_auth_method: AuthMethod::ClientSecretBasic,
        jwks: None,
        subject_type: SubjectType::Pairwise,
        sector_identifier: None,
        allowed_scopes: vec![
            "profile".into(),
            "registration_number".into(),
            "offline_access".into(),
            "service".into(),
            "credential".into(),
            "representation".into(),
        ],
        require_pushed_authorization_requests: false,
        backchannel_logout_uri: None,
        introspect_any: false,
    };
    let secret = provider
        .register_client(basic)
        .await
        .map_err(|e| anyhow!("demo client: {e}"))?
        .unwrap_or_default();
    let key_path = dir.join("demo-rp-jwt.key.pem");
    let jwt_key = match std::fs::read_to_string(&key_path) {
        Ok(pem) => {
            let (_, der) = der::pem::decode_vec(pem.as_bytes())
                .map_err(|e| anyhow!("{}: {e}", key_path.display()))?;
            SoftwareSigner::from_pkcs8("demo-rp-jwt", &der)?
        }
        Err(_) => {
            let k = SoftwareSigner::generate("demo-rp-jwt", KeyAlgorithm::EcP256)?;
            let pem =
                der::pem::encode_string("PRIVATE KEY", der::pem::LineEnding::LF, &k.to_pkcs8()?)
                    .map_err(|e| anyhow!("PEM: {e}"))?;
            crate::demo::write_atomically(&key_path, pem.as_bytes())?;
            k
        }
    };
    let kid = jwt_key.key_id()[..16].to_owned();
    let jwk = Jwk::from_p256_spki(jwt_key.public_key_der(), &kid)?;
    let jwt_client = ClientRegistration {
        client_id: "demo-rp-jwt".into(),
        client_name_mn: "Жишээ үйлчилгээ (түлхүүр)".into(),
        client_name_en: "Sample service (key)".into(),
        redirect_uris: redirects,
        post_logout_redirect_uris: vec![],
        token_endpoint_auth_method: AuthMethod::PrivateKeyJwt,
        jwks: Some(JwkSet {
            keys: vec![jwk.clone()],
        }),
        subject_type: SubjectType::Pairwise,
        sector_identifier: None,
        allowed_scopes: vec!["profile".into(), "registration_number".into()],
        require_pushed_authorization_requests: true,
        backchannel_logout_uri: None,
        introspect_any: true,
    };
    provider
        .register_client(jwt_client)
        .await
        .map_err(|e| anyhow!("demo client: {e}"))?;

    // Remote signing: keys on the SoftHSM2 token made for it (or, without SoftHSM2, encrypted
    // software keys in the data dir).
    let (signing_keys, signing_store): (Arc<dyn KeyStore>, &str) = match remote_signing_token(data)
    {
        Some(store) => (store, "pkcs11 (SoftHSM2 token tamga-remote-signing)"),
        None => {
            let pass = std::fs::read(data.join("secrets/key-passphrase"))
                .context("demo key passphrase")?;
            (
                Arc::new(SoftwareKeyStore::open(
                    dir.join("remote-signing-keys"),
                    &pass,
                )?),
                "software (SoftHSM2 is not installed)",
            )
        }
    };
    provider.enable_remote_signing(Arc::clone(&signing_keys), Loa::High);

    // Accounts with password + TOTP for the demo citizens.
    let mut citizens = Vec::new();
    for c in country["citizens"].as_array().into_iter().flatten() {
        let reg = c["registration_number"].as_str().unwrap_or_default();
        let name = c["name"].as_str().unwrap_or_default();
        let (given, family) = name.split_once(' ').unwrap_or((name, ""));
        let latin = c["files"]["auth"]["pkcs12"]
            .as_str()
            .and_then(|p| p.split('/').nth(1))
            .unwrap_or("citizen")
            .to_owned();
        let password = demo_password(&latin);
        let profile = Profile {
            given_name: given.into(),
            family_name: family.into(),
            birthdate: None,
        };
        if let Err(e) = provider
            .create_account(reg, &profile, Some(&password), true)
            .await
        {
            tracing::debug!(error = %e, "demo account exists");
        }
        let account = started
            .store
            .id_account_by_registration(reg)
            .await?
            .ok_or_else(|| anyhow!("demo account {reg} missing"))?;
        let secret = account.totp_secret.clone().unwrap_or_default();
        let credential_id = format!("{latin}-sign");
        if started.store.id_credential(&credential_id).await?.is_none() {
            enroll(
                started,
                &signing_keys,
                &account.account_id,
                &credential_id,
                c,
                given,
                family,
            )
            .await?;
        }
        citizens.push(json!({
            "name": name,
            "registration_number": reg,
            "password": password,
            "totp_secret_base32": tamga_id::credentials::base32(&secret),
            "totp_code_command": format!("tamga id totp {}", tamga_id::credentials::base32(&secret)),
            "remote_signing_credential": credential_id,
            "id_card": {
                "pkcs12": c["files"]["auth"]["pkcs12"],
                "pkcs12_password": country["demo_pin"],
                "level": "http://eidas.europa.eu/LoA/high",
            },
        }));
    }
    let mandates = seed_mandates(provider, &started.store, &citizens).await?;
    let issuer = provider.issuer();
    Ok(json!({
        "mandates": mandates,
        "issuer": issuer,
        "discovery": format!("{issuer}/.well-known/openid-configuration"),
        "certificate_login_url": cert_url,
        "tls_roots": "identity/roots.pem",
        "admin_token_file": "secrets/id-admin-token",
        "remote_signing": {
            "csc_api": format!("{base}/csc/v2"),
            "keys": signing_store,
            "authorization": "OAuth 2.0 code flow with scope=credential, credentialID, numSignatures, hashes, hashAlgorithmOID; sign-in at level high; the citizen confirms each batch",
        },
        "acr_values": {
            "low": "http://eidas.europa.eu/LoA/low (password + TOTP)",
            "substantial": "http://eidas.europa.eu/LoA/substantial (passkey; not yet available)",
            "high": "http://eidas.europa.eu/LoA/high (ID-card certificate over mutual TLS, OCSP-checked)",
        },
        "clients": [
            {
                "client_id": "demo-rp",
                "token_endpoint_auth_method": "client_secret_basic",
                "client_secret": secret,
                "redirect_uris": [format!("{base}/demo-rp/callback"), "http://127.0.0.1:8400/callback", "http://localhost:8400/callback"],
                "scopes": "openid profile registration_number offline_access",
            },
            {
                "client_id": "demo-rp-jwt",
                "token_endpoint_auth_method": "private_key_jwt",
                "private_key_pem": "identity/demo-rp-jwt.key.pem",
                "kid": kid,
                "jwk": jwk,
                "require_pushed_authorization_requests": true,
            },
        ],
        "citizens": citizens,
    }))
}

fn remote_signing_token(data: &Path) -> Option<Arc<dyn KeyStore>> {
    let module = crate::demo_country::softhsm_module()?;
    std::env::var_os("SOFTHSM2_CONF")?;
    let pin =
        std::fs::read_to_string(data.join(crate::demo_country::REMOTE_SIGNING_PIN_FILE)).ok()?;
    match tamga_keys::Pkcs11KeyStore::open(&tamga_keys::Pkcs11Config {
        module,
        token_label: crate::demo_country::REMOTE_SIGNING_TOKEN.into(),
        pin: pin.trim().to_owned().into(),
    }) {
        Ok(s) => Some(Arc::new(s)),
        Err(e) => {
            tracing::warn!(error = %e, "remote-signing token unavailable; using software keys");
            None
        }
    }
}

/// Generates a citizen's remote-signing key on the token and has the citizen's CA certify it.
async fn enroll(
    started: &Started,
    keys: &Arc<dyn KeyStore>,
    account_id: &str,
    credential_id: &str,
    citizen: &Value,
    given: &str,
    family: &str,
) -> anyhow::Result<()> {
    let Some(trust) = &started.trust else {
        return Ok(());
    };
    let reg = RegistrationNumber::parse(citizen["registration_number"].as_str().unwrap_or(""))
        .map_err(|e| anyhow!("{e}"))?;
    let ca = citizen["ca"].as_str().unwrap_or("accredited-a-ca");
    let ks = Arc::clone(keys);
    let label = format!("csc-{credential_id}");
    let key =
        tokio::task::spawn_blocking(move || ks.open_or_generate(&label, KeyAlgorithm::EcP256))
            .await
            .context("key task")??;
    let (der, _) = trust
        .issue(
            ca,
            IssueSpec {
                profile: CertProfile::CitizenSign,
                subject: citizen_name(given, family, &reg)?,
                spki_der: key.public_key_der().to_vec(),
                alt_names: vec![registration_alt_name(&reg)?],
                validity_days: 1825,
            },
            "demo",
            "remote-signing credential",
        )
        .await?;
    use base64::Engine;
    let b64 = |d: &[u8]| base64::engine::general_purpose::STANDARD.encode(d);
    let mut chain = vec![b64(&der)];
    let ca_cert = trust.ca_certificate(ca)?;
    let parsed = ParsedCert::from_der(&ca_cert)?;
    chain.push(b64(&ca_cert));
    for root in trust.root_certificates() {
        if ParsedCert::from_der(&root).is_ok_and(|r| r.subject() == parsed.issuer()) {
            chain.push(b64(&root));
        }
    }
    started
        .store
        .id_credential_put(&tamga_store::CredentialRow {
            credential_id: credential_id.into(),
            account_id: account_id.into(),
            key_label: key.label().into(),
            certificates: serde_json::to_string(&chain)?,
            description: format!("{family} {given} — {}", reg.cyrillic()),
        })
        .await?;
    Ok(())
}

/// Civil registration and the state register, as far as the demo needs them: the first demo
/// citizen has a child under 16 (whom they may represent), one over 16 (whom they may not),
/// and is the legal representative of a company, who lets the second citizen act for it.
async fn seed_mandates(
    provider: &Arc<tamga_id::Provider>,
    store: &tamga_store::Store,
    citizens: &[Value],
) -> anyhow::Result<Value> {
    let (Some(parent), Some(employee)) = (citizens.first(), citizens.get(1)) else {
        return Ok(Value::Null);
    };
    let parent_reg = parent["registration_number"].as_str().unwrap_or_default();
    let employee_reg = employee["registration_number"].as_str().unwrap_or_default();
    let parent_name = parent["name"].as_str().unwrap_or_default();
    let family = parent_name.split(' ').next().unwrap_or_default();
    let row = |subject_kind: &str,
               subject_id: &str,
               subject_name: String,
               basis: &str,
               granted_by: &str,
               birth: Option<&str>| {
        tamga_store::MandateRow {
            mandate_id: tamga_id::credentials::random_token()[..22].to_owned(),
            actor: parent_reg.to_owned(),
            subject_kind: subject_kind.into(),
            subject_id: subject_id.into(),
            subject_name,
            basis: basis.into(),
            granted_by: granted_by.into(),
            subject_birthdate: birth.map(str::to_owned),
            valid_until_ms: None,
        }
    };
    // Synthetic numbers: month field 15 never occurs in a real registration number.
    for m in [
        row(
            "person",
            "УБ15150111",
            format!("Тэмүүлэн {family}"),
            "parent",
            "civil-registration",
            Some("2015-05-12"),
        ),
        row(
            "person",
            "УБ09150122",
            format!("Номин {family}"),
            "parent",
            "civil-registration",
            Some("2009-03-04"),
        ),
        row(
            "organization",
            "9100001",
            "Жишээ Трейд ХХК / Example Trade LLC".into(),
            "legal-representative",
            "state-register",
            None,
        ),
    ] {
        // Present already on a restart; anything else is a defect.
        match provider.add_mandate(m).await {
            Ok(_) => {}
            Err(e) if e.contains("exists already") => {}
            Err(e) => anyhow::bail!("demo mandate: {e}"),
        }
    }
    if let Some(account) = store.id_account_by_registration(parent_reg).await? {
        match provider
            .grant_employee_mandate_as(&account.account_id, "9100001", employee_reg)
            .await
        {
            Ok(_) => {}
            Err(e) if e.contains("exists already") => {}
            Err(e) => anyhow::bail!("demo employee mandate: {e}"),
        }
    }
    Ok(json!({
        "note": "the first citizen may act for Тэмүүлэн (under 16; Номин is 17 and is not offered) and for Example Trade LLC; the second citizen acts for the company by the first citizen's grant (scope representation)",
        "parent": parent_reg,
        "employee": employee_reg,
        "company": "9100001",
    }))
}

/// Connects the portal to the identity provider (as an OIDC client) and to the data trackers
/// (through the portal operator's gateway); returns the manifest's `portal` part.
pub async fn connect_portal(
    started: &Started,
    exchange: &Value,
    data: &Path,
    country: &Value,
) -> anyhow::Result<Value> {
    let (Some(portal), Some(provider)) = (&started.portal, &started.identity) else {
        return Ok(Value::Null);
    };
    let base = &started.base_url;
    let redirect = format!("{base}/portal/callback");
    let secret = provider
        .register_client(ClientRegistration {
            client_id: "citizen-portal".into(),
            client_name_mn: "Иргэний портал".into(),
            client_name_en: "Citizen portal".into(),
            redirect_uris: vec![
                redirect.clone(),
                format!("{base}/portal/remote-sign/callback"),
            ],
            post_logout_redirect_uris: vec![format!("{base}/portal")],
            token_endpoint_auth_method: AuthMethod::ClientSecretBasic,
            jwks: None,
            subject_type: SubjectType::Pairwise,
            sector_identifier: None,
            // `service` and `credential`: signing applications with the citizen's remote
            // signing certificate (CSC API).
            allowed_scopes: vec![
                "profile".into(),
                "registration_number".into(),
                "service".into(),
                "credential".into(),
            ],
            require_pushed_authorization_requests: false,
            backchannel_logout_uri: None,
            introspect_any: false,
        })
        .await
        .map_err(|e| anyhow!("portal client: {e}"))?
        .unwrap_or_default();
    portal.set_oidc(tamga_portal::account::OidcSettings {
        issuer: provider.issuer().to_owned(),
        client_id: "citizen-portal".into(),
        client_secret: secret,
        redirect_uri: redirect,
        acr: None,
    });
    let khur = crate::demo_exchange::subsystem_id("khur")?;
    let member = khur
        .rsplit_once('/')
        .map(|(m, _)| m.to_owned())
        .unwrap_or_default();
    let consumer = exchange["gateways"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|g| g["member"].as_str() == Some(member.as_str()))
        .and_then(|g| g["consumer"].as_str())
        .map(str::to_owned);
    if let Some(consumer_url) = &consumer {
        portal.set_tracker(tamga_portal::account::TrackerSettings {
            consumer_url: consumer_url.clone(),
            client: khur.clone(),
            services: ["gasr", "gasi", "mta"]
                .iter()
                .map(|o| crate::demo_exchange::subsystem_id(o).map(|s| format!("{s}/findUsage")))
                .collect::<anyhow::Result<_>>()?,
            ledger_url: Some(base.clone()),
        });
    }
    portal.set_validator(&format!("{base}/api/v1/validate"));
    // The notarised sale contract is in both parties' wallets (once).
    let contract = data.join("documents/sale-contract.signed.pdf");
    let mut wallets = Vec::new();
    if let Ok(pdf) = std::fs::read(&contract) {
        for c in country["citizens"].as_array().into_iter().flatten().take(2) {
            let reg = c["registration_number"].as_str().unwrap_or_default();
            if started.store.wallet_of(reg).await?.is_empty() {
                portal
                    .add_document(
                        reg,
                        "Орон сууц худалдах, худалдан авах гэрээ (нотариатаар гэрчлэгдсэн)",
                        "Apartment sale contract (notarised)",
                        "application/pdf",
                        "sale-contract.signed.pdf",
                        "Монголын Нотариатчдын Танхим / Chamber of Notaries",
                        &pdf,
                    )
                    .await
                    .map_err(|e| anyhow!("wallet: {e}"))?;
            }
            wallets.push(reg.to_owned());
        }
    }
    Ok(json!({
        "wallet": format!("{base}/portal/wallet"),
        "wallet_holders": wallets,
        "home": format!("{base}/portal"),
        "my_data": format!("{base}/portal/my-data"),
        "oidc_client": "citizen-portal",
        "tracker_gateway": consumer,
        "tracker_client": khur,
    }))
}
