//! One module per `readmit` subcommand: its clap `Args` and a `run` returning the exit code.

pub mod check_config;
pub mod demo;
pub mod evaluate;
pub mod loadtest;
pub mod parse;
pub mod run;
pub mod simulate;
pub mod train;
