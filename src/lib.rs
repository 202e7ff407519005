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
//!
//! Later stages (history state, features, model, alerts, the Kafka pipeline, metrics) are added
//! as modules beside these; see `README.md` for the flow.

pub mod adt;
pub mod alerts;
pub mod config;
pub mod features;
pub mod hl7;
pub mod metrics;
pub mod model;
pub mod pipeline;
pub mod parse_output;
pub mod runtime;
pub mod shutdown;
pub mod simulate;
pub mod state;
pub mod telemetry;
