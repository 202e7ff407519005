//! Deliberately malformed records ([`MalformedKind`]), each derived from the real message it
//! follows and given its own control ID, so the real stream stays intact.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::generate::Built;
use super::{MalformedKind, RecordKind, Role, SimRecord};

/// Replaces the first occurrence of `old` (the MSH-10) with `new`.
fn with_control(payload: &[u8], old: &[u8; 16], new: &[u8; 16]) -> Vec<u8> {
    let mut out = payload.to_vec();
    if let Some(at) = memchr::memmem::find(&out, old) {
        out[at..at + 16].copy_from_slice(new);
    }
    out
}

/// The first segment (MSH), without its terminator.
fn first_line(payload: &[u8]) -> &[u8] {
    match memchr::memchr(b'\r', payload) {
        Some(end) => &payload[..end],
        None => payload,
    }
}

/// Builds one malformed record after `source`.
pub(crate) fn build(
    rng: &mut ChaCha8Rng,
    kinds: &[MalformedKind],
    source: &Built,
    control: &[u8; 16],
) -> SimRecord {
    let kind = kinds
        .get(rng.gen_range(0..kinds.len().max(1)))
        .copied()
        .unwrap_or(MalformedKind::Truncated);
    let real = with_control(&source.record.payload, &source.control, control);
    let payload = match kind {
        MalformedKind::Truncated => {
            // Cut inside MSH: within MSH-2 (a truncated header) or before MSH-9 (no type).
            let msh = first_line(&real);
            let msh9 = memchr::memchr_iter(b'|', msh).nth(7).unwrap_or(msh.len());
            let cut = rng.gen_range(5..msh9.max(6));
            real[..cut.min(real.len())].to_vec()
        }
        MalformedKind::BadMsh => {
            let msh_len = first_line(&real).len();
            let mut out = real.clone();
            if rng.gen_bool(0.5) {
                // Space as field separator (in MSH only).
                for b in &mut out[..msh_len] {
                    if *b == b'|' {
                        *b = b' ';
                    }
                }
            } else {
                // Encoding characters cut to two: `MSH|^~|…`.
                out.drain(6..8);
            }
            out
        }
        MalformedKind::BinaryJunk => {
            let msh = first_line(&real);
            let mut out = Vec::with_capacity(msh.len() + 220);
            out.extend_from_slice(msh);
            out.push(b'\r');
            let n = rng.gen_range(40..200);
            out.push(rng.gen_range(0x80..=0xFF));
            for _ in 1..n {
                // High bytes and control bytes, never CR, LF or the MLLP bytes.
                let b: u8 = if rng.gen_bool(0.8) {
                    rng.gen_range(0x80..=0xFF)
                } else {
                    rng.gen_range(0x00..=0x08)
                };
                out.push(b);
            }
            out.push(b'\r');
            out
        }
        MalformedKind::WrongEncoding => {
            let mut out = Vec::with_capacity(2 + 2 * real.len());
            out.extend_from_slice(&[0xFF, 0xFE]);
            for &b in &real {
                out.push(b);
                out.push(0);
            }
            out
        }
        MalformedKind::MissingPid => {
            let mut out = Vec::with_capacity(real.len());
            for seg in real.split_inclusive(|&b| b == b'\r') {
                if !seg.starts_with(b"PID|") {
                    out.extend_from_slice(seg);
                }
            }
            out
        }
    };
    SimRecord {
        key: source.record.key.clone(),
        payload,
        kind: RecordKind::Malformed(kind),
        role: Role::Malformed,
        trigger: "malformed",
        encounter_id: source.record.encounter_id,
        patient_nbr: source.record.patient_nbr,
        event_minute: source.record.event_minute,
    }
}
