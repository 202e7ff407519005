//! One module per `readmit` subcommand: its clap `Args` and a `run` returning the exit code.

pub mod check_config;
pub mod demo;
pub mod evaluate;
pub mod loadtest;
pub mod parse;
pub mod run;
pub mod simulate;
pub mod train;

/// clap value parser for a count that must be at least 1 (`--patients 0` and the like ran,
/// did nothing and exited 0).
pub fn at_least_one<T>(s: &str) -> Result<T, String>
where
    T: std::str::FromStr + PartialEq + Default,
    T::Err: std::fmt::Display,
{
    match s.parse::<T>() {
        Ok(n) if n == T::default() => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}
