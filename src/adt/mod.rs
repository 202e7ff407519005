//! Typed ADT events built from parsed HL7 messages.
