//! The registry and the global configuration (deny by default, validated commands, signature,
//! rollback, wrong instance, expiry), and the message log (durable before acknowledged,
//! batches with a time-stamp over a Merkle root, ledger indices per record, the grace period)
//! on SQLite and PostgreSQL.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tamga_exchange::globalconf::{self, ConfError, ConfIndex};
use tamga_exchange::messagelog::{
    BoxFut, LedgerSink, LogOptions, MessageLog, Timestamper, exchange_entry, leaf_of,
};
use tamga_exchange::registry::{Command, Registry, RegistryError};
use tamga_exchange::remote;
use tamga_exchange::tls::ConfHandle;
use tamga_keys::{KeyAlgorithm, Signer, SoftwareSigner};
use tamga_pki::issue::{CertificateRequest, Issuer, NameBuilder, Profile, issue};
use tamga_store::{RecordRow, Store, StoreOptions};
use tamga_testkit::TestDatabase;

async fn open(db: &TestDatabase) -> Store {
    Store::open(&db.url, &StoreOptions::default())
        .await
        .expect("store")
}

fn cert_pem(cn: &str) -> String {
    let key = SoftwareSigner::generate("k", KeyAlgorithm::EcP256).unwrap();
    let name = NameBuilder::new().common_name(cn).unwrap().build();
    let now = tamga_store::now_ms() / 1000;
    let (der, _) = issue(
        &Issuer {
            name: name.clone(),
            key_id: vec![1, 2, 3],
            signer: &key,
            policy: "1.3.6.1.4.1.99999.1.9".parse().unwrap(),
            crl_url: None,
            ocsp_url: None,
            ca_issuers_url: None,
        },
        &CertificateRequest {
            subject: name,
            spki_der: key.public_key_der().to_vec(),
            profile: Profile::LegalPersonSeal,
            not_before: now - 60,
            not_after: now + 3600,
            alt_names: vec![],
            extra_extensions: vec![],
        },
    )
    .unwrap();
    der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &der).unwrap()
}

fn government() -> Vec<Command> {
    let mut c = vec![];
    for (code, sub) in [
        ("9000001", "civil-registry"),
        ("9000002", "tax"),
        ("9000004", "social-insurance"),
    ] {
        c.push(Command::AddMember {
            class: "GOV".into(),
            code: code.into(),
            name_mn: "Байгууллага".into(),
            name_en: "Agency".into(),
        });
        c.push(Command::AddSubsystem {
            member: format!("MN/GOV/{code}"),
            code: sub.into(),
        });
    }
    c.push(Command::SetService {
        id: "MN/GOV/9000001/civil-registry/person".into(),
        version: "v1".into(),
        title_mn: "Иргэн".into(),
        title_en: "Person".into(),
        personal: true,
        openapi: Some(
            r#"{"openapi":"3.0.3","info":{"title":"p","version":"1"},"paths":{}}"#.into(),
        ),
    });
    c.push(Command::SetGroup {
        code: "agencies".into(),
        description: "agencies".into(),
        members: vec!["MN/GOV/9000004/social-insurance".into()],
    });
    c.push(Command::Grant {
        service: "MN/GOV/9000001/civil-registry/person".into(),
        client: "MN/GOV/9000002/tax".into(),
        max_disclosure_delay_days: 0,
    });
    c.push(Command::Grant {
        service: "MN/GOV/9000001/civil-registry/person".into(),
        client: "group:agencies".into(),
        max_disclosure_delay_days: 30,
    });
    c.push(Command::SetGateway {
        member: "MN/GOV/9000001".into(),
        address: "https://gw.gasr.example:8443".into(),
        tls_server_certificate: cert_pem("tls server"),
        tls_client_certificate: cert_pem("tls client"),
        signing_certificate: cert_pem("seal"),
    });
    c
}

#[tokio::test]
async fn registry_publishes_a_signed_configuration_that_denies_by_default() {
    for db in TestDatabase::all().await {
        let store = open(&db).await;
        let key: Arc<dyn Signer> =
            Arc::new(SoftwareSigner::generate("registry", KeyAlgorithm::EcP256).unwrap());
        let registry = Registry::open(store.clone(), Arc::clone(&key), "MN", 60)
            .await
            .unwrap();
        let v = registry
            .change(&government(), "operator", "initial")
            .await
            .unwrap();
        assert_eq!(v, 1);

        // Refused commands change nothing and say why.
        for (bad, why) in [
            (
                Command::AddSubsystem {
                    member: "MN/GOV/9999999".into(),
                    code: "x".into(),
                },
                "unknown member",
            ),
            (
                Command::Grant {
                    service: "MN/GOV/9000001/civil-registry/nothing".into(),
                    client: "MN/GOV/9000002/tax".into(),
                    max_disclosure_delay_days: 0,
                },
                "unknown service",
            ),
            (
                Command::Grant {
                    service: "MN/GOV/9000001/civil-registry/person".into(),
                    client: "group:nobody".into(),
                    max_disclosure_delay_days: 0,
                },
                "unknown group",
            ),
            (
                Command::Revoke {
                    service: "MN/GOV/9000001/civil-registry/person".into(),
                    client: "MN/GOV/9000004/social-insurance".into(),
                },
                "no right",
            ),
            (
                Command::SetGateway {
                    member: "MN/GOV/9000002".into(),
                    address: "http://plain".into(),
                    tls_server_certificate: cert_pem("a"),
                    tls_client_certificate: cert_pem("b"),
                    signing_certificate: cert_pem("c"),
                },
                "https",
            ),
            (
                Command::SetGateway {
                    member: "MN/GOV/9000002".into(),
                    address: "https://gw".into(),
                    tls_server_certificate: "not a certificate".into(),
                    tls_client_certificate: cert_pem("b"),
                    signing_certificate: cert_pem("c"),
                },
                "TLS server certificate",
            ),
            (
                Command::SetService {
                    id: "MN/GOV/9000001/civil-registry/x".into(),
                    version: "1".into(),
                    title_mn: "x".into(),
                    title_en: "x".into(),
                    personal: false,
                    openapi: Some("{\"swagger\":\"2.0\"}".into()),
                },
                "OpenAPI 3",
            ),
        ] {
            match registry.change(&[bad], "operator", "bad").await {
                Err(RegistryError::BadCommand(m)) => {
                    assert!(m.contains(why), "{m:?} should mention {why:?}")
                }
                other => panic!("{why}: {other:?}"),
            }
        }
        assert_eq!(
            registry.state().0,
            1,
            "refused commands leave the version alone"
        );
        let history = registry.history().await.unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].1, "operator");

        let signed = registry.signed_conf().unwrap();
        let conf = globalconf::verify(&signed, key.public_key_der()).unwrap();
        assert_eq!((conf.version, conf.instance.as_str()), (1, "MN"));
        let index = ConfIndex::new(conf.clone()).unwrap();
        let svc = "MN/GOV/9000001/civil-registry/person";
        assert_eq!(index.right(svc, "MN/GOV/9000002/tax"), Some(0));
        assert_eq!(
            index.right(svc, "MN/GOV/9000004/social-insurance"),
            Some(30),
            "through the group"
        );
        assert_eq!(
            index.right(svc, "MN/GOV/9000001/civil-registry"),
            None,
            "denied by default"
        );
        assert_eq!(
            index.right("MN/GOV/9000001/civil-registry/other", "MN/GOV/9000002/tax"),
            None
        );
        assert!(index.gateway("MN/GOV/9000001").is_some());

        // Someone else's key, a changed payload: refused.
        let other = SoftwareSigner::generate("other", KeyAlgorithm::EcP256).unwrap();
        assert_eq!(
            globalconf::verify(&signed, other.public_key_der()),
            Err(ConfError::BadSignature)
        );
        let mut env: serde_json::Value = serde_json::from_slice(&signed).unwrap();
        let mut payload: serde_json::Value = serde_json::from_slice(
            &base64::Engine::decode(
                &base64::engine::general_purpose::STANDARD,
                env["payload"].as_str().unwrap(),
            )
            .unwrap(),
        )
        .unwrap();
        payload["rights"][0]["client"] = "MN/GOV/9000004/social-insurance".into();
        env["payload"] = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            serde_json::to_vec(&payload).unwrap(),
        )
        .into();
        assert_eq!(
            globalconf::verify(&serde_json::to_vec(&env).unwrap(), key.public_key_der()),
            Err(ConfError::BadSignature)
        );

        // A gateway installs it; refuses a rollback, another instance, an expired one.
        let handle = ConfHandle::default();
        let serve = |bytes: Vec<u8>| -> remote::ConfSource {
            Arc::new(move || {
                let b = bytes.clone();
                Box::pin(async move { Ok(b) })
            })
        };
        let v1 = signed.as_ref().clone();
        assert_eq!(
            remote::refresh(&serve(v1.clone()), key.public_key_der(), "MN", &handle).await,
            Ok(1)
        );
        registry
            .change(
                &[Command::Revoke {
                    service: svc.into(),
                    client: "MN/GOV/9000002/tax".into(),
                }],
                "operator",
                "tax no longer needs it",
            )
            .await
            .unwrap();
        let v2 = registry.signed_conf().unwrap().as_ref().clone();
        assert_eq!(
            remote::refresh(&serve(v2), key.public_key_der(), "MN", &handle).await,
            Ok(2)
        );
        assert_eq!(
            handle.get().unwrap().right(svc, "MN/GOV/9000002/tax"),
            None,
            "revoked"
        );
        let rollback = remote::refresh(&serve(v1), key.public_key_der(), "MN", &handle).await;
        assert!(rollback.unwrap_err().contains("older"), "rollback refused");
        assert!(
            remote::refresh(
                &serve(registry.signed_conf().unwrap().as_ref().clone()),
                key.public_key_der(),
                "KZ",
                &ConfHandle::default()
            )
            .await
            .unwrap_err()
            .contains("instance")
        );
        let mut expired = conf.clone();
        expired.version = 9;
        expired.issued_at -= 7200;
        expired.expires_at = expired.issued_at + 60;
        let old = serde_json::to_vec(&globalconf::sign(&expired, key.as_ref()).unwrap()).unwrap();
        let e = remote::refresh(
            &serve(old),
            key.public_key_der(),
            "MN",
            &ConfHandle::default(),
        )
        .await
        .unwrap_err();
        assert!(e.contains("expired"), "{e}");
        assert!(
            ConfIndex::new(expired)
                .unwrap()
                .check_valid(tamga_store::now_ms() / 1000)
                .is_err()
        );

        // Reopening reads the stored state back.
        let again = Registry::open(store.clone(), key, "MN", 60).await.unwrap();
        assert_eq!(again.state().0, 2);
        store.close().await;
        db.cleanup().await;
    }
}

/// A ledger that keeps entries in memory and can be made to fail.
#[derive(Default)]
struct MemLedger {
    entries: Mutex<Vec<(String, Vec<u8>)>>,
    down: AtomicBool,
}

impl LedgerSink for MemLedger {
    fn append<'a>(
        &'a self,
        log: &'a str,
        entries: Vec<Vec<u8>>,
    ) -> BoxFut<'a, Result<Vec<u64>, String>> {
        Box::pin(async move {
            if self.down.load(Ordering::SeqCst) {
                return Err("ledger down".into());
            }
            let mut all = self.entries.lock().unwrap();
            let mut out = vec![];
            for e in entries {
                out.push(all.len() as u64);
                all.push((log.to_owned(), e));
            }
            Ok(out)
        })
    }
    fn receipt<'a>(
        &'a self,
        _log: &'a str,
        _index: u64,
    ) -> BoxFut<'a, Result<tamga_ledger::receipt::Receipt, String>> {
        Box::pin(async { Err("not in this test".into()) })
    }
}

struct FakeTsa;

impl Timestamper for FakeTsa {
    fn timestamp<'a>(&'a self, digest: [u8; 32]) -> BoxFut<'a, Result<Vec<u8>, String>> {
        Box::pin(async move { Ok(digest.to_vec()) })
    }
}

fn row(gateway: &str, n: usize, personal: bool) -> RecordRow {
    let record = if personal {
        format!(
            r#"{{"n":{n},"tracker":{{"commitment":"{}"}}}}"#,
            hex::encode([n as u8; 32])
        )
    } else {
        format!(r#"{{"n":{n}}}"#)
    };
    RecordRow {
        gateway: gateway.into(),
        x_road_id: format!("id-{n}"),
        side: "provider",
        client: "MN/GOV/9000002/tax".into(),
        service: "MN/GOV/9000001/civil-registry/person".into(),
        status: 200,
        at_ms: tamga_store::now_ms(),
        subject: personal.then(|| "УБ00150110".into()),
        disclose_after_ms: None,
        record_hash: globalconf::sha256(record.as_bytes()).to_vec(),
        access_commitment: personal.then(|| vec![n as u8; 32]),
        record,
    }
}

#[tokio::test]
async fn message_log_batches_are_timestamped_committed_and_the_grace_period_holds() {
    for db in TestDatabase::all().await {
        let store = open(&db).await;
        let ledger = Arc::new(MemLedger::default());
        let log = MessageLog::open(
            store.clone(),
            "MN/GOV/9000001",
            ledger.clone(),
            Arc::new(FakeTsa),
            LogOptions {
                grace: Duration::from_millis(600),
                interval: Duration::from_millis(50),
                max_batch: 8,
            },
        )
        .await
        .unwrap();
        // Concurrent writers; each acknowledged with its own sequence number.
        let mut tasks = vec![];
        for n in 0..20 {
            let log = Arc::clone(&log);
            tasks.push(tokio::spawn(async move {
                log.write(row("MN/GOV/9000001", n, n % 3 == 0))
                    .await
                    .unwrap()
            }));
        }
        let mut seqs = vec![];
        for t in tasks {
            seqs.push(t.await.unwrap());
        }
        seqs.sort();
        assert_eq!(
            seqs,
            (1..=20).collect::<Vec<i64>>(),
            "dense, unique sequence numbers"
        );
        tokio::time::sleep(Duration::from_millis(600)).await;
        for seq in 1..=20 {
            let a = log.accountability(seq).await.unwrap().expect("batched");
            let rec = store
                .exchange_records_by_seq("MN/GOV/9000001", seq)
                .await
                .unwrap()
                .unwrap();
            let root = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &a.root)
                .unwrap();
            let proof: Vec<Vec<u8>> = a
                .proof
                .iter()
                .map(|h| {
                    base64::Engine::decode(&base64::engine::general_purpose::STANDARD, h).unwrap()
                })
                .collect();
            tamga_ledger::merkle::verify_inclusion(
                a.leaf_index,
                a.batch_size,
                &leaf_of(&rec.record_hash),
                &proof,
                &root,
            )
            .expect("in its batch");
            assert_eq!(
                base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &a.tsa_token)
                    .unwrap(),
                root,
                "the token is over the root"
            );
            assert!(a.batch_size <= 8, "max_batch holds");
            let entries = ledger.entries.lock().unwrap();
            assert_eq!(
                entries[a.ledger_index as usize],
                ("exchange".to_owned(), exchange_entry(&rec.record_hash))
            );
            let personal = rec.subject.is_some();
            assert_eq!(a.access_index.is_some(), personal, "seq {seq}");
            if let Some(i) = a.access_index {
                assert_eq!(entries[i as usize].0, "access");
            }
        }
        assert!(log.accountable(tamga_store::now_ms()).is_ok());

        // The ledger goes away: records wait, and after the grace period the log says so.
        ledger.down.store(true, Ordering::SeqCst);
        let seq = log.write(row("MN/GOV/9000001", 100, false)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(900)).await;
        let e = log.accountable(tamga_store::now_ms()).unwrap_err();
        assert!(e.contains("ledger down"), "{e}");
        assert!(log.accountability(seq).await.unwrap().is_none());
        // It comes back: the waiting record is committed and the gateway may serve again.
        ledger.down.store(false, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(log.accountable(tamga_store::now_ms()).is_ok());
        assert!(log.accountability(seq).await.unwrap().is_some());
        // The tracker index: personal records of the subject, newest first.
        let usage = store
            .exchange_usage("MN/GOV/9000001", "УБ00150110", tamga_store::now_ms(), 100)
            .await
            .unwrap();
        assert_eq!(usage.len(), 7);
        assert!(usage.windows(2).all(|w| w[0].seq > w[1].seq));
        store.close().await;
        db.cleanup().await;
    }
}
