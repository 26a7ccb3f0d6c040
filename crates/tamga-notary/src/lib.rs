//! e-Notary: "digitally signed contract verification services within the framework of
//! e-Notary", recognised by courts and banks.
//!
//! - [`contracts`]: the workflow — parties sign the current version in turn (PAdES), a notary
//!   with an official certificate countersigns after checking identities and mandates, the act
//!   is completed to B-LTA, numbered in the notarial register and committed to the ledger.
//! - [`http`]: the notary office's API and the public verification service (by register
//!   number, by verification code, by document; evidence bundles for offline verification).

pub mod contracts;
pub mod http;
