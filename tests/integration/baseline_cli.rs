//! `framework-bench baseline ...` as a user runs it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use framework_bench::compare::baseline::Summary;

use crate::util::{run_with_deadline, workspace};

fn cli(criterion_home: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_framework-bench"));
    command.args(args).env("CRITERION_HOME", criterion_home);
    run_with_deadline(&mut command, Duration::from_secs(60))
}

fn home_with_latest(name: &str, latest: Option<&Summary>) -> PathBuf {
    let home = workspace().harness_dir().join("test-cli-homes").join(name);
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(home.join("framework-bench")).unwrap();
    if let Some(latest) = latest {
        latest
            .save(&home.join("framework-bench").join("latest-summary.json"))
            .unwrap();
    }
    home
}

/// The committed reference baseline, read as the CLI reads it.
fn committed() -> Summary {
    let path = workspace()
        .root
        .join("target-baselines/reference-2core/baseline.json");
    Summary::load(&path).unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn an_unchanged_run_is_within_noise_and_exits_0() {
    let home = home_with_latest("same", Some(&committed()));
    let output = cli(&home, &["baseline", "compare", "reference-2core"]);
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", text(&output.stderr));
    assert!(
        stdout.starts_with("Compared with baseline `reference-2core`"),
        "{stdout}"
    );
    assert!(
        stdout.contains(" 0 regressed, 0 missing, 0 improved"),
        "{stdout}"
    );
}

#[test]
fn a_regression_exits_1_and_is_flagged() {
    let mut worse = committed();
    let rss = worse
        .metrics
        .iter_mut()
        .find(|m| m.server == "axum" && m.figure.name() == "rss-after")
        .unwrap();
    // Four times: beyond the 200 % floor of memory after the burst.
    rss.value *= 4.0;
    rss.readings.iter_mut().for_each(|r| *r *= 4.0);
    let home = home_with_latest("worse", Some(&worse));
    let output = cli(&home, &["baseline", "compare", "reference-2core"]);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("axum") && l.contains("RSS after"))
        .unwrap();
    assert!(
        line.contains("+300.0%") && line.contains("REGRESSED"),
        "{line}"
    );
}

#[test]
fn bad_input_is_refused_and_writes_nothing() {
    let home = home_with_latest("bad", None);
    let cases: [(&[&str], &str); 4] = [
        (
            &["baseline", "compare", "no-such-baseline"],
            "no baseline `no-such-baseline`",
        ),
        (
            &["baseline", "save", "../escape"],
            "invalid value \"../escape\" for baseline name",
        ),
        (
            &["baseline", "save", "fresh-clone"],
            "run `cargo bench` first",
        ),
        (
            &["baseline", "frobnicate"],
            "usage: framework-bench baseline",
        ),
    ];
    for (args, expected) in cases {
        let output = cli(&home, args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(
            text(&output.stderr).contains(expected),
            "{args:?}: {}",
            text(&output.stderr)
        );
    }
    let baselines = workspace().root.join("target-baselines");
    assert!(!baselines.join("fresh-clone").exists());
    assert!(!workspace().root.join("escape").exists());
}

#[test]
fn a_damaged_latest_run_is_a_clear_error() {
    let home = home_with_latest("damaged", None);
    std::fs::write(
        home.join("framework-bench/latest-summary.json"),
        "{\"schema\": \"something/else\"}",
    )
    .unwrap();
    let output = cli(&home, &["baseline", "compare", "reference-2core"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("format `something/else`"),
        "{}",
        text(&output.stderr)
    );
}
