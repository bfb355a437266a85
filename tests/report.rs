//! A JSON result reads back typed (`randnet_run::output::Report::from_json`) and writes out the
//! same bytes: every field, NaN estimates (null) and the accumulator included.

use randnet_run::args::Format;
use randnet_run::output::Report;
use std::process::Command;

#[test]
fn json_reports_round_trip_exactly() {
    let out = Command::new(env!("CARGO_BIN_EXE_randnet"))
        .args([
            "sample",
            "--backend",
            "cpu",
            "--width",
            "4",
            "--depth",
            "5",
            "--inputs",
            "2",
            "--observe",
            "output,ntk,log_jacobian",
            "--networks",
            "3000",
            "--seed",
            "4",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let report = Report::from_json(&text).unwrap();
    assert_eq!(report.networks, 3000);
    assert!(
        report.undefined["log_jacobian_norm[0]"] > 0,
        "dead layers at n = 4, L = 5"
    );
    assert_eq!(report.render(Format::Json).unwrap(), text);
    // The table renders from what was read (rows by name).
    let table = report.render(Format::Table).unwrap();
    assert!(table.contains("log_jacobian_norm[1]"), "{table}");
}

#[test]
fn wrong_or_missing_format_is_refused() {
    assert!(Report::from_json("{}")
        .unwrap_err()
        .to_string()
        .contains("format"));
    assert!(Report::from_json("{\"format\": 1}")
        .unwrap_err()
        .to_string()
        .contains("format 1"));
    assert!(Report::from_json("not json").is_err());
}
