//! Model: training, artifact, scoring. Filled in below.
