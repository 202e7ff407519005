//! Hand-written `Debug` for the event types: PHI (identifiers, dates, ZIP/county, visit numbers,
//! diagnosis and procedure codes) prints as `<redacted>`; codes from closed tables (class, type,
//! source, disposition, sex) and header routing fields print as sent.

use std::fmt;

use super::{
    AdtEvent, DateTimeValue, Diagnosis, FieldValue, Merge, Patient, PatientIdentifier, Procedures,
    Visit,
};

const REDACTED: &str = "<redacted>";

/// Prints only whether a value is there.
struct Redacted<'a, T>(&'a Option<T>);

impl<T> fmt::Debug for Redacted<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(_) => write!(f, "Some({REDACTED})"),
            None => f.write_str("None"),
        }
    }
}

/// Prints a coded [`FieldValue`] (a code from a closed table, not PHI) with its value.
struct Shown<'a>(&'a FieldValue);

impl fmt::Debug for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            FieldValue::Absent => f.write_str("Absent"),
            FieldValue::Null => f.write_str("Null"),
            FieldValue::Value(v) => f.debug_tuple("Value").field(v).finish(),
        }
    }
}

/// A list printed as its length only.
struct Count(usize);

impl fmt::Debug for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{REDACTED}; {}]", self.0)
    }
}

/// Redacts the value: a `FieldValue` may hold PHI (ZIP, visit number, dates). Only its state
/// (`Absent`, `Null`, `Value(<redacted>)`) prints.
impl<T> fmt::Debug for FieldValue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldValue::Absent => f.write_str("Absent"),
            FieldValue::Null => f.write_str("Null"),
            FieldValue::Value(_) => write!(f, "Value({REDACTED})"),
        }
    }
}

impl fmt::Debug for DateTimeValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DateTimeValue")
            .field("raw", &REDACTED)
            .field("parsed", &self.parsed.is_some())
            .finish()
    }
}

impl fmt::Debug for PatientIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PatientIdentifier")
            .field("id", &Redacted(&self.id))
            .field("assigning_authority", &self.assigning_authority)
            .field("identifier_type", &self.identifier_type)
            .finish()
    }
}

impl fmt::Debug for Patient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Patient")
            .field("identifiers", &self.identifiers)
            .field("birth_date", &self.birth_date)
            .field("sex", &Shown(&self.sex))
            .field("race", &Shown(&self.race))
            .field("zip", &self.zip)
            .field("county", &self.county)
            .field("death_indicator", &Shown(&self.death_indicator))
            .finish()
    }
}

impl fmt::Debug for Visit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Visit")
            .field("patient_class", &Shown(&self.patient_class))
            .field("point_of_care", &self.point_of_care)
            .field("facility", &Shown(&self.facility))
            .field("admission_type", &Shown(&self.admission_type))
            .field("hospital_service", &Shown(&self.hospital_service))
            .field("admit_source", &Shown(&self.admit_source))
            .field("visit_number", &self.visit_number)
            .field("discharge_disposition", &Shown(&self.discharge_disposition))
            .field("admit_datetime", &self.admit_datetime)
            .field("discharge_datetime", &self.discharge_datetime)
            .finish()
    }
}

impl fmt::Debug for Diagnosis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Diagnosis")
            .field("code", &Redacted(&self.code))
            .field("coding_system", &self.coding_system)
            .field("diagnosis_type", &self.diagnosis_type)
            .field("priority", &self.priority)
            .finish()
    }
}

impl fmt::Debug for Procedures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Procedures")
            .field("count", &self.count)
            .field("codes", &Count(self.codes.len()))
            .finish()
    }
}

impl fmt::Debug for Merge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Merge")
            .field("surviving", &self.surviving)
            .field("prior_identifiers", &self.prior_identifiers)
            .field("prior_visit", &Redacted(&self.prior_visit))
            .finish()
    }
}

impl fmt::Debug for AdtEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdtEvent")
            .field("message_type", &self.message_type)
            .field("trigger", &self.trigger)
            .field("trigger_code", &self.trigger_code)
            .field("trigger_source", &self.trigger_source)
            .field("structure", &self.structure)
            .field("control_id", &self.control_id)
            .field("processing_id", &self.processing_id)
            .field("version", &self.version)
            .field("sending_application", &self.sending_application)
            .field("sending_facility", &self.sending_facility)
            .field("message_time", &Redacted(&self.message_time))
            .field("event_recorded", &Redacted(&self.event_recorded))
            .field("event_occurred", &Redacted(&self.event_occurred))
            .field("patient", &self.patient)
            .field("visit", &self.visit)
            .field("diagnoses", &self.diagnoses)
            .field("procedures", &self.procedures)
            .field("merges", &self.merges)
            .finish()
    }
}
