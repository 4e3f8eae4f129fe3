//! Criterion's command line, read with Criterion's own definitions.
//!
//! The harness runs inside a Criterion bench binary, so every flag on that
//! binary's command line is first of all a Criterion flag. To make a flag mean
//! the same thing to the harness as to Criterion, this module rebuilds the very
//! `clap::Command` that `Criterion::configure_from_args` builds in
//! `criterion-0.8.2/src/lib.rs` (lines 762-1134) and then repeats Criterion's
//! own post-processing of the matches (mode, filter, baseline, numeric checks).
//!
//! Line numbers in comments (`lib.rs:NNN`) refer to `criterion-0.8.2/src/lib.rs`
//! unless another file is named. When Criterion is upgraded, diff that function
//! against `criterion_command` and `CriterionArgs::from_matches`.
//!
//! Not mirrored, on purpose:
//! * the regex compilation of the filter (lib.rs:1007, Criterion panics on an
//!   invalid regex); this module keeps the pattern text and needs no regex crate;
//! * cargo-criterion (`CARGO_CRITERION_PORT` set, lib.rs:926-956), which is an
//!   environment variable, not argv: there Criterion writes no baseline files at
//!   all and exits on `--baseline`, `--load-baseline` or a non-`base` `-s`;
//! * `--color`, `--verbose`, `--quiet`, `--plotting-backend`: parsed (so that
//!   the same argv is accepted or rejected) but only affect Criterion's own
//!   terminal output and plots.

use std::ffi::OsString;
use std::time::Duration;

use clap::{Arg, ArgMatches, Command, value_parser};

pub use crate::record::RunMode;

/// The baseline name Criterion uses when no baseline flag is given
/// (`default_value("base")` at lib.rs:793 and `Criterion::default` at lib.rs:429).
pub const DEFAULT_BASELINE: &str = "base";

/// Smallest `--profile-time` Criterion accepts; below it Criterion prints an
/// error and exits with status 1 (lib.rs:983-986).
const MIN_PROFILE_TIME_SECS: f64 = 1.0;

/// Smallest `--sample-size` Criterion accepts; below it Criterion panics (lib.rs:1093).
const MIN_SAMPLE_SIZE: usize = 10;

/// How [`ArgsError::OutOfRange`] words the confidence/significance range.
const UNIT_INTERVAL: &str = "a number strictly between 0 and 1";

/// What happens to baselines in this run, exactly as Criterion does it.
///
/// Only meaningful when [`RunMode::analyses_results`] is true: in test, list
/// and profile mode Criterion never touches baseline directories, whatever
/// these flags say.
///
/// Criterion keeps one `Baseline` kind plus one `baseline_directory`
/// (lib.rs:254-268, set at lib.rs:1030-1044); the fields below spell out what
/// that pair does in `analysis::common` (analysis/mod.rs:38-259).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaselineFlags {
    /// Baseline the new results are copied into (`<id>/<save>/`), overwriting it
    /// (analysis/mod.rs:250-257, only for `Baseline::Save`). Beware
    /// `--load-baseline X -s NAME` (clap accepts it, see `baseline_flags`):
    /// then `new/` is not rewritten and Criterion copies the *previous* run's
    /// `new/` into `NAME`.
    pub save: Option<String>,
    /// Baseline the new results are compared with, when `<id>/<compare>/`
    /// exists (analysis/mod.rs:178-217). Criterion always has one.
    pub compare: Option<String>,
    /// A missing `compare` baseline is fatal: Criterion panics
    /// (analysis/mod.rs:50-61, `Baseline::CompareStrict`).
    pub strict: bool,
    /// Criterion writes the latest results to `<id>/new/` (estimates.json,
    /// sample.json, ...). False for `--discard-baseline` and `--load-baseline`
    /// (`should_save_baseline`, lib.rs:1147-1151). Note `-b`/`--baseline-lenient`
    /// still write `new/` even though they save no named baseline.
    pub writes_new: bool,
}

impl Default for BaselineFlags {
    /// No baseline flag: save to and compare with `base`, leniently.
    fn default() -> Self {
        BaselineFlags::from_kind(BaselineKind::Save, DEFAULT_BASELINE.to_owned(), false)
    }
}

impl BaselineFlags {
    /// Spells out what Criterion's (kind, directory) pair does.
    fn from_kind(kind: BaselineKind, directory: String, loads_baseline: bool) -> Self {
        let writes_new = !loads_baseline && kind != BaselineKind::Discard;
        let save = (kind == BaselineKind::Save).then(|| directory.clone());
        BaselineFlags {
            save,
            compare: Some(directory),
            strict: kind == BaselineKind::CompareStrict,
            writes_new,
        }
    }
}

/// Criterion's `Baseline` enum (lib.rs:254-268), kept private: the harness
/// should reason about [`BaselineFlags`], not about Criterion's encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BaselineKind {
    CompareLenient,
    CompareStrict,
    Save,
    Discard,
}

/// Which benchmarks are selected, as Criterion's `BenchmarkFilter` (lib.rs:998-1015).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BenchmarkFilter {
    /// No filter: every benchmark.
    AcceptAll,
    /// Benchmarks whose full id contains a match of this regex (unanchored).
    Regex(String),
    /// `--exact`: benchmarks whose full id equals this string.
    Exact(String),
    /// `--ignored`: no benchmark at all (it overrides any filter).
    RejectAll,
}

/// `--format`, only used by `--list` (lib.rs:967-978).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFormat {
    Pretty,
    Terse,
}

/// `--output-format` (lib.rs:1053-1057): `bencher` replaces Criterion's own
/// terminal report with bencher-style lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Criterion,
    Bencher,
}

/// Criterion's command line after Criterion's own interpretation.
#[derive(Debug, Clone, PartialEq)]
pub struct CriterionArgs {
    /// What Criterion does with the benchmarks in this run.
    pub mode: RunMode,
    /// What Criterion does with baselines, when `mode` analyses results.
    pub baselines: BaselineFlags,
    /// The raw positional `FILTER`, as typed (see `benchmark_filter` for its meaning).
    pub filter: Option<String>,
    /// What the filter selects, after `--exact` and `--ignored`.
    pub benchmark_filter: BenchmarkFilter,
    /// `--quick`: stop sampling once the significance level is reached.
    pub quick: bool,
    /// `--sample-size`, already checked to be at least 10.
    pub sample_size: Option<usize>,
    /// `--warm-up-time` in seconds, as a non-zero duration.
    pub warm_up_time: Option<Duration>,
    /// `--measurement-time` in seconds, as a non-zero duration.
    pub measurement_time: Option<Duration>,
    /// `--profile-time`, present exactly when `mode` is [`RunMode::Profile`].
    pub profile_time: Option<Duration>,
    /// `--load-baseline`: the baseline whose samples are re-analysed.
    pub load_baseline: Option<String>,
    /// `--noplot`: no plots and no HTML report.
    pub noplot: bool,
    /// `--format`: how `--list` prints names (accepted and unused otherwise).
    pub list_format: ListFormat,
    /// `--output-format`: shape of Criterion's terminal report.
    pub output_format: OutputFormat,
    /// `--nresamples`, already checked to be positive.
    pub nresamples: Option<usize>,
    /// `--noise-threshold`, already checked to be positive.
    pub noise_threshold: Option<f64>,
    /// `--confidence-level`, already checked to be in (0, 1).
    pub confidence_level: Option<f64>,
    /// `--significance-level`, already checked to be in (0, 1).
    pub significance_level: Option<f64>,
}

/// Why the command line could not be read the way Criterion reads it.
///
/// Each variant is a case where Criterion itself would not have run: it exits
/// (clap errors, `--help`, short profile time) or panics (out-of-range numbers).
#[derive(Debug, thiserror::Error)]
pub enum ArgsError {
    /// clap rejected the arguments, or they ask for help (`kind()` is then
    /// `DisplayHelp`); Criterion prints this and exits.
    #[error("Criterion's command line parser rejected the arguments: {0}")]
    Rejected(#[from] clap::Error),
    /// `--profile-time` below one second in profile mode (lib.rs:983-986).
    #[error("--profile-time {seconds} is below the one second Criterion requires")]
    ProfileTimeTooShort { seconds: f64 },
    /// A numeric flag Criterion accepts syntactically but then asserts on
    /// (lib.rs:1092-1127, or `Duration::from_secs_f64` panicking).
    #[error("--{flag} {value} is out of range: Criterion requires {requirement}")]
    OutOfRange {
        flag: &'static str,
        value: String,
        requirement: &'static str,
    },
}

impl ArgsError {
    /// Criterion would print help and exit successfully, not fail.
    pub fn is_help_request(&self) -> bool {
        matches!(self, ArgsError::Rejected(error)
            if error.kind() == clap::error::ErrorKind::DisplayHelp)
    }
}

impl CriterionArgs {
    /// Reads `args` (argv\[0\] first, like `std::env::args_os`) as Criterion does.
    pub fn parse<I, S>(args: I) -> Result<CriterionArgs, ArgsError>
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString> + Clone,
    {
        let matches = criterion_command().try_get_matches_from(args)?;
        CriterionArgs::from_matches(&matches)
    }

    /// Reads this process's command line; `args_os` like clap's `get_matches`
    /// (lib.rs:924), so a non-UTF-8 argument is an error, never a panic.
    pub fn from_env() -> Result<CriterionArgs, ArgsError> {
        CriterionArgs::parse(std::env::args_os())
    }

    /// Repeats lib.rs:958-1131 on already parsed matches.
    fn from_matches(matches: &ArgMatches) -> Result<CriterionArgs, ArgsError> {
        let load_baseline = matches.get_one::<String>("load-baseline").cloned();
        let (mode, profile_time) = run_mode(matches, load_baseline.is_some())?;
        Ok(CriterionArgs {
            mode,
            baselines: baseline_flags(matches, load_baseline.is_some()),
            filter: matches.get_one::<String>("FILTER").cloned(),
            benchmark_filter: benchmark_filter(matches),
            quick: matches.get_flag("quick"),
            sample_size: checked_sample_size(matches)?,
            warm_up_time: checked_seconds(matches, "warm-up-time")?,
            measurement_time: checked_seconds(matches, "measurement-time")?,
            profile_time,
            load_baseline,
            noplot: matches.get_flag("noplot"),
            list_format: list_format(matches),
            output_format: output_format(matches),
            nresamples: checked_nresamples(matches)?,
            noise_threshold: checked_f64(
                matches,
                "noise-threshold",
                is_positive,
                "a positive number",
            )?,
            confidence_level: checked_f64(
                matches,
                "confidence-level",
                is_in_open_unit_interval,
                UNIT_INTERVAL,
            )?,
            significance_level: checked_f64(
                matches,
                "significance-level",
                is_in_open_unit_interval,
                UNIT_INTERVAL,
            )?,
        })
    }
}

/// The `clap::Command` of `configure_from_args`, definition for definition
/// (lib.rs:764-924). Help texts only matter for `--help`; the `[default: ..]`
/// values are those of `Criterion::default` (lib.rs:405-445).
#[rustfmt::skip]
fn criterion_command() -> Command {
    Command::new("Criterion Benchmark")
        // lib.rs:765-767
        .arg(Arg::new("FILTER")
            .help("Skip benchmarks whose names do not contain FILTER.")
            .index(1))
        // lib.rs:768-774
        .arg(Arg::new("color")
            .short('c')
            .long("color")
            .alias("colour")
            .value_parser(["auto", "always", "never"])
            .default_value("auto")
            .help("Configure coloring of output. always = always colorize output, never = never colorize output, auto = colorize output if output is a tty and compiled for unix."))
        // lib.rs:775-779
        .arg(Arg::new("verbose")
            .short('v')
            .long("verbose")
            .num_args(0)
            .help("Print additional statistical information."))
        // lib.rs:780-784
        .arg(Arg::new("quiet")
            .long("quiet")
            .num_args(0)
            .conflicts_with("verbose")
            .help("Print only the benchmark results."))
        // lib.rs:785-789
        .arg(Arg::new("noplot")
            .short('n')
            .long("noplot")
            .num_args(0)
            .help("Disable plot and HTML generation."))
        // lib.rs:790-794; the default value makes it always present, and
        // clap does not let a default value trigger a conflict.
        .arg(Arg::new("save-baseline")
            .short('s')
            .long("save-baseline")
            .default_value(DEFAULT_BASELINE)
            .help("Save results under a named baseline."))
        // lib.rs:795-799
        .arg(Arg::new("discard-baseline")
            .long("discard-baseline")
            .num_args(0)
            .conflicts_with_all(["save-baseline", "baseline", "baseline-lenient"])
            .help("Discard benchmark results."))
        // lib.rs:800-804
        .arg(Arg::new("baseline")
            .short('b')
            .long("baseline")
            .conflicts_with_all(["save-baseline", "baseline-lenient"])
            .help("Compare to a named baseline. If any benchmarks do not have the specified baseline this command fails."))
        // lib.rs:805-808
        .arg(Arg::new("baseline-lenient")
            .long("baseline-lenient")
            .conflicts_with_all(["save-baseline", "baseline"])
            .help("Compare to a named baseline. If any benchmarks do not have the specified baseline then just those benchmarks are not compared against the baseline while every other benchmark is compared against the baseline."))
        // lib.rs:809-813
        .arg(Arg::new("list")
            .long("list")
            .num_args(0)
            .help("List all benchmarks")
            .conflicts_with_all(["test", "profile-time"]))
        // lib.rs:814-820
        .arg(Arg::new("format")
            .long("format")
            .value_parser(["pretty", "terse"])
            .default_value("pretty")
            .help("Output formatting"))
        // lib.rs:821-824
        .arg(Arg::new("ignored")
            .long("ignored")
            .num_args(0)
            .help("List or run ignored benchmarks (currently means skip all benchmarks)"))
        // lib.rs:825-828
        .arg(Arg::new("exact")
            .long("exact")
            .num_args(0)
            .help("Run benchmarks that exactly match the provided filter"))
        // lib.rs:829-833
        .arg(Arg::new("profile-time")
            .long("profile-time")
            .value_parser(value_parser!(f64))
            .help("Iterate each benchmark for approximately the given number of seconds, doing no analysis and without storing the results. Useful for running the benchmarks in a profiler.")
            .conflicts_with_all(["test", "list"]))
        // lib.rs:834-838
        .arg(Arg::new("load-baseline")
            .long("load-baseline")
            .conflicts_with("profile-time")
            .requires("baseline")
            .help("Load a previous baseline instead of sampling new data."))
        // lib.rs:839-842
        .arg(Arg::new("sample-size")
            .long("sample-size")
            .value_parser(value_parser!(usize))
            .help("Changes the default size of the sample for this run. [default: 100]"))
        // lib.rs:843-846
        .arg(Arg::new("warm-up-time")
            .long("warm-up-time")
            .value_parser(value_parser!(f64))
            .help("Changes the default warm up time for this run. [default: 3]"))
        // lib.rs:847-850
        .arg(Arg::new("measurement-time")
            .long("measurement-time")
            .value_parser(value_parser!(f64))
            .help("Changes the default measurement time for this run. [default: 5]"))
        // lib.rs:851-854
        .arg(Arg::new("nresamples")
            .long("nresamples")
            .value_parser(value_parser!(usize))
            .help("Changes the default number of resamples for this run. [default: 100000]"))
        // lib.rs:855-858
        .arg(Arg::new("noise-threshold")
            .long("noise-threshold")
            .value_parser(value_parser!(f64))
            .help("Changes the default noise threshold for this run. [default: 0.01]"))
        // lib.rs:859-862
        .arg(Arg::new("confidence-level")
            .long("confidence-level")
            .value_parser(value_parser!(f64))
            .help("Changes the default confidence level for this run. [default: 0.95]"))
        // lib.rs:863-866
        .arg(Arg::new("significance-level")
            .long("significance-level")
            .value_parser(value_parser!(f64))
            .help("Changes the default significance level for this run. [default: 0.05]"))
        // lib.rs:867-871
        .arg(Arg::new("quick")
            .long("quick")
            .num_args(0)
            .conflicts_with("sample-size")
            .help("Benchmark only until the significance level has been reached [default: false]"))
        // lib.rs:872-877
        .arg(Arg::new("test")
            .hide(true)
            .long("test")
            .num_args(0)
            .help("Run the benchmarks once, to verify that they execute successfully, but do not measure or report the results.")
            .conflicts_with_all(["list", "profile-time"]))
        // lib.rs:878-881
        .arg(Arg::new("bench")
            .hide(true)
            .long("bench")
            .num_args(0))
        // lib.rs:882-885
        .arg(Arg::new("plotting-backend")
            .long("plotting-backend")
            .value_parser(["gnuplot", "plotters"])
            .help("Set the plotting backend. By default, Criterion.rs will use the gnuplot backend if gnuplot is available, or the plotters backend if it isn't."))
        // lib.rs:886-890
        .arg(Arg::new("output-format")
            .long("output-format")
            .value_parser(["criterion", "bencher"])
            .default_value("criterion")
            .help("Change the CLI output format. By default, Criterion.rs will use its own format. If output format is set to 'bencher', Criterion.rs will print output in a format that resembles the 'bencher' crate."))
        // lib.rs:891-895
        .arg(Arg::new("nocapture")
            .long("nocapture")
            .num_args(0)
            .hide(true)
            .help("Ignored, but added for compatibility with libtest."))
        // lib.rs:896-900
        .arg(Arg::new("show-output")
            .long("show-output")
            .num_args(0)
            .hide(true)
            .help("Ignored, but added for compatibility with libtest."))
        // lib.rs:901-905
        .arg(Arg::new("include-ignored")
            .long("include-ignored")
            .num_args(0)
            .hide(true)
            .help("Ignored, but added for compatibility with libtest."))
        // lib.rs:906-910; a plain flag (the Command has no version), so
        // `--version` is accepted and then ignored by Criterion.
        .arg(Arg::new("version")
            .hide(true)
            .short('V')
            .long("version")
            .num_args(0))
        // lib.rs:911-923
        .after_help("
This executable is a Criterion.rs benchmark.
See https://github.com/criterion-rs/criterion.rs for more details.

To enable debug output, define the environment variable CRITERION_DEBUG.
Criterion.rs will output more debug information and will save the gnuplot
scripts alongside the generated plots.

To test that the benchmarks work, run `cargo test --benches`

NOTE: If you see an 'unrecognized option' error using any of the options above, see:
https://criterion-rs.github.io/book/faq.html
")
}

/// Test mode unless `--bench` is given without `--test` (lib.rs:958-964):
/// `cargo bench` passes `--bench`, `cargo test --benches` passes nothing.
fn is_test_mode(bench: bool, test: bool) -> bool {
    !bench || test
}

/// Criterion's mode decision (lib.rs:966-991): `--list` wins over test mode,
/// test mode wins over `--profile-time`, so without `--bench` a profile time
/// is ignored (and not even checked).
fn run_mode(
    matches: &ArgMatches,
    loads_baseline: bool,
) -> Result<(RunMode, Option<Duration>), ArgsError> {
    if matches.get_flag("list") {
        return Ok((RunMode::List, None));
    }
    if is_test_mode(matches.get_flag("bench"), matches.get_flag("test")) {
        return Ok((RunMode::Test, None));
    }
    if let Some(&profile_secs) = matches.get_one::<f64>("profile-time") {
        return Ok((RunMode::Profile, Some(checked_profile_time(profile_secs)?)));
    }
    // `--load-baseline` conflicts with `--profile-time`, so it only matters here.
    let mode = if loads_baseline {
        RunMode::LoadBaseline
    } else {
        RunMode::Benchmark
    };
    Ok((mode, None))
}

/// lib.rs:983-988: exit below one second, then `Duration::from_secs_f64`,
/// which panics on NaN, infinity and overflow.
fn checked_profile_time(profile_secs: f64) -> Result<Duration, ArgsError> {
    if profile_secs < MIN_PROFILE_TIME_SECS {
        return Err(ArgsError::ProfileTimeTooShort {
            seconds: profile_secs,
        });
    }
    Duration::try_from_secs_f64(profile_secs).map_err(|_| ArgsError::OutOfRange {
        flag: "profile-time",
        value: profile_secs.to_string(),
        requirement: "a finite number of seconds",
    })
}

/// lib.rs:1030-1044 replayed in Criterion's order, last writer wins. The
/// conflicts guarantee at most one of discard / baseline / lenient, and the
/// `save-baseline` default means Criterion starts from (Save, "base").
///
/// `--load-baseline` "requires" `--baseline`, but clap waives a requirement
/// when a present argument conflicts with it, so `--load-baseline` is also
/// accepted with `-s`, `--baseline-lenient` or `--discard-baseline` (just not
/// alone); every combination is handled by the same replay.
fn baseline_flags(matches: &ArgMatches, loads_baseline: bool) -> BaselineFlags {
    let mut kind = BaselineKind::Save;
    let mut directory = DEFAULT_BASELINE.to_owned();
    if let Some(name) = matches.get_one::<String>("save-baseline") {
        kind = BaselineKind::Save;
        directory.clone_from(name);
    }
    if matches.get_flag("discard-baseline") {
        kind = BaselineKind::Discard;
    }
    if let Some(name) = matches.get_one::<String>("baseline") {
        kind = BaselineKind::CompareStrict;
        directory.clone_from(name);
    }
    if let Some(name) = matches.get_one::<String>("baseline-lenient") {
        kind = BaselineKind::CompareLenient;
        directory.clone_from(name);
    }
    BaselineFlags::from_kind(kind, directory, loads_baseline)
}

/// lib.rs:998-1015: `--ignored` rejects everything, `--exact` needs a filter.
fn benchmark_filter(matches: &ArgMatches) -> BenchmarkFilter {
    if matches.get_flag("ignored") {
        return BenchmarkFilter::RejectAll;
    }
    match matches.get_one::<String>("FILTER") {
        Some(filter) if matches.get_flag("exact") => BenchmarkFilter::Exact(filter.clone()),
        Some(filter) => BenchmarkFilter::Regex(filter.clone()),
        None => BenchmarkFilter::AcceptAll,
    }
}

/// lib.rs:967-978; clap's possible values leave only these two.
fn list_format(matches: &ArgMatches) -> ListFormat {
    match matches.get_one::<String>("format").map(String::as_str) {
        Some("terse") => ListFormat::Terse,
        _ => ListFormat::Pretty,
    }
}

/// lib.rs:1053-1057: anything but `bencher` is Criterion's own report.
fn output_format(matches: &ArgMatches) -> OutputFormat {
    match matches
        .get_one::<String>("output-format")
        .map(String::as_str)
    {
        Some("bencher") => OutputFormat::Bencher,
        _ => OutputFormat::Criterion,
    }
}

/// lib.rs:1092-1095: `assert!(num_size >= 10)`.
fn checked_sample_size(matches: &ArgMatches) -> Result<Option<usize>, ArgsError> {
    let Some(&sample_size) = matches.get_one::<usize>("sample-size") else {
        return Ok(None);
    };
    if sample_size < MIN_SAMPLE_SIZE {
        return Err(ArgsError::OutOfRange {
            flag: "sample-size",
            value: sample_size.to_string(),
            requirement: "at least 10",
        });
    }
    Ok(Some(sample_size))
}

/// lib.rs:1108-1111: `assert!(num_resamples > 0)`.
fn checked_nresamples(matches: &ArgMatches) -> Result<Option<usize>, ArgsError> {
    let Some(&nresamples) = matches.get_one::<usize>("nresamples") else {
        return Ok(None);
    };
    if nresamples == 0 {
        return Err(ArgsError::OutOfRange {
            flag: "nresamples",
            value: nresamples.to_string(),
            requirement: "a positive count",
        });
    }
    Ok(Some(nresamples))
}

/// lib.rs:1096-1107: `Duration::from_secs_f64` (panics on negative, NaN,
/// overflow) then `assert!(dur.as_nanos() > 0)`.
fn checked_seconds(
    matches: &ArgMatches,
    flag: &'static str,
) -> Result<Option<Duration>, ArgsError> {
    let Some(&seconds) = matches.get_one::<f64>(flag) else {
        return Ok(None);
    };
    match Duration::try_from_secs_f64(seconds) {
        Ok(duration) if duration.as_nanos() > 0 => Ok(Some(duration)),
        _ => Err(ArgsError::OutOfRange {
            flag,
            value: seconds.to_string(),
            requirement: "a finite number of seconds of at least one nanosecond",
        }),
    }
}

/// lib.rs:1114: `assert!(x > 0.0)`, which NaN fails too.
fn is_positive(value: f64) -> bool {
    value > 0.0
}

/// lib.rs:1119 and lib.rs:1124: `assert!(x > 0.0 && x < 1.0)`.
fn is_in_open_unit_interval(value: f64) -> bool {
    value > 0.0 && value < 1.0
}

/// Reads an `f64` flag and turns Criterion's assert on it into an error.
fn checked_f64(
    matches: &ArgMatches,
    flag: &'static str,
    accepts: fn(f64) -> bool,
    requirement: &'static str,
) -> Result<Option<f64>, ArgsError> {
    let Some(&value) = matches.get_one::<f64>(flag) else {
        return Ok(None);
    };
    if !accepts(value) {
        return Err(ArgsError::OutOfRange {
            flag,
            value: value.to_string(),
            requirement,
        });
    }
    Ok(Some(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;

    /// Parses argv that Criterion accepts; argv[0] is the bench binary.
    fn parse(argv: &[&str]) -> CriterionArgs {
        CriterionArgs::parse(argv).unwrap_or_else(|error| panic!("{argv:?}: {error}"))
    }

    /// Parses argv that Criterion rejects.
    fn parse_err(argv: &[&str]) -> ArgsError {
        match CriterionArgs::parse(argv) {
            Ok(args) => panic!("{argv:?} unexpectedly parsed as {args:?}"),
            Err(error) => error,
        }
    }

    /// The clap error kind of a rejected argv.
    fn clap_kind(argv: &[&str]) -> ErrorKind {
        match parse_err(argv) {
            ArgsError::Rejected(error) => error.kind(),
            other => panic!("{argv:?}: expected a clap error, got {other:?}"),
        }
    }

    fn flags(save: Option<&str>, compare: &str, strict: bool, writes_new: bool) -> BaselineFlags {
        BaselineFlags {
            save: save.map(str::to_owned),
            compare: Some(compare.to_owned()),
            strict,
            writes_new,
        }
    }

    fn saves(name: &str) -> BaselineFlags {
        flags(Some(name), name, false, true)
    }

    // ----- command definition -----

    #[test]
    fn command_is_well_formed() {
        criterion_command().debug_assert();
    }

    // ----- defaults and mode -----

    #[test]
    fn bare_binary_is_test_mode_with_default_baseline() {
        let args = parse(&["bench"]);
        assert_eq!(args.mode, RunMode::Test);
        assert_eq!(args.baselines, BaselineFlags::default());
        assert_eq!(args.baselines, saves("base"));
        assert_eq!(args.filter, None);
        assert_eq!(args.benchmark_filter, BenchmarkFilter::AcceptAll);
        assert!(!args.quick);
        assert_eq!(args.sample_size, None);
        assert_eq!(args.warm_up_time, None);
        assert_eq!(args.measurement_time, None);
        assert_eq!(args.profile_time, None);
        assert_eq!(args.load_baseline, None);
        assert!(!args.noplot);
        assert_eq!(args.list_format, ListFormat::Pretty);
        assert_eq!(args.output_format, OutputFormat::Criterion);
    }

    #[test]
    fn bench_flag_is_benchmark_mode() {
        let args = parse(&["bench", "--bench"]);
        assert_eq!(args.mode, RunMode::Benchmark);
        assert_eq!(args.baselines, saves("base"));
    }

    #[test]
    fn test_flag_is_test_mode() {
        assert_eq!(parse(&["bench", "--test"]).mode, RunMode::Test);
    }

    #[test]
    fn test_flag_wins_over_bench_flag() {
        // `cargo bench -- --test` (lib.rs:961)
        assert_eq!(parse(&["bench", "--bench", "--test"]).mode, RunMode::Test);
    }

    #[test]
    fn cargo_test_benches_is_test_mode_even_with_filter() {
        // `cargo test --benches axum` passes no --bench (lib.rs:963)
        let args = parse(&["bench", "axum"]);
        assert_eq!(args.mode, RunMode::Test);
        assert_eq!(args.filter.as_deref(), Some("axum"));
    }

    #[test]
    fn list_is_list_mode() {
        let args = parse(&["bench", "--bench", "--list"]);
        assert_eq!(args.mode, RunMode::List);
        assert!(!args.mode.runs_routines());
    }

    #[test]
    fn list_without_bench_is_still_list() {
        // `cargo test --benches -- --list`: list is checked before test mode (lib.rs:966)
        assert_eq!(parse(&["bench", "--list"]).mode, RunMode::List);
    }

    #[test]
    fn list_format_terse() {
        let args = parse(&["bench", "--list", "--format", "terse"]);
        assert_eq!(args.mode, RunMode::List);
        assert_eq!(args.list_format, ListFormat::Terse);
    }

    #[test]
    fn list_conflicts_with_test() {
        assert_eq!(
            clap_kind(&["bench", "--list", "--test"]),
            ErrorKind::ArgumentConflict
        );
    }

    #[test]
    fn list_conflicts_with_profile_time() {
        assert_eq!(
            clap_kind(&["bench", "--bench", "--list", "--profile-time", "5"]),
            ErrorKind::ArgumentConflict
        );
    }

    #[test]
    fn list_with_load_baseline_is_list() {
        let args = parse(&[
            "bench",
            "--bench",
            "--list",
            "--load-baseline",
            "a",
            "-b",
            "b",
        ]);
        assert_eq!(args.mode, RunMode::List);
    }

    // ----- profile time -----

    #[test]
    fn profile_time_space_separated() {
        let args = parse(&["bench", "--bench", "--profile-time", "5"]);
        assert_eq!(args.mode, RunMode::Profile);
        assert_eq!(args.profile_time, Some(Duration::from_secs(5)));
    }

    #[test]
    fn profile_time_equals() {
        let args = parse(&["bench", "--bench", "--profile-time=5"]);
        assert_eq!(args.mode, RunMode::Profile);
        assert_eq!(args.profile_time, Some(Duration::from_secs(5)));
    }

    #[test]
    fn profile_time_fractional_seconds() {
        let args = parse(&["bench", "--bench", "--profile-time", "1.5"]);
        assert_eq!(args.profile_time, Some(Duration::from_millis(1500)));
    }

    #[test]
    fn profile_time_without_bench_is_test_mode() {
        // test mode is decided before --profile-time is looked at (lib.rs:980-982)
        let args = parse(&["bench", "--profile-time", "5"]);
        assert_eq!(args.mode, RunMode::Test);
        assert_eq!(args.profile_time, None);
    }

    #[test]
    fn short_profile_time_is_an_error_in_profile_mode() {
        let error = parse_err(&["bench", "--bench", "--profile-time", "0.5"]);
        assert!(matches!(error, ArgsError::ProfileTimeTooShort { seconds } if seconds == 0.5));
    }

    #[test]
    fn short_profile_time_is_unchecked_in_test_mode() {
        assert_eq!(
            parse(&["bench", "--profile-time", "0.5"]).mode,
            RunMode::Test
        );
    }

    #[test]
    fn infinite_profile_time_is_an_error() {
        let error = parse_err(&["bench", "--bench", "--profile-time", "inf"]);
        assert!(matches!(
            error,
            ArgsError::OutOfRange {
                flag: "profile-time",
                ..
            }
        ));
    }

    #[test]
    fn profile_time_conflicts_with_test() {
        assert_eq!(
            clap_kind(&["bench", "--test", "--profile-time", "5"]),
            ErrorKind::ArgumentConflict
        );
    }

    #[test]
    fn profile_time_must_be_a_number() {
        assert_eq!(
            clap_kind(&["bench", "--bench", "--profile-time", "five"]),
            ErrorKind::ValueValidation
        );
    }

    // ----- baselines -----

    #[test]
    fn short_save_baseline_space() {
        assert_eq!(
            parse(&["bench", "--bench", "-s", "mine"]).baselines,
            saves("mine")
        );
    }

    #[test]
    fn long_save_baseline_space() {
        let args = parse(&["bench", "--bench", "--save-baseline", "mine"]);
        assert_eq!(args.baselines, saves("mine"));
    }

    #[test]
    fn long_save_baseline_equals() {
        let args = parse(&["bench", "--bench", "--save-baseline=mine"]);
        assert_eq!(args.baselines, saves("mine"));
    }

    #[test]
    fn short_save_baseline_attached() {
        assert_eq!(
            parse(&["bench", "--bench", "-smine"]).baselines,
            saves("mine")
        );
    }

    #[test]
    fn short_save_baseline_equals() {
        // clap strips the `=` of `-s=NAME`
        assert_eq!(
            parse(&["bench", "--bench", "-s=mine"]).baselines,
            saves("mine")
        );
    }

    #[test]
    fn save_baseline_twice_is_rejected() {
        assert_eq!(
            clap_kind(&["bench", "--bench", "-s", "a", "-s", "b"]),
            ErrorKind::ArgumentConflict
        );
    }

    #[test]
    fn save_baseline_needs_a_value() {
        assert_eq!(
            clap_kind(&["bench", "--bench", "-s"]),
            ErrorKind::InvalidValue
        );
    }

    #[test]
    fn short_baseline_compares_strictly_and_saves_nothing() {
        let args = parse(&["bench", "--bench", "-b", "main"]);
        assert_eq!(args.mode, RunMode::Benchmark);
        assert_eq!(args.baselines, flags(None, "main", true, true));
    }

    #[test]
    fn long_baseline_equals() {
        let args = parse(&["bench", "--bench", "--baseline=main"]);
        assert_eq!(args.baselines, flags(None, "main", true, true));
    }

    #[test]
    fn baseline_lenient_compares_leniently() {
        let args = parse(&["bench", "--bench", "--baseline-lenient", "main"]);
        assert_eq!(args.baselines, flags(None, "main", false, true));
    }

    #[test]
    fn discard_baseline_still_compares_with_base() {
        // lib.rs:1030-1036: the default `-s base` sets the directory, discard
        // only changes the kind; analysis/mod.rs:178 still compares with it.
        let args = parse(&["bench", "--bench", "--discard-baseline"]);
        assert_eq!(args.mode, RunMode::Benchmark);
        assert_eq!(args.baselines, flags(None, "base", false, false));
    }

    #[test]
    fn baseline_conflicts_with_save_baseline() {
        assert_eq!(
            clap_kind(&["bench", "--bench", "-b", "main", "-s", "mine"]),
            ErrorKind::ArgumentConflict
        );
    }

    #[test]
    fn explicit_default_save_baseline_still_conflicts() {
        assert_eq!(
            clap_kind(&["bench", "--bench", "-s", "base", "-b", "main"]),
            ErrorKind::ArgumentConflict
        );
    }

    #[test]
    fn baseline_conflicts_with_baseline_lenient() {
        assert_eq!(
            clap_kind(&["bench", "--bench", "-b", "a", "--baseline-lenient", "b"]),
            ErrorKind::ArgumentConflict
        );
    }

    #[test]
    fn discard_conflicts_with_every_named_baseline() {
        for other in [["-s", "a"], ["-b", "a"], ["--baseline-lenient", "a"]] {
            let argv = ["bench", "--bench", "--discard-baseline", other[0], other[1]];
            assert_eq!(clap_kind(&argv), ErrorKind::ArgumentConflict, "{argv:?}");
        }
    }

    #[test]
    fn load_baseline_runs_nothing_and_compares_strictly() {
        let args = parse(&[
            "bench",
            "--bench",
            "--load-baseline",
            "new",
            "--baseline",
            "old",
        ]);
        assert_eq!(args.mode, RunMode::LoadBaseline);
        assert!(!args.mode.runs_routines());
        assert!(args.mode.analyses_results());
        assert_eq!(args.load_baseline.as_deref(), Some("new"));
        assert_eq!(args.baselines, flags(None, "old", true, false));
    }

    #[test]
    fn load_baseline_without_bench_is_test_mode() {
        let args = parse(&["bench", "--load-baseline", "new", "-b", "old"]);
        assert_eq!(args.mode, RunMode::Test);
        assert_eq!(args.load_baseline.as_deref(), Some("new"));
    }

    #[test]
    fn load_baseline_requires_baseline() {
        assert_eq!(
            clap_kind(&["bench", "--bench", "--load-baseline", "new"]),
            ErrorKind::MissingRequiredArgument
        );
    }

    #[test]
    fn load_baseline_accepts_baseline_lenient_because_it_conflicts_with_baseline() {
        // clap waives `requires("baseline")` when a present arg conflicts with
        // `baseline` (clap_builder validator.rs `is_missing_required_ok`).
        let args = parse(&[
            "bench",
            "--bench",
            "--load-baseline",
            "new",
            "--baseline-lenient",
            "old",
        ]);
        assert_eq!(args.mode, RunMode::LoadBaseline);
        assert_eq!(args.baselines, flags(None, "old", false, false));
    }

    #[test]
    fn load_baseline_accepts_save_baseline_for_the_same_reason() {
        // Criterion then copies a stale `<id>/new/` into `mine` (analysis/mod.rs:250-257).
        let args = parse(&["bench", "--bench", "--load-baseline", "new", "-s", "mine"]);
        assert_eq!(args.mode, RunMode::LoadBaseline);
        assert_eq!(args.baselines, flags(Some("mine"), "mine", false, false));
    }

    #[test]
    fn load_baseline_accepts_discard_baseline_for_the_same_reason() {
        let args = parse(&[
            "bench",
            "--bench",
            "--load-baseline",
            "new",
            "--discard-baseline",
        ]);
        assert_eq!(args.mode, RunMode::LoadBaseline);
        assert_eq!(args.baselines, flags(None, "base", false, false));
    }

    #[test]
    fn load_baseline_conflicts_with_profile_time() {
        assert_eq!(
            clap_kind(&[
                "bench",
                "--bench",
                "--load-baseline",
                "n",
                "-b",
                "o",
                "--profile-time",
                "5"
            ]),
            ErrorKind::ArgumentConflict
        );
    }

    // ----- filter -----

    #[test]
    fn filter_positional_with_flags() {
        let args = parse(&["bench", "--bench", "axum", "-s", "mine"]);
        assert_eq!(args.mode, RunMode::Benchmark);
        assert_eq!(args.filter.as_deref(), Some("axum"));
        assert_eq!(
            args.benchmark_filter,
            BenchmarkFilter::Regex("axum".to_owned())
        );
        assert_eq!(args.baselines, saves("mine"));
    }

    #[test]
    fn filter_after_flags() {
        let args = parse(&["bench", "-s", "mine", "--bench", "axum/get"]);
        assert_eq!(args.filter.as_deref(), Some("axum/get"));
        assert_eq!(args.baselines, saves("mine"));
    }

    #[test]
    fn exact_filter() {
        let args = parse(&["bench", "--bench", "--exact", "axum/get"]);
        assert_eq!(
            args.benchmark_filter,
            BenchmarkFilter::Exact("axum/get".to_owned())
        );
    }

    #[test]
    fn exact_without_filter_accepts_all() {
        let args = parse(&["bench", "--bench", "--exact"]);
        assert_eq!(args.benchmark_filter, BenchmarkFilter::AcceptAll);
    }

    #[test]
    fn ignored_rejects_all_even_with_filter() {
        let args = parse(&["bench", "--bench", "--ignored", "axum"]);
        assert_eq!(args.filter.as_deref(), Some("axum"));
        assert_eq!(args.benchmark_filter, BenchmarkFilter::RejectAll);
    }

    #[test]
    fn second_positional_is_rejected() {
        assert_eq!(
            clap_kind(&["bench", "--bench", "a", "b"]),
            ErrorKind::UnknownArgument
        );
    }

    #[test]
    fn double_dash_makes_a_flag_the_filter() {
        let args = parse(&["bench", "--bench", "--", "--quick"]);
        assert_eq!(args.filter.as_deref(), Some("--quick"));
        assert!(!args.quick);
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_filter_is_an_error_not_a_panic() {
        use std::os::unix::ffi::OsStringExt;
        let argv = [
            OsString::from("bench"),
            OsString::from_vec(vec![0x66, 0x6f, 0xff]),
        ];
        let error = CriterionArgs::parse(argv)
            .map(|_| ())
            .map_err(|error| match error {
                ArgsError::Rejected(clap_error) => clap_error.kind(),
                other => panic!("expected a clap error, got {other:?}"),
            });
        assert_eq!(error, Err(ErrorKind::InvalidUtf8));
    }

    // ----- measurement settings -----

    #[test]
    fn quick() {
        assert!(parse(&["bench", "--bench", "--quick"]).quick);
    }

    #[test]
    fn quick_conflicts_with_sample_size() {
        assert_eq!(
            clap_kind(&["bench", "--bench", "--quick", "--sample-size", "10"]),
            ErrorKind::ArgumentConflict
        );
    }

    #[test]
    fn sample_size() {
        assert_eq!(
            parse(&["bench", "--bench", "--sample-size", "10"]).sample_size,
            Some(10)
        );
    }

    #[test]
    fn sample_size_below_ten_is_an_error() {
        let error = parse_err(&["bench", "--bench", "--sample-size", "9"]);
        assert!(matches!(
            error,
            ArgsError::OutOfRange {
                flag: "sample-size",
                ..
            }
        ));
    }

    #[test]
    fn sample_size_is_checked_in_test_mode_too() {
        // lib.rs:1092 runs whatever the mode
        let error = parse_err(&["bench", "--sample-size", "9"]);
        assert!(matches!(
            error,
            ArgsError::OutOfRange {
                flag: "sample-size",
                ..
            }
        ));
    }

    #[test]
    fn sample_size_must_be_an_integer() {
        assert_eq!(
            clap_kind(&["bench", "--bench", "--sample-size", "10.5"]),
            ErrorKind::ValueValidation
        );
    }

    #[test]
    fn measurement_time() {
        let args = parse(&["bench", "--bench", "--measurement-time", "2"]);
        assert_eq!(args.measurement_time, Some(Duration::from_secs(2)));
    }

    #[test]
    fn measurement_time_fractional() {
        let args = parse(&["bench", "--bench", "--measurement-time=0.25"]);
        assert_eq!(args.measurement_time, Some(Duration::from_millis(250)));
    }

    #[test]
    fn warm_up_time() {
        let args = parse(&["bench", "--bench", "--warm-up-time", "1"]);
        assert_eq!(args.warm_up_time, Some(Duration::from_secs(1)));
    }

    #[test]
    fn zero_or_negative_times_are_errors() {
        for argv in [
            &["bench", "--warm-up-time", "0"][..],
            &["bench", "--measurement-time", "0"],
            &["bench", "--measurement-time=-1"],
            &["bench", "--warm-up-time", "NaN"],
        ] {
            let error = parse_err(argv);
            assert!(
                matches!(error, ArgsError::OutOfRange { .. }),
                "{argv:?}: {error:?}"
            );
        }
    }

    #[test]
    fn statistics_settings() {
        let args = parse(&[
            "bench",
            "--bench",
            "--nresamples",
            "1000",
            "--noise-threshold",
            "0.05",
            "--confidence-level",
            "0.9",
            "--significance-level",
            "0.1",
        ]);
        assert_eq!(args.nresamples, Some(1000));
        assert_eq!(args.noise_threshold, Some(0.05));
        assert_eq!(args.confidence_level, Some(0.9));
        assert_eq!(args.significance_level, Some(0.1));
    }

    #[test]
    fn out_of_range_statistics_are_errors() {
        for (flag, value) in [
            ("--nresamples", "0"),
            ("--noise-threshold", "0"),
            ("--confidence-level", "1"),
            ("--significance-level", "0"),
            ("--confidence-level", "NaN"),
        ] {
            let error = parse_err(&["bench", flag, value]);
            assert!(
                matches!(error, ArgsError::OutOfRange { .. }),
                "{flag} {value}: {error:?}"
            );
        }
    }

    // ----- libtest-style and output flags -----

    #[test]
    fn libtest_flags_are_accepted_and_ignored() {
        let args = parse(&[
            "bench",
            "--bench",
            "--nocapture",
            "--show-output",
            "--include-ignored",
            "--format",
            "pretty",
        ]);
        assert_eq!(args.mode, RunMode::Benchmark);
        assert_eq!(args.benchmark_filter, BenchmarkFilter::AcceptAll);
        assert_eq!(args.baselines, saves("base"));
    }

    #[test]
    fn libtest_exact_and_ignored_as_cargo_passes_them() {
        let args = parse(&["bench", "--bench", "--exact", "--ignored", "axum"]);
        assert_eq!(args.benchmark_filter, BenchmarkFilter::RejectAll);
    }

    #[test]
    fn libtest_json_format_is_rejected_like_criterion() {
        assert_eq!(
            clap_kind(&["bench", "--bench", "--format", "json"]),
            ErrorKind::InvalidValue
        );
    }

    #[test]
    fn unknown_libtest_flag_is_rejected_like_criterion() {
        assert_eq!(
            clap_kind(&["bench", "--test-threads", "1"]),
            ErrorKind::UnknownArgument
        );
    }

    #[test]
    fn version_flag_is_accepted_and_ignored() {
        assert_eq!(
            parse(&["bench", "--bench", "--version"]).mode,
            RunMode::Benchmark
        );
        assert_eq!(parse(&["bench", "-V"]).mode, RunMode::Test);
    }

    #[test]
    fn help_is_a_help_request() {
        let error = parse_err(&["bench", "--help"]);
        assert!(error.is_help_request());
        assert!(!parse_err(&["bench", "--nope"]).is_help_request());
    }

    #[test]
    fn output_and_plot_flags() {
        let args = parse(&[
            "bench",
            "--bench",
            "-n",
            "--output-format",
            "bencher",
            "--colour",
            "never",
            "-v",
            "--plotting-backend",
            "plotters",
        ]);
        assert!(args.noplot);
        assert_eq!(args.output_format, OutputFormat::Bencher);
    }

    #[test]
    fn verbose_conflicts_with_quiet() {
        assert_eq!(
            clap_kind(&["bench", "-v", "--quiet"]),
            ErrorKind::ArgumentConflict
        );
    }

    // ----- cross-check with Criterion's source -----

    /// The Criterion release whose `configure_from_args` this file copies.
    const CRITERION_VERSION: &str = "0.8.2";

    /// Where cargo unpacked Criterion's source, if it did on this machine.
    fn criterion_lib_rs() -> Option<std::path::PathBuf> {
        let cargo_home = std::env::var_os("CARGO_HOME")
            .map(std::path::PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME").map(|home| std::path::Path::new(&home).join(".cargo"))
            })?;
        let registries = std::fs::read_dir(cargo_home.join("registry").join("src")).ok()?;
        registries
            .filter_map(Result::ok)
            .map(|registry| {
                registry
                    .path()
                    .join(format!("criterion-{CRITERION_VERSION}"))
                    .join("src")
                    .join("lib.rs")
            })
            .find(|path| path.is_file())
    }

    /// The builder chain from `Command::new` up to (not including) `.after_help(`.
    fn builder_chain(source: &str) -> Option<&str> {
        let start = source.find("Command::new(\"Criterion Benchmark\")")?;
        let length = source[start..].find(".after_help(")?;
        Some(&source[start..start + length])
    }

    /// Index just past the string literal that starts at `start` (a `"`).
    fn string_end(chars: &[char], start: usize) -> usize {
        let mut index = start + 1;
        while index < chars.len() && chars[index] != '"' {
            index += if chars[index] == '\\' { 2 } else { 1 };
        }
        index + 1
    }

    /// Index just past the parenthesised call arguments that start at `start` (a `(`).
    fn call_end(chars: &[char], start: usize) -> usize {
        let mut depth = 0_usize;
        let mut index = start;
        while index < chars.len() {
            match chars[index] {
                '"' => {
                    index = string_end(chars, index);
                    continue;
                }
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        return index + 1;
                    }
                }
                _ => {}
            }
            index += 1;
        }
        index
    }

    /// Whether `needle` occurs in `chars` at `index`.
    fn occurs_at(chars: &[char], index: usize, needle: &str) -> bool {
        needle
            .chars()
            .enumerate()
            .all(|(offset, c)| chars.get(index + offset) == Some(&c))
    }

    /// The chain without whitespace, comments and `.help(..)` calls: what is
    /// left decides how argv parses. Help texts differ (Criterion formats its
    /// current config into them).
    fn parsing_relevant(chain: &str) -> String {
        let chars: Vec<char> = chain.chars().collect();
        let mut kept = String::new();
        let mut index = 0;
        while index < chars.len() {
            if occurs_at(&chars, index, ".help(") {
                index = call_end(&chars, index + ".help".len());
            } else if occurs_at(&chars, index, "//") {
                while index < chars.len() && chars[index] != '\n' {
                    index += 1;
                }
            } else if chars[index] == '"' {
                let end = string_end(&chars, index);
                kept.extend(&chars[index..end]);
                index = end;
            } else {
                if !chars[index].is_whitespace() {
                    kept.push(chars[index]);
                }
                index += 1;
            }
        }
        kept.replace("DEFAULT_BASELINE", "\"base\"")
    }

    #[test]
    fn the_build_uses_exactly_the_criterion_this_file_mirrors() {
        let manifest = include_str!("../../Cargo.toml");
        assert!(
            manifest.contains(&format!("criterion = \"={CRITERION_VERSION}\"")),
            "Cargo.toml must pin criterion to ={CRITERION_VERSION}"
        );
        let lock = include_str!("../../Cargo.lock");
        let locked = lock
            .split("[[package]]")
            .find(|package| package.contains("name = \"criterion\"\n"))
            .expect("criterion in Cargo.lock");
        assert!(
            locked.contains(&format!("version = \"{CRITERION_VERSION}\"")),
            "Cargo.lock has another criterion: {locked}"
        );
    }

    #[test]
    fn command_matches_criterion_source() {
        // Cargo unpacks Criterion's source to build this very test, so a
        // missing source is a broken setup, never a reason to skip.
        let path = criterion_lib_rs().unwrap_or_else(|| {
            panic!(
                "criterion-{CRITERION_VERSION} source not found under $CARGO_HOME/registry/src; \
                 set CARGO_HOME to where cargo unpacked it"
            )
        });
        let criterion_source = std::fs::read_to_string(&path).expect("readable criterion lib.rs");
        // This file must keep its name for this to compile.
        let own_source = include_str!("args.rs");
        let theirs = builder_chain(&criterion_source).expect("Criterion's command in lib.rs");
        let ours = builder_chain(own_source).expect("criterion_command in this file");
        assert_eq!(
            parsing_relevant(ours),
            parsing_relevant(theirs),
            "{}",
            path.display()
        );
    }

    #[test]
    fn parsing_relevant_drops_help_comments_and_whitespace() {
        let chain = "Command::new(\"x\")\n  // a (comment\n  .arg(Arg::new(\"a b\")\n    .help(format!(\"(x) {}\", f(1)))\n    .long(\"a\"))";
        assert_eq!(
            parsing_relevant(chain),
            "Command::new(\"x\").arg(Arg::new(\"a b\").long(\"a\"))"
        );
    }

    // ----- serialisation -----

    #[test]
    fn run_mode_serialises_kebab_case() -> Result<(), serde_json::Error> {
        for (mode, text) in [
            (RunMode::Benchmark, "\"benchmark\""),
            (RunMode::Test, "\"test\""),
            (RunMode::Profile, "\"profile\""),
            (RunMode::List, "\"list\""),
            (RunMode::LoadBaseline, "\"load-baseline\""),
        ] {
            assert_eq!(serde_json::to_string(&mode)?, text);
            assert_eq!(serde_json::from_str::<RunMode>(text)?, mode);
        }
        Ok(())
    }

    #[test]
    fn from_env_does_not_panic() {
        // The test binary's own argv may or may not be Criterion-compatible;
        // either way the result must be a value, not a panic.
        let _ = CriterionArgs::from_env();
    }
}
