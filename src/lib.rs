//! readmit: HL7 v2 ADT events in, 30-day readmission risk and care-transition alerts out.
//!
//! # Module map
//!
//! | module | owns |
//! |---|---|
//! | [`hl7`] | sans-io ER7 parser: framing (MLLP, batches), delimiters, escapes, timestamps. No I/O, no tokio. |
//! | [`adt`] | typed ADT events (A01, A03, A08, …) built from a parsed [`hl7::Message`]. |
//! | [`parse_output`] | what `readmit parse` prints: one JSON/text record per message. |
//! | [`simulate`] | `readmit simulate`: Diabetes-130 rows → per-patient HL7 v2.5 ADT streams (demo, parity and load-test input). |
//! | [`config`] | layered `Settings` (defaults → `config/default.toml` → `--config` → `READMIT__*` env), `validate()`. |
//! | [`runtime`] | domain-agnostic Kafka runtime: `Processor` plug-in, per-partition tasks, changelog restore, at-least-once offsets, DLQ. |
//! | [`shutdown`] | SIGTERM/SIGINT → `CancellationToken`. |
//! | [`telemetry`] | tracing subscriber (`[log]`: json/text/auto, filter) and the per-message span. |
//! | [`metrics`] | Prometheus metrics (own registry), runtime observer, consumer lag, model monitoring, `/metrics` `/healthz` `/readyz`. |
//! | [`state`] | per-patient visit history (16-byte encounters, event-time windows), changelog encoding. |
//! | [`features`] | `Discharge` + `History` → `FeatureVector`: one `extract` for training and serving; code tables, ICD groups, Charlson, LACE. |
//! | [`model`] | linfa training, calibration, the versioned artifact, the `Scorer` trait, evaluation. |
//! | [`alerts`] | alert schema, pseudonyms and alert IDs (HMAC), routing rules, interventions, FHIR RiskAssessment. |
//! | [`pipeline`] | the domain `Processor`: ADT record → history, score, alerts, audit, outcomes, changelog or dead letter. |
//! | [`demo`] | `readmit demo`: mock cluster, simulator, processor, metrics and a live alert view on one machine. |
//! | [`service`] | assembles settings, model, key and pipeline and runs them on the runtime (`readmit run`). |
//!
//! Flow: Kafka record → [`hl7`] → [`adt`] → [`state`] → [`features`] → [`model`] → [`alerts`],
//! all inside [`pipeline`], driven by [`runtime`].

#![forbid(unsafe_code)]

pub mod adt;
pub mod alerts;
pub mod config;
pub mod demo;
pub mod features;
pub mod hl7;
pub mod loadtest;
pub mod metrics;
pub mod model;
pub mod parse_output;
pub mod pipeline;
pub mod runtime;
pub mod service;
pub mod shutdown;
pub mod simulate;
pub mod state;
pub mod telemetry;
