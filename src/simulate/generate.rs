//! One patient's records: timeline planning (prior year, index stay, readmission, sprinkles)
//! and ER7 rendering. See the [module docs](super) for what is generated and why.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::calendar::{self, days_from_civil, DAY};
use super::icd::dg1_code;
use super::malformed;
use super::{Area, RecordKind, Role, SimConfig, SimError, SimRecord};
use crate::features::codes::{AdmissionType, AdmitSource, AgeDecade, Disposition, Race, Sex};
use crate::features::dataset::DatasetRow;
use crate::features::MAX_COUNT;
use crate::hl7::{escape, Delimiters};

/// Days between the index admissions of one patient's encounters.
pub(crate) const ENCOUNTER_SPACING_DAYS: i64 = 800;
/// Control-ID sequence namespaces (bits 22–23 of the 24-bit sequence).
const NS_BASE: u32 = 0;
const NS_SPRINKLE: u32 = 1 << 22;
pub(crate) const NS_MALFORMED: u32 = 2 << 22;

const FAMILY: [&str; 16] = [
    "Testperson",
    "Simulado",
    "Fakerson",
    "Mockwell",
    "Synthwood",
    "Dummyfield",
    "Placeholder",
    "Notreal",
    "Samplesen",
    "Trialson",
    "Exampleton",
    "Pseudonymo",
    "Fictus",
    "Madeupski",
    "Zzsimula",
    "Imaginario",
];
const GIVEN: [&str; 16] = [
    "Alex", "Jordan", "Casey", "Morgan", "Riley", "Taylor", "Jamie", "Avery", "Quinn", "Rowan",
    "Skyler", "Dakota", "Emerson", "Finley", "Harper", "Reese",
];
const STREETS: [&str; 6] = [
    "Synthetic St",
    "Simulation Ave",
    "Placeholder Rd",
    "Example Blvd",
    "Testing Ln",
    "Mock Ct",
];
const ATTENDING: [&str; 6] = [
    "D1001^Simdoc^Avery^^^^MD",
    "D1002^Fakedoc^Blake^^^^MD",
    "D1003^Testdoc^Cameron^^^^MD",
    "D1004^Mockdoc^Devon^^^^MD",
    "D1005^Simdoc^Ellis^^^^MD",
    "D1006^Testdoc^Frankie^^^^MD",
];
const PROCEDURES: [&str; 6] = [
    "38.93^Venous catheterization NEC^I9CP",
    "88.72^Diagnostic ultrasound of heart^I9CP",
    "99.04^Transfusion of packed cells^I9CP",
    "45.13^Other endoscopy of small intestine^I9CP",
    "87.44^Routine chest x-ray^I9CP",
    "39.95^Hemodialysis^I9CP",
];

/// Checks that a row can be emitted (ids in their tables, age band readable, label known,
/// counts within the feature limits).
pub(crate) fn check_row(i: usize, row: &DatasetRow) -> Result<(), SimError> {
    let err = |column, reason| {
        Err(SimError::Row {
            row: i,
            column,
            reason,
        })
    };
    if AdmissionType::from_id(row.admission_type_id).is_none() {
        return err("admission_type_id", "outside the dataset's code table");
    }
    if AdmitSource::from_id(row.admission_source_id).is_none() {
        return err("admission_source_id", "outside the dataset's code table");
    }
    if Disposition::from_id(row.discharge_disposition_id).is_none() {
        return err(
            "discharge_disposition_id",
            "outside the dataset's code table",
        );
    }
    if AgeDecade::from_dataset(&row.age).is_none() {
        return err("age", "not an age band like [70-80)");
    }
    if !matches!(row.readmitted.as_str(), "<30" | ">30" | "NO") {
        return err("readmitted", "not one of <30, >30, NO");
    }
    for (column, v) in [
        ("time_in_hospital", row.time_in_hospital),
        ("num_procedures", row.num_procedures),
        ("number_outpatient", row.number_outpatient),
        ("number_emergency", row.number_emergency),
        ("number_inpatient", row.number_inpatient),
        ("number_diagnoses", row.number_diagnoses),
    ] {
        if v > MAX_COUNT {
            return err(column, "above the feature limit");
        }
    }
    Ok(())
}

/// SplitMix64 finaliser.
fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn mix(seed: u64, salt: u64, patient_nbr: u64) -> u64 {
    splitmix(splitmix(seed ^ salt.rotate_left(17)) ^ patient_nbr)
}

fn rng(seed: u64, patient_nbr: u64, stream: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(mix(seed, 0x5eed, patient_nbr));
    r.set_stream(stream);
    r
}

fn pick<T>(list: &[T], seed: u64, salt: u64, patient_nbr: u64) -> &T {
    // Lists are validated non-empty; the modulo keeps the index in range.
    &list[(mix(seed, salt, patient_nbr) % list.len() as u64) as usize]
}

/// The patient's facility (MSH-4, PV1-3.4).
pub(crate) fn facility_of(cfg: &SimConfig, patient_nbr: u64) -> &str {
    pick(&cfg.facilities, cfg.seed, 1, patient_nbr).as_str()
}

fn area_of(cfg: &SimConfig, patient_nbr: u64) -> &Area {
    pick(&cfg.areas, cfg.seed, 2, patient_nbr)
}

/// MSH-10: a keyed bijection of (patient_nbr, 24-bit sequence) as 16 hex digits, so IDs are
/// unique without carrying the MRN.
pub(crate) fn control_id(seed: u64, patient_nbr: u64, seq: u32) -> [u8; 16] {
    let k = splitmix(seed);
    let mut x = (patient_nbr << 24) | u64::from(seq & 0x00FF_FFFF);
    x ^= k;
    x = x.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 29;
    x = x.wrapping_add(k.rotate_left(32));
    let mut out = [0u8; 16];
    for (i, slot) in out.iter_mut().enumerate() {
        let nibble = ((x >> (60 - 4 * i)) & 0xF) as u8;
        *slot = if nibble < 10 {
            b'0' + nibble
        } else {
            b'A' + nibble - 10
        };
    }
    out
}

/// Escaped text values of one patient, rendered once.
struct PatientCtx {
    patient_nbr: u64,
    key: Vec<u8>,
    mrn: String,
    dup_mrn: String,
    authority: String,
    facility: String,
    sending_application: String,
    receiver: String,
    name: String,
    address: String,
    delims: Delimiters,
    seed: u64,
}

/// One encounter's fixed parts.
struct EncCtx<'r> {
    row: &'r DatasetRow,
    /// Index admission and discharge, minutes.
    admit: i64,
    discharge: i64,
    pid: Vec<u8>,
    pid_dup: Vec<u8>,
    /// DG1 + PR1 segments of the index A03.
    clinical: Vec<u8>,
    /// The priority-1 DG1 (when coded), for prior stays and the readmission.
    principal: Vec<u8>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum VisitNo {
    Index,
    Prior(u32),
    Readmit,
}

#[derive(Clone, Copy)]
enum What {
    Emergency { n: u32, dup: bool },
    Outpatient { n: u32 },
    PriorAdmit { n: u32 },
    PriorDischarge { n: u32, admit: i64 },
    IndexAdmit,
    IndexDischarge,
    ReadmitAdmit,
    ReadmitDischarge { admit: i64 },
    Merge,
    Update,
    Cancel,
    Resend,
}

struct Event {
    minute: i64,
    what: What,
}

/// A record plus its control ID (for malformed variants).
pub(crate) struct Built {
    pub(crate) record: SimRecord,
    pub(crate) control: [u8; 16],
}

/// Generates every record of one patient.
pub(crate) fn patient(cfg: &SimConfig, patient_nbr: u64, rows: &[&DatasetRow]) -> Vec<SimRecord> {
    let mut main = rng(cfg.seed, patient_nbr, 0);
    let mut spr = rng(cfg.seed, patient_nbr, 1);
    let mut mal = rng(cfg.seed, patient_nbr, 2);
    let delims = Delimiters::default();
    let esc = |s: &str| escape(s, &delims).into_owned();

    let base_day = days_from_civil(2016, 1, 1) + main.gen_range(0..730);
    // Admission and discharge minutes of each encounter.
    let times: Vec<(i64, i64)> = rows
        .iter()
        .enumerate()
        .map(|(k, row)| {
            let day = base_day + ENCOUNTER_SPACING_DAYS * k as i64;
            let admit = day * DAY + main.gen_range(360..1260);
            let los = i64::from(row.time_in_hospital);
            let discharge = if los == 0 {
                admit + main.gen_range(30..180)
            } else {
                (day + los) * DAY + main.gen_range(480..1140)
            };
            (admit, discharge)
        })
        .collect();
    let births = birth_days(&mut main, rows, &times);

    let area = area_of(cfg, patient_nbr);
    let family = pick(&FAMILY, cfg.seed, 3, patient_nbr);
    let given = pick(&GIVEN, cfg.seed, 4, patient_nbr);
    let street = format!(
        "{} {}",
        100 + mix(cfg.seed, 5, patient_nbr) % 9_800,
        pick(&STREETS, cfg.seed, 6, patient_nbr)
    );
    let mrn = patient_nbr.to_string();
    let ctx = PatientCtx {
        patient_nbr,
        key: mrn.clone().into_bytes(),
        dup_mrn: format!("D{patient_nbr}"),
        mrn,
        authority: esc(&cfg.assigning_authority),
        facility: esc(facility_of(cfg, patient_nbr)),
        sending_application: esc(&cfg.sending_application),
        receiver: esc(&cfg.receiver),
        name: format!("{}^{}^^^^^L", esc(family), esc(given)),
        address: format!(
            "{}^^{}^{}^{}^USA^H^^{}",
            esc(&street),
            esc(&area.city),
            esc(&area.state),
            esc(&area.zip),
            esc(&area.county)
        ),
        delims,
        seed: cfg.seed,
    };

    let mut out = Vec::new();
    let mut seq_base = NS_BASE;
    let mut seq_spr = NS_SPRINKLE;
    let mut seq_mal = NS_MALFORMED;
    for (k, row) in rows.iter().enumerate() {
        let (admit, discharge) = times[k];
        let enc = EncCtx {
            row,
            admit,
            discharge,
            pid: pid_segment(&ctx, &ctx.mrn, births[k], row),
            pid_dup: pid_segment(&ctx, &ctx.dup_mrn, births[k], row),
            clinical: clinical_segments(row, cfg.icd10, admit, discharge),
            principal: principal_dg1(row, cfg.icd10),
        };
        let (base, sprinkles, duplicate) = plan(&mut main, &mut spr, cfg.sprinkle, &enc);
        // Merge the two sorted lists by time (base first on ties), numbering each namespace.
        let mut built: Vec<Built> = Vec::with_capacity(base.len() + sprinkles.len() + 1);
        let (mut i, mut j) = (0, 0);
        while i < base.len() || j < sprinkles.len() {
            let take_base =
                j >= sprinkles.len() || (i < base.len() && base[i].minute <= sprinkles[j].minute);
            let (ev, seq) = if take_base {
                i += 1;
                seq_base += 1;
                (&base[i - 1], seq_base)
            } else {
                j += 1;
                seq_spr += 1;
                (&sprinkles[j - 1], seq_spr)
            };
            built.push(render(&ctx, &enc, ev, seq));
        }
        if let Some(pick_at) = duplicate {
            let at = pick_at % built.len().max(1);
            if let Some(orig) = built.get(at) {
                let mut copy = orig.record.clone();
                copy.role = Role::Duplicate;
                if copy.kind == RecordKind::IndexDischarge {
                    copy.kind = RecordKind::Other;
                }
                let control = orig.control;
                built.insert(
                    at + 1,
                    Built {
                        record: copy,
                        control,
                    },
                );
            }
        }
        for b in built {
            let extra = if cfg.malformed > 0.0 && mal.gen_bool(cfg.malformed) {
                seq_mal += 1;
                let new_control = control_id(cfg.seed, patient_nbr, seq_mal);
                Some(malformed::build(
                    &mut mal,
                    &cfg.malformed_kinds,
                    &b,
                    &new_control,
                ))
            } else {
                None
            };
            out.push(b.record);
            if let Some(m) = extra {
                out.push(m);
            }
        }
    }
    out
}

/// Birth dates (day numbers) per encounter: one date for the patient when every encounter's
/// age band allows it, else one per encounter; always ≥ 15 days inside the band.
fn birth_days(main: &mut ChaCha8Rng, rows: &[&DatasetRow], times: &[(i64, i64)]) -> Vec<i64> {
    const MARGIN: i64 = 15;
    let bounds: Vec<(i64, i64, u8)> = rows
        .iter()
        .zip(times)
        .map(|(row, &(_, discharge))| {
            let d = discharge.div_euclid(DAY);
            let decade = AgeDecade::from_dataset(&row.age).map_or(0, AgeDecade::decade);
            let lo = i64::from(decade) * 10;
            // At least one year old, so prior-year visits never predate the birth.
            let latest = calendar::minus_years(d, lo.max(1)) - MARGIN;
            let earliest = calendar::minus_years(d, lo + 10) + 1 + MARGIN;
            (earliest, latest, decade)
        })
        .collect();
    let lo = bounds.iter().map(|b| b.0).max().unwrap_or(0);
    let hi = bounds.iter().map(|b| b.1).min().unwrap_or(0);
    let fits = |birth: i64| {
        bounds.iter().zip(times).all(|(b, &(_, discharge))| {
            let age = calendar::age_years(birth, discharge.div_euclid(DAY));
            AgeDecade::from_years(u32::try_from(age).unwrap_or(0)).decade() == b.2 && age >= 0
        })
    };
    if lo <= hi {
        let birth = main.gen_range(lo..=hi);
        if fits(birth) {
            return vec![birth; rows.len()];
        }
    }
    bounds
        .iter()
        .map(|&(e, l, _)| if e <= l { main.gen_range(e..=l) } else { l })
        .collect()
}

/// Plans one encounter: base events (sorted), sprinkle events (sorted) and, when a duplicate
/// message is sprinkled, a random number choosing which message is copied.
fn plan(
    main: &mut ChaCha8Rng,
    spr: &mut ChaCha8Rng,
    sprinkle: f64,
    enc: &EncCtx<'_>,
) -> (Vec<Event>, Vec<Event>, Option<usize>) {
    let t = enc.admit;
    let row = enc.row;
    let mut base = Vec::new();
    let mut n = 0u32;
    // Prior inpatient stays: one per equal segment of T-360d .. T-2d, never overlapping.
    let ni = i64::from(row.number_inpatient);
    if ni > 0 {
        let start = t - 360 * DAY;
        let seg = (358 * DAY) / ni;
        for j in 0..ni {
            n += 1;
            let s = start + j * seg;
            let admit = s + main.gen_range(0..(seg / 3).max(1));
            let room = (s + seg - 60 - admit).max(1);
            let wanted = main.gen_range(1..=5) * DAY + main.gen_range(-180..180);
            let discharge = admit + wanted.clamp(1, room);
            base.push(Event {
                minute: admit,
                what: What::PriorAdmit { n },
            });
            base.push(Event {
                minute: discharge,
                what: What::PriorDischarge { n, admit },
            });
        }
    }
    // ED visits: T-180d .. T-1d (inside the 6-month window).
    let ne = i64::from(row.number_emergency);
    let mut first_ed = None;
    if ne > 0 {
        let start = t - 180 * DAY;
        let seg = (179 * DAY) / ne;
        for j in 0..ne {
            n += 1;
            let minute = start + j * seg + main.gen_range(0..seg.max(1));
            if j == 0 {
                first_ed = Some((base.len(), minute));
            }
            base.push(Event {
                minute,
                what: What::Emergency { n, dup: false },
            });
        }
    }
    // Outpatient visits: T-360d .. T-1d.
    let no = i64::from(row.number_outpatient);
    if no > 0 {
        let start = t - 360 * DAY;
        let seg = (359 * DAY) / no;
        for j in 0..no {
            n += 1;
            base.push(Event {
                minute: start + j * seg + main.gen_range(0..seg.max(1)),
                what: What::Outpatient { n },
            });
        }
    }
    base.push(Event {
        minute: t,
        what: What::IndexAdmit,
    });
    base.push(Event {
        minute: enc.discharge,
        what: What::IndexDischarge,
    });
    let days = match row.readmitted.as_str() {
        "<30" => Some(main.gen_range(3..=28)),
        ">30" => Some(main.gen_range(31..=90)),
        _ => None,
    };
    if let Some(days) = days {
        let admit = enc.discharge + days * DAY + main.gen_range(0..720);
        let discharge =
            (admit.div_euclid(DAY) + main.gen_range(1..=5)) * DAY + main.gen_range(480..1140);
        base.push(Event {
            minute: admit,
            what: What::ReadmitAdmit,
        });
        base.push(Event {
            minute: discharge,
            what: What::ReadmitDischarge { admit },
        });
    }

    let mut sprinkles = Vec::new();
    let mut duplicate = None;
    if sprinkle > 0.0 {
        let update = spr.gen_bool(sprinkle);
        let dup_message = spr.gen_bool(sprinkle);
        let cancel = spr.gen_bool(sprinkle);
        let merge = spr.gen_bool(sprinkle);
        if cancel {
            let a13 = enc.discharge + spr.gen_range(20..=60);
            sprinkles.push(Event {
                minute: a13,
                what: What::Cancel,
            });
            sprinkles.push(Event {
                minute: a13 + spr.gen_range(10..=50),
                what: What::Resend,
            });
        }
        if update {
            sprinkles.push(Event {
                minute: enc.discharge + spr.gen_range(120..=600),
                what: What::Update,
            });
        }
        if merge {
            if let Some((at, minute)) = first_ed {
                if let What::Emergency { n, .. } = base[at].what {
                    base[at].what = What::Emergency { n, dup: true };
                }
                sprinkles.push(Event {
                    minute: minute + spr.gen_range(60..=720),
                    what: What::Merge,
                });
            }
        }
        if dup_message {
            duplicate = Some(spr.gen_range(0..usize::MAX / 2));
        }
    }
    base.sort_by_key(|e| e.minute);
    sprinkles.sort_by_key(|e| e.minute);
    (base, sprinkles, duplicate)
}

fn pid_segment(ctx: &PatientCtx, mrn: &str, birth_day: i64, row: &DatasetRow) -> Vec<u8> {
    let mut s = Vec::with_capacity(160);
    s.extend_from_slice(b"PID|1||");
    s.extend_from_slice(escape(mrn, &ctx.delims).as_bytes());
    s.extend_from_slice(b"^^^");
    s.extend_from_slice(ctx.authority.as_bytes());
    s.extend_from_slice(b"^MR||");
    s.extend_from_slice(ctx.name.as_bytes());
    s.extend_from_slice(b"||");
    calendar::push_date(&mut s, birth_day);
    s.push(b'|');
    s.extend_from_slice(Sex::from_dataset(&row.gender).to_hl7().as_bytes());
    s.extend_from_slice(b"||");
    let race = Race::from_dataset(&row.race);
    let code = race.to_hl7();
    if !code.is_empty() {
        s.extend_from_slice(code.as_bytes());
        s.push(b'^');
        s.extend_from_slice(race_text(race).as_bytes());
        s.extend_from_slice(b"^CDCREC");
    }
    s.push(b'|');
    s.extend_from_slice(ctx.address.as_bytes());
    s.push(b'\r');
    s
}

fn race_text(race: Race) -> &'static str {
    match race {
        Race::Caucasian => "White",
        Race::AfricanAmerican => "Black or African American",
        Race::Hispanic => "Hispanic or Latino",
        Race::Asian => "Asian",
        Race::Other | Race::Unknown => "Other Race",
    }
}

/// DG1-3 as written: `code^^system`, or empty.
fn push_dg1(s: &mut Vec<u8>, set_id: usize, code: Option<&super::icd::Dg1Code>, priority: u32) {
    s.extend_from_slice(b"DG1|");
    s.extend_from_slice(set_id.to_string().as_bytes());
    s.extend_from_slice(b"||");
    if let Some(c) = code {
        s.extend_from_slice(c.code.as_bytes());
        s.extend_from_slice(b"^^");
        s.extend_from_slice(c.system.to_hl7().as_bytes());
    }
    s.extend_from_slice(b"|||F|||||||||");
    s.extend_from_slice(priority.to_string().as_bytes());
    s.push(b'\r');
}

/// The index A03's DG1 and PR1 segments.
fn clinical_segments(row: &DatasetRow, icd10: bool, admit: i64, discharge: i64) -> Vec<u8> {
    let coded: Vec<(u32, super::icd::Dg1Code)> = [&row.diag_1, &row.diag_2, &row.diag_3]
        .iter()
        .zip(1u32..)
        .filter_map(|(raw, p)| dg1_code(raw, icd10).map(|c| (p, c)))
        .collect();
    let total = (row.number_diagnoses as usize).max(coded.len());
    let mut fillers = total - coded.len();
    let mut priorities: Vec<(u32, Option<&super::icd::Dg1Code>)> =
        coded.iter().map(|(p, c)| (*p, Some(c))).collect();
    let mut p = 1u32;
    while fillers > 0 {
        if !coded.iter().any(|(q, _)| *q == p) {
            priorities.push((p, None));
            fillers -= 1;
        }
        p += 1;
    }
    priorities.sort_by_key(|(p, _)| *p);
    let mut s = Vec::with_capacity(40 * priorities.len() + 60 * row.num_procedures as usize);
    for (set_id, (priority, code)) in priorities.iter().enumerate() {
        push_dg1(&mut s, set_id + 1, *code, *priority);
    }
    for i in 0..row.num_procedures as usize {
        s.extend_from_slice(b"PR1|");
        s.extend_from_slice((i + 1).to_string().as_bytes());
        s.extend_from_slice(b"||");
        s.extend_from_slice(
            PROCEDURES[(row.encounter_id as usize + i) % PROCEDURES.len()].as_bytes(),
        );
        s.extend_from_slice(b"||");
        let at = (admit + 120 + 90 * i as i64).min(discharge);
        calendar::push_minute(&mut s, at);
        s.push(b'\r');
    }
    s
}

fn principal_dg1(row: &DatasetRow, icd10: bool) -> Vec<u8> {
    let mut s = Vec::new();
    if let Some(code) = dg1_code(&row.diag_1, icd10) {
        push_dg1(&mut s, 1, Some(&code), 1);
    }
    s
}

/// PV1 content.
struct Pv1<'x> {
    class: &'x str,
    location: &'x str,
    admission_type: &'x str,
    service: &'x str,
    admit_source: &'x str,
    visit: VisitNo,
    disposition: &'x str,
    admit: Option<i64>,
    discharge: Option<i64>,
}

fn push_pv1(s: &mut Vec<u8>, ctx: &PatientCtx, enc: &EncCtx<'_>, pv1: &Pv1<'_>) {
    let row = enc.row;
    s.extend_from_slice(b"PV1|1|");
    s.extend_from_slice(pv1.class.as_bytes());
    s.push(b'|');
    s.extend_from_slice(pv1.location.as_bytes());
    s.push(b'^');
    if pv1.class == "I" {
        let room = 100
            + (row.encounter_id % 400)
            + match pv1.visit {
                VisitNo::Index => 0,
                VisitNo::Prior(n) => u64::from(n) * 7,
                VisitNo::Readmit => 3,
            };
        s.extend_from_slice(room.to_string().as_bytes());
        s.extend_from_slice(if room.is_multiple_of(2) {
            b"^A^"
        } else {
            b"^B^"
        });
    } else {
        s.extend_from_slice(b"^^");
    }
    s.extend_from_slice(ctx.facility.as_bytes());
    s.push(b'|');
    s.extend_from_slice(pv1.admission_type.as_bytes());
    s.extend_from_slice(b"|||");
    s.extend_from_slice(ATTENDING[(row.encounter_id % ATTENDING.len() as u64) as usize].as_bytes());
    s.extend_from_slice(b"|||");
    s.extend_from_slice(pv1.service.as_bytes());
    s.extend_from_slice(b"||||");
    s.extend_from_slice(pv1.admit_source.as_bytes());
    s.extend_from_slice(b"|||||");
    match pv1.visit {
        VisitNo::Index => s.extend_from_slice(row.encounter_id.to_string().as_bytes()),
        VisitNo::Prior(n) => {
            s.push(b'P');
            s.extend_from_slice(row.encounter_id.to_string().as_bytes());
            s.push(b'-');
            s.extend_from_slice(n.to_string().as_bytes());
        }
        VisitNo::Readmit => {
            s.push(b'R');
            s.extend_from_slice(row.encounter_id.to_string().as_bytes());
        }
    }
    s.extend_from_slice(b"^^^");
    s.extend_from_slice(ctx.authority.as_bytes());
    s.extend_from_slice(b"^VN");
    // PV1-20 … PV1-36.
    s.extend_from_slice(&[b'|'; 17]);
    s.extend_from_slice(pv1.disposition.as_bytes());
    // PV1-37 … PV1-44.
    s.extend_from_slice(&[b'|'; 8]);
    if let Some(a) = pv1.admit {
        calendar::push_minute(s, a);
    }
    if let Some(d) = pv1.discharge {
        s.push(b'|');
        calendar::push_minute(s, d);
    }
    s.push(b'\r');
}

fn render(ctx: &PatientCtx, enc: &EncCtx<'_>, ev: &Event, seq: u32) -> Built {
    let row = enc.row;
    let adm_type = AdmissionType::from_id(row.admission_type_id).map_or("", AdmissionType::to_hl7);
    let source = AdmitSource::from_id(row.admission_source_id).map_or("", AdmitSource::to_hl7);
    let disposition =
        Disposition::from_id(row.discharge_disposition_id).map_or("", Disposition::to_hl7);
    let index_pv1 = |discharge: bool| Pv1 {
        class: "I",
        location: "MED",
        admission_type: adm_type,
        service: "MED",
        admit_source: source,
        visit: VisitNo::Index,
        disposition: if discharge { disposition } else { "" },
        admit: Some(enc.admit),
        discharge: discharge.then_some(enc.discharge),
    };
    let inpatient = |visit, admit, discharge: Option<i64>| Pv1 {
        class: "I",
        location: "MED",
        admission_type: "E",
        service: "MED",
        admit_source: "7",
        visit,
        disposition: if discharge.is_some() { "01" } else { "" },
        admit: Some(admit),
        discharge,
    };
    // (trigger, structure, role, kind, pv1, pid is dup, clinical block, merge)
    let (trigger, structure, role, pv1, dup, clinical): (_, _, _, Option<Pv1<'_>>, bool, &[u8]) =
        match ev.what {
            What::Emergency { n, dup } => (
                "A04",
                "ADT_A01",
                if dup {
                    Role::DuplicatePatientEmergency
                } else {
                    Role::PriorEmergency
                },
                Some(Pv1 {
                    class: "E",
                    location: "ED",
                    admission_type: "E",
                    service: "EM",
                    admit_source: "",
                    visit: VisitNo::Prior(n),
                    disposition: "",
                    admit: Some(ev.minute),
                    discharge: None,
                }),
                dup,
                &[],
            ),
            What::Outpatient { n } => (
                "A04",
                "ADT_A01",
                Role::PriorOutpatient,
                Some(Pv1 {
                    class: "O",
                    location: "CLINIC",
                    admission_type: "C",
                    service: "MED",
                    admit_source: "1",
                    visit: VisitNo::Prior(n),
                    disposition: "",
                    admit: Some(ev.minute),
                    discharge: None,
                }),
                false,
                &[],
            ),
            What::PriorAdmit { n } => (
                "A01",
                "ADT_A01",
                Role::PriorAdmit,
                Some(inpatient(VisitNo::Prior(n), ev.minute, None)),
                false,
                &[],
            ),
            What::PriorDischarge { n, admit } => (
                "A03",
                "ADT_A03",
                Role::PriorDischarge,
                Some(inpatient(VisitNo::Prior(n), admit, Some(ev.minute))),
                false,
                &enc.principal[..],
            ),
            What::IndexAdmit => (
                "A01",
                "ADT_A01",
                Role::IndexAdmit,
                Some(index_pv1(false)),
                false,
                &[],
            ),
            What::IndexDischarge => (
                "A03",
                "ADT_A03",
                Role::IndexDischarge,
                Some(index_pv1(true)),
                false,
                &enc.clinical[..],
            ),
            What::Resend => (
                "A03",
                "ADT_A03",
                Role::IndexDischargeResent,
                Some(index_pv1(true)),
                false,
                &enc.clinical[..],
            ),
            What::Update => (
                "A08",
                "ADT_A01",
                Role::Update,
                Some(index_pv1(true)),
                false,
                &enc.clinical[..],
            ),
            What::Cancel => (
                "A13",
                "ADT_A01",
                Role::CancelDischarge,
                Some(index_pv1(false)),
                false,
                &[],
            ),
            What::ReadmitAdmit => (
                "A01",
                "ADT_A01",
                Role::ReadmitAdmit,
                Some(inpatient(VisitNo::Readmit, ev.minute, None)),
                false,
                &[],
            ),
            What::ReadmitDischarge { admit } => (
                "A03",
                "ADT_A03",
                Role::ReadmitDischarge,
                Some(inpatient(VisitNo::Readmit, admit, Some(ev.minute))),
                false,
                &enc.principal[..],
            ),
            What::Merge => ("A40", "ADT_A39", Role::Merge, None, false, &[]),
        };
    let control = control_id(ctx.seed, ctx.patient_nbr, seq);
    let mut s = Vec::with_capacity(400 + clinical.len());
    // MSH; MSH-7 and EVN-2 one minute after the event, seconds from the sequence.
    s.extend_from_slice(b"MSH|^~\\&|");
    s.extend_from_slice(ctx.sending_application.as_bytes());
    s.push(b'|');
    s.extend_from_slice(ctx.facility.as_bytes());
    s.push(b'|');
    s.extend_from_slice(ctx.receiver.as_bytes());
    s.push(b'|');
    s.extend_from_slice(ctx.receiver.as_bytes());
    s.push(b'|');
    let recorded = ev.minute + 1;
    let seconds = (seq.wrapping_mul(13)) % 60;
    calendar::push_seconds(&mut s, recorded, seconds);
    s.extend_from_slice(b"||ADT^");
    s.extend_from_slice(trigger.as_bytes());
    s.push(b'^');
    s.extend_from_slice(structure.as_bytes());
    s.push(b'|');
    s.extend_from_slice(&control);
    s.extend_from_slice(b"|P|2.5\rEVN|");
    s.extend_from_slice(trigger.as_bytes());
    s.push(b'|');
    calendar::push_seconds(&mut s, recorded, seconds);
    s.extend_from_slice(b"||||");
    calendar::push_minute(&mut s, ev.minute);
    s.push(b'\r');
    s.extend_from_slice(if dup { &enc.pid_dup } else { &enc.pid });
    if matches!(ev.what, What::Merge) {
        s.extend_from_slice(b"MRG|");
        s.extend_from_slice(escape(&ctx.dup_mrn, &ctx.delims).as_bytes());
        s.extend_from_slice(b"^^^");
        s.extend_from_slice(ctx.authority.as_bytes());
        s.extend_from_slice(b"^MR\r");
    }
    if let Some(pv1) = &pv1 {
        push_pv1(&mut s, ctx, enc, pv1);
    }
    s.extend_from_slice(clinical);
    let kind = if role == Role::IndexDischarge {
        RecordKind::IndexDischarge
    } else {
        RecordKind::Other
    };
    Built {
        record: SimRecord {
            key: ctx.key.clone(),
            payload: s,
            kind,
            role,
            trigger,
            encounter_id: Some(row.encounter_id),
            patient_nbr: ctx.patient_nbr,
            event_minute: ev.minute,
        },
        control,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn control_ids_are_unique_per_patient_and_sequence() {
        let mut seen = HashSet::new();
        for patient in [0u64, 1, 2, 135, 189_502_619, (1 << 40) - 1] {
            for seq in (0..2_000).chain([NS_SPRINKLE + 1, NS_MALFORMED + 1]) {
                assert!(seen.insert(control_id(7, patient, seq)));
            }
        }
        assert_ne!(control_id(7, 1, 1), control_id(8, 1, 1));
    }
}
