//! ADT discharge events → [`Discharge`](super::Discharge). Filled in once `crate::adt` exists.
