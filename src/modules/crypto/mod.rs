//! community.crypto's key, request and certificate modules, done with the target's own
//! `openssl` (no Python there): keys are generated on the target and never leave it,
//! `openssl` turns PEM into DER for the query, and the control node reads the DER
//! ([`der`], [`x509`]) to decide as the collection's cryptography backend does.

pub mod certificate;
pub mod csr;
mod der;
mod fingerprint;
mod info;
mod oids;
mod openssl;
pub mod privatekey;
mod request;
mod timespec;
mod x509;
