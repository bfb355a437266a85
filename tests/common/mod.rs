//! Running the `randnet` binary from the end-to-end tests (each test file that uses these has
//! `mod common;`; not every file uses every helper).
#![allow(dead_code)]

use std::process::{Command, Output};

/// `randnet ARGS`, its output captured.
pub fn randnet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_randnet"))
        .args(args)
        .output()
        .expect("run randnet")
}

/// `randnet ARGS` (which must ask for `--format json`): the parsed result; the command must
/// succeed (its stderr is the failure message).
pub fn json(args: &[&str]) -> serde_json::Value {
    let out = randnet(args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `randnet sample --format json ARGS`.
pub fn sample(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["sample", "--format", "json"];
    all.extend_from_slice(args);
    json(&all)
}
