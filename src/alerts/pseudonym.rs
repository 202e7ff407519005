//! Keyed pseudonyms: the only patient identity an alert carries by default.
//!
//! A pseudonym is HMAC-SHA256 over the assigning authority and the MRN with a secret key the
//! operator provides (environment or file, never logged). The same patient always gets the same
//! pseudonym under one key, so a collaborative can link alerts without learning the MRN; without
//! the key nobody can test a guessed MRN against it. Alert IDs are derived the same way from the
//! discharge's identity, so they too reveal nothing about the visit number.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The shortest key accepted, in bytes: HMAC-SHA256 keys shorter than this are guessable.
pub const MIN_KEY_BYTES: usize = 16;

/// Errors building a [`Pseudonymizer`].
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PseudonymError {
    /// The key is shorter than [`MIN_KEY_BYTES`].
    #[error("pseudonym key is {len} bytes; at least {MIN_KEY_BYTES} are required")]
    KeyTooShort {
        /// Length of the key given.
        len: usize,
    },
}

/// Computes pseudonyms and alert IDs with one secret key. `Debug` never shows the key.
#[derive(Clone)]
pub struct Pseudonymizer {
    mac: HmacSha256,
}

impl fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pseudonymizer { key: [redacted] }")
    }
}

impl Pseudonymizer {
    /// Builds one from the secret key bytes (surrounding whitespace is not trimmed here: the
    /// config layer trims key files).
    pub fn new(key: &[u8]) -> Result<Self, PseudonymError> {
        if key.len() < MIN_KEY_BYTES {
            return Err(PseudonymError::KeyTooShort { len: key.len() });
        }
        // HMAC accepts keys of any length; the length check above is ours.
        let mac = HmacSha256::new_from_slice(key)
            .map_err(|_| PseudonymError::KeyTooShort { len: key.len() })?;
        Ok(Self { mac })
    }

    fn digest(&self, domain: &str, parts: &[&str]) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(domain.as_bytes());
        for part in parts {
            mac.update(&[0x1f]);
            mac.update(part.as_bytes());
        }
        mac.finalize().into_bytes().into()
    }

    /// The patient pseudonym: 32 lowercase hex characters (128 bits) of
    /// HMAC-SHA256(key, "patient" ‖ authority ‖ MRN).
    pub fn patient(&self, authority: &str, mrn: &str) -> String {
        hex::encode(&self.digest("patient", &[authority, mrn])[..16])
    }

    /// The stable ID of the alert about one discharge: the same sending facility, visit and
    /// patient always give the same ID, so receivers can de-duplicate and later updates and
    /// retractions point at it.
    pub fn alert_id(&self, facility: &str, visit: &str, authority: &str, mrn: &str) -> u128 {
        let d = self.digest("alert", &[facility, visit, authority, mrn]);
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&d[..16]);
        u128::from_be_bytes(bytes)
    }
}

/// Formats an alert ID as 32 lowercase hex characters.
pub fn alert_id_hex(id: u128) -> String {
    format!("{id:032x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn pseudonym_is_stable_keyed_and_hides_the_mrn() {
        let p = Pseudonymizer::new(KEY).unwrap();
        let a = p.patient("HOSP", "12345");
        assert_eq!(a, p.patient("HOSP", "12345"));
        assert_eq!(a.len(), 32);
        assert!(!a.contains("12345"));
        assert_ne!(a, p.patient("OTHER", "12345"));
        let q = Pseudonymizer::new(b"another key of 16+ bytes").unwrap();
        assert_ne!(a, q.patient("HOSP", "12345"));
    }

    #[test]
    fn known_answer() {
        // HMAC-SHA256(key, "patient\x1fHOSP\x1f12345"), first 16 bytes; computed independently
        // with Python's hmac module.
        let p = Pseudonymizer::new(KEY).unwrap();
        assert_eq!(p.patient("HOSP", "12345"), KNOWN_PATIENT);
    }
    const KNOWN_PATIENT: &str = "1e81837e4fc19c6fb9e377f15591e321";

    #[test]
    fn short_keys_are_refused_and_debug_redacts() {
        assert_eq!(
            Pseudonymizer::new(b"short").unwrap_err(),
            PseudonymError::KeyTooShort { len: 5 }
        );
        let p = Pseudonymizer::new(KEY).unwrap();
        assert!(!format!("{p:?}").contains("0123456789"));
    }

    #[test]
    fn alert_ids_are_stable_per_discharge() {
        let p = Pseudonymizer::new(KEY).unwrap();
        let a = p.alert_id("FAC", "V1", "HOSP", "1");
        assert_eq!(a, p.alert_id("FAC", "V1", "HOSP", "1"));
        assert_ne!(a, p.alert_id("FAC", "V2", "HOSP", "1"));
        assert_eq!(alert_id_hex(a).len(), 32);
    }
}
