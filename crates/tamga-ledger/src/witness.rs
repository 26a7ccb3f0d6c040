//! A witness (C2SP tlog-witness `add-checkpoint`, tlog-cosignature v1): it keeps the latest
//! checkpoint it cosigned per log and cosigns a new one only when it is signed by the log's key
//! and provably consistent with that one; the compare-and-replace is one transaction, so two
//! concurrent submissions cannot roll the log back. And the log's side: submitting each new
//! checkpoint to its witnesses and collecting their cosignatures.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine;
use tamga_keys::{SignatureAlgorithm, Signer};
use tamga_store::Store;

use crate::log::Log;
use crate::merkle;
use crate::note::{
    Checkpoint, Note, NoteSignature, TYPE_COSIGNATURE_V1, Verifier, cosignature_message,
};

/// An HTTP-shaped refusal: the status and the body the spec prescribes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {body}")]
pub struct WitnessError {
    /// HTTP status.
    pub status: u16,
    /// Response body.
    pub body: String,
    /// `text/x.tlog.size` for 409.
    pub size_body: bool,
}

fn refuse(status: u16, body: impl Into<String>) -> WitnessError {
    WitnessError {
        status,
        body: body.into(),
        size_body: false,
    }
}

/// A witness.
pub struct Witness {
    name: String,
    signer: Arc<dyn Signer>,
    verifier: Verifier,
    logs: HashMap<String, Vec<Verifier>>,
    store: Store,
}

impl Witness {
    /// A witness named `name` with an Ed25519 key, trusting `logs` (origin → log keys).
    pub fn new(
        name: &str,
        signer: Arc<dyn Signer>,
        logs: HashMap<String, Vec<Verifier>>,
        store: Store,
    ) -> Result<Self, String> {
        let pk = crate::note::ed25519_raw(signer.public_key_der())
            .ok_or("the witness key must be Ed25519")?;
        let verifier = Verifier::new(name, TYPE_COSIGNATURE_V1, pk).map_err(|e| e.to_string())?;
        Ok(Witness {
            name: name.into(),
            signer,
            verifier,
            logs,
            store,
        })
    }

    /// The witness's cosignature verifier key.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// Handles an `add-checkpoint` body; returns the cosignature line(s).
    pub async fn add_checkpoint(&self, body: &[u8], now: u64) -> Result<String, WitnessError> {
        let text = std::str::from_utf8(body).map_err(|_| refuse(400, "not UTF-8"))?;
        let (head, checkpoint) = text
            .split_once("\n\n")
            .ok_or_else(|| refuse(400, "no empty line before the checkpoint"))?;
        let mut lines = head.split('\n');
        let old: u64 = lines
            .next()
            .and_then(|l| l.strip_prefix("old "))
            .filter(|s| !s.is_empty() && (s == &"0" || !s.starts_with('0')))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| refuse(400, "first line must be `old <size>`"))?;
        let mut proof = Vec::new();
        for l in lines {
            let h = base64::engine::general_purpose::STANDARD
                .decode(l)
                .map_err(|_| refuse(400, "a proof line is not base64"))?;
            proof.push(h);
            if proof.len() > 63 {
                return Err(refuse(400, "more than 63 proof lines"));
            }
        }
        let note = Note::parse(checkpoint.as_bytes()).map_err(|e| refuse(400, e.to_string()))?;
        let cp = Checkpoint::parse(&note.text).map_err(|e| refuse(400, e.to_string()))?;
        let keys = self
            .logs
            .get(&cp.origin)
            .ok_or_else(|| refuse(404, format!("unknown log {}", cp.origin)))?;
        note.verify(keys).map_err(|e| refuse(403, e.to_string()))?;
        if old > cp.size {
            return Err(refuse(400, "old size is above the checkpoint size"));
        }
        let stored = self
            .store
            .witness_state(&self.name, &cp.origin)
            .await
            .map_err(|e| refuse(500, e.to_string()))?;
        let (stored_size, stored_note) = stored.unwrap_or((0, String::new()));
        if old != stored_size {
            return Err(WitnessError {
                status: 409,
                body: format!("{stored_size}\n"),
                size_body: true,
            });
        }
        if cp.size == 0 && cp.root != merkle::empty_root() {
            return Err(refuse(422, "a size-0 checkpoint must have the empty root"));
        }
        if old == 0 {
            if !proof.is_empty() {
                return Err(refuse(422, "no proof is needed from size 0"));
            }
        } else {
            // The stored record is the checkpoint text this witness verified and cosigned.
            let prev = Checkpoint::parse(&stored_note)
                .map_err(|_| refuse(500, "stored checkpoint unreadable"))?;
            if old == cp.size {
                if prev.root != cp.root {
                    return Err(refuse(422, "same size, different root"));
                }
            } else {
                merkle::verify_consistency(old, cp.size, &proof, &prev.root, &cp.root)
                    .map_err(|e| refuse(422, e.to_string()))?;
            }
        }
        match self
            .store
            .witness_advance(&self.name, &cp.origin, old, cp.size, &note.text)
            .await
            .map_err(|e| refuse(500, e.to_string()))?
        {
            Ok(()) => {}
            Err(now_size) => {
                return Err(WitnessError {
                    status: 409,
                    body: format!("{now_size}\n"),
                    size_body: true,
                });
            }
        }
        // The stored note is the checkpoint text (what consistency is checked against).
        let msg = cosignature_message(now, &note.text);
        let sig = self
            .signer
            .sign(SignatureAlgorithm::Ed25519, msg.as_bytes())
            .map_err(|e| refuse(500, e.to_string()))?;
        let mut s = now.to_be_bytes().to_vec();
        s.extend(sig);
        Ok(NoteSignature {
            name: self.name.clone(),
            key_id: self.verifier.key_id,
            signature: s,
        }
        .line())
    }
}

/// A witness a log submits to.
#[derive(Debug, Clone)]
pub struct WitnessClient {
    /// `…/add-checkpoint` URL.
    pub url: String,
    /// Its cosignature key.
    pub verifier: Verifier,
}

/// What the log keeps per witness.
#[derive(Default)]
pub struct Cosigner {
    known_size: HashMap<String, u64>,
}

/// How the log posts to a witness: (url, body) → (status, body).
pub type Post<'a> = &'a (
        dyn Fn(
    &str,
    String,
) -> std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<(u16, String), String>> + Send>,
> + Sync
    );

impl Cosigner {
    /// Submits the log's current checkpoint to every witness and stores the cosigned note.
    /// Witnesses that fail are skipped (logged); the checkpoint stays served as it is.
    pub async fn round(&mut self, log: &Log, witnesses: &[WitnessClient], post: Post<'_>) -> usize {
        let note_text = log.checkpoint();
        let Ok(note) = Note::parse(note_text.as_bytes()) else {
            return 0;
        };
        let Ok(cp) = Checkpoint::parse(&note.text) else {
            return 0;
        };
        // Only the log's own signature is sent; cosignatures are added back below.
        let own = Note {
            text: note.text.clone(),
            signatures: note
                .signatures
                .iter()
                .filter(|s| s.name == log.verifier().name && s.key_id == log.verifier().key_id)
                .cloned()
                .collect(),
        };
        let mut collected: Vec<NoteSignature> = Vec::new();
        for w in witnesses {
            for _attempt in 0..2 {
                let old = *self.known_size.get(&w.url).unwrap_or(&0);
                let old = old.min(cp.size);
                let proof = if old == 0 || old == cp.size {
                    vec![]
                } else {
                    match log.consistency_proof(old, cp.size).await {
                        Ok(p) => p,
                        Err(_) => break,
                    }
                };
                let mut body = format!("old {old}\n");
                for h in proof {
                    body.push_str(&base64::engine::general_purpose::STANDARD.encode(h));
                    body.push('\n');
                }
                body.push('\n');
                body.push_str(&own.to_text());
                match post(&w.url, body).await {
                    Ok((200, text)) => {
                        let full = format!("{}{}", own.to_text(), text);
                        if let Ok(n) = Note::parse(full.as_bytes())
                            && n.verify(std::slice::from_ref(&w.verifier)).is_ok()
                        {
                            collected.extend(n.signatures.into_iter().filter(|s| {
                                s.name == w.verifier.name && s.key_id == w.verifier.key_id
                            }));
                            self.known_size.insert(w.url.clone(), cp.size);
                        }
                        break;
                    }
                    Ok((409, text)) => {
                        let Ok(size) = text.trim().parse::<u64>() else {
                            break;
                        };
                        self.known_size.insert(w.url.clone(), size);
                    }
                    Ok((status, text)) => {
                        tracing::warn!(witness = %w.url, status, body = %text.trim(), "witness refused the checkpoint");
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(witness = %w.url, error = %e, "witness unreachable");
                        break;
                    }
                }
            }
        }
        if collected.is_empty() {
            return 0;
        }
        let n = collected.len();
        let mut cosigned = own;
        cosigned.signatures.extend(collected);
        if let Err(e) = log.set_cosigned(cp.size, cosigned.to_text()).await {
            tracing::warn!(error = %e, "storing the cosigned checkpoint");
        }
        n
    }
}
