//! Argument checks of the binary that need no data or broker: values out of range are refused
//! naming the option (negative numbers included: clap used to read `-0.5` as an unknown flag
//! `-0`), and nothing runs.

use std::process::Command;

fn readmit(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_readmit"))
        .args(args)
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn negative_and_zero_values_are_refused_naming_the_option() {
    for (args, expected) in [
        (
            &["train", "--alphas", "-1", "--out", "unused"][..],
            "'--alphas <ALPHAS>': each alpha must be a finite number above 0",
        ),
        (
            &["train", "--alphas", "0", "--out", "unused"][..],
            "each alpha must be a finite number above 0",
        ),
        (
            &["train", "--max-iterations", "0", "--out", "unused"][..],
            "'--max-iterations <MAX_ITERATIONS>': must be at least 1",
        ),
        (&["demo", "--discharges", "0"][..], "must be at least 1"),
        (
            &["loadtest", "--partitions", "-3"][..],
            "option --partitions: must be at least 1",
        ),
        (
            &["loadtest", "--latency-seconds", "-5"][..],
            "--latency-seconds must be a positive number",
        ),
    ] {
        let (code, stderr) = readmit(args);
        assert!(matches!(code, Some(1 | 2)), "{args:?}: {code:?} {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("unexpected argument"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("Stack backtrace"), "{args:?}: {stderr}");
    }
}
