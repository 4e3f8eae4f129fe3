//! `framework-bench`: committed baselines under `target-baselines/`.
//!
//! ```text
//! cargo run --release -- baseline save NAME      # the latest `cargo bench` run -> target-baselines/NAME/
//! cargo run --release -- baseline compare NAME   # the latest run vs target-baselines/NAME/; exit 1 if a figure regressed or went missing, or a server failed
//! cargo run --release -- baseline list
//! ```

use std::path::Path;
use std::process::ExitCode;

use framework_bench::compare::baseline::{self, Summary, committed_baseline_path, validate_name};
use framework_bench::compare::verdict::Judgement;
use framework_bench::record::RunMode;
use framework_bench::report::terminal;
use framework_bench::workspace::Workspace;
use framework_bench::workspace::criterion_home;

const USAGE: &str =
    "usage: framework-bench baseline save NAME | baseline compare NAME | baseline list";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let workspace = Workspace::at(env!("CARGO_MANIFEST_DIR"));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["baseline", "save", name] => save(&workspace, name).map(|()| ExitCode::SUCCESS),
        ["baseline", "compare", name] => compare(&workspace, name),
        ["baseline", "list"] => list(&workspace).map(|()| ExitCode::SUCCESS),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    result.unwrap_or_else(|err| {
        eprintln!("framework-bench: error: {err}");
        ExitCode::from(2)
    })
}

/// The summary of the latest `cargo bench` run.
fn latest(workspace: &Workspace) -> framework_bench::Result<Summary> {
    let path = criterion_home(workspace)
        .join("framework-bench")
        .join("latest-summary.json");
    if !path.is_file() {
        return Err(framework_bench::Error::NoLatestRun { path });
    }
    Summary::load(&path)
}

/// The latest run, if it was a full one: a test-mode run (`cargo test`
/// runs the bench once) measures too little to keep or to judge.
fn latest_full_run(workspace: &Workspace) -> framework_bench::Result<Summary> {
    let latest = latest(workspace)?;
    if latest.mode != RunMode::Benchmark {
        return Err(framework_bench::Error::LatestRunNotFull {
            path: criterion_home(workspace).join("framework-bench"),
            mode: format!("{:?}", latest.mode).to_lowercase(),
        });
    }
    Ok(latest)
}

fn save(workspace: &Workspace, name: &str) -> framework_bench::Result<()> {
    validate_name(name)?;
    let latest = latest_full_run(workspace)?;
    let path = committed_baseline_path(&workspace.root, name);
    Summary {
        name: name.to_owned(),
        ..latest
    }
    .save(&path)?;
    println!(
        "framework-bench: saved baseline `{name}` to {}",
        path.display()
    );
    Ok(())
}

fn compare(workspace: &Workspace, name: &str) -> framework_bench::Result<ExitCode> {
    let base = baseline::load_named(&committed_baseline_path(&workspace.root, name), name)?;
    let comparison = base.compare(&latest_full_run(workspace)?, &Judgement::default());
    print!("{}", terminal::comparison(&comparison));
    let failed = comparison.failed();
    for failure in &failed {
        eprintln!("framework-bench: comparison failed: {failure}");
    }
    Ok(if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn list(workspace: &Workspace) -> framework_bench::Result<()> {
    let dir = workspace.root.join("target-baselines");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|source| framework_bench::Error::ReadFile {
            path: dir.clone(),
            source,
        })?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| Path::new(&committed_baseline_path(&workspace.root, name)).is_file())
        .collect();
    names.sort();
    for name in names {
        println!("{name}");
    }
    Ok(())
}
