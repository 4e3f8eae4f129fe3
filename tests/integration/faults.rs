//! Each way a server can misbehave gives a clear error naming it, and
//! leaves no process behind.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use framework_bench::Error;
use framework_bench::load::hammer::LoadPlan;
use framework_bench::server::process::{LaunchOptions, ServerProcess};

use crate::util::{assert_gone, built, eventually, group_size, options, pid_exists, run_hammer};

/// For servers that are expected never to become ready: a short deadline
/// keeps the test quick. Servers expected to start get the default.
fn quick_options() -> LaunchOptions {
    let mut options = options(1);
    options.ready_timeout = Duration::from_secs(2);
    options
}

/// Starts `name`, expecting an error; returns its message.
fn start_error(name: &str, options: &LaunchOptions) -> Error {
    match ServerProcess::start(&built(name), options) {
        Ok(server) => panic!("{name} started (pid {})", server.pid()),
        Err(err) => err,
    }
}

#[test]
fn exit_at_start_is_reported_with_the_log() {
    let err = start_error("exit-at-start", &quick_options());
    let message = err.to_string();
    assert!(matches!(err, Error::ExitedBeforeReady { .. }), "{message}");
    assert!(
        message.starts_with("exit-at-start exited before it was ready (exit status 2)"),
        "{message}"
    );
    assert!(message.contains("exiting at start, as asked"), "{message}");
    assert!(message.contains("exit-at-start.log"), "{message}");
}

#[test]
fn a_server_that_never_prints_the_ready_line_times_out() {
    let err = start_error("never-ready", &quick_options());
    let message = err.to_string();
    assert!(matches!(err, Error::NotReady { .. }), "{message}");
    assert!(
        message.contains("never-ready was not ready within 2s: the ready line"),
        "{message}"
    );
}

#[test]
fn a_server_that_never_answers_times_out() {
    let err = start_error("mute", &quick_options());
    let message = err.to_string();
    assert!(
        message.contains("mute was not ready within 2s: a 200 from GET /hello/World"),
        "{message}"
    );
}

#[test]
fn a_server_answering_500_is_not_ready_and_says_so() {
    let err = start_error("status-500", &quick_options());
    let message = err.to_string();
    assert!(message.contains("last: answered 500"), "{message}");
}

#[test]
fn a_missing_binary_is_named() {
    let mut server = built("axum");
    server.bin = Some(PathBuf::from("/nonexistent/server-axum"));
    let err = start_error_of(&server);
    assert!(matches!(err, Error::ProgramMissing { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("axum: program `/nonexistent/server-axum` not found")
    );
}

fn start_error_of(server: &framework_bench::server::built::BuiltServer) -> Error {
    match ServerProcess::start(server, &quick_options()) {
        Ok(_) => panic!("started"),
        Err(err) => err,
    }
}

#[test]
fn a_port_in_use_is_reported_with_the_servers_own_words() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut options = quick_options();
    options.port = taken.local_addr().unwrap().port();
    let err = start_error("axum", &options);
    let message = err.to_string();
    assert!(matches!(err, Error::ExitedBeforeReady { .. }), "{message}");
    assert!(message.contains("Address already in use"), "{message}");
}

#[test]
fn a_crash_during_the_burst_is_detected() {
    let mut server = ServerProcess::start(&built("crash-after-3"), &options(1)).unwrap();
    let pid = server.pid();
    let report = run_hammer(server.addr(), &LoadPlan::burst(20, Duration::from_secs(2)));
    assert!(report.successes < 20, "{report}");
    assert!(eventually(Duration::from_secs(5), || server
        .check_alive("during the burst")
        .is_err()));
    let err = server
        .check_alive("during the burst")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("crash-after-3 crashed (killed by signal 6 (SIGABRT)) during the burst"),
        "{err}"
    );
    drop(server);
    assert_gone(pid);
}

#[test]
fn wrong_bodies_are_counted_not_successes() {
    let server = ServerProcess::start(&built("wrong-body-after-1"), &options(1)).unwrap();
    let report = run_hammer(server.addr(), &LoadPlan::burst(10, Duration::from_secs(5)));
    assert_eq!(report.successes, 0, "{report}");
    assert_eq!(report.counts.get("200-wrong-body"), Some(&10), "{report}");
    assert_eq!(report.success_rate(), 0.0);
}

#[test]
fn a_server_ignoring_sigterm_is_killed_and_reported() {
    let mut options = options(1);
    options.stop_timeout = Duration::from_millis(300);
    let server = ServerProcess::start(&built("ignore-sigterm"), &options).unwrap();
    let pid = server.pid();
    let err = server.shutdown().unwrap_err();
    assert!(matches!(err, Error::StopTimeout { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("ignore-sigterm did not exit within 300ms of SIGTERM")
    );
    assert_gone(pid);
}

#[test]
fn dropping_the_guard_kills_the_server() {
    let server = ServerProcess::start(&built("ignore-sigterm"), &options(1)).unwrap();
    let pid = server.pid();
    drop(server);
    assert_gone(pid);
}

#[test]
fn a_panic_with_a_running_server_leaves_nothing_behind() {
    let pid = std::thread::spawn(|| {
        let server = ServerProcess::start(&built("misbehaving"), &options(1)).unwrap();
        let pid = server.pid();
        std::panic::panic_any(pid);
    })
    .join()
    .unwrap_err();
    let pid = *pid.downcast::<u32>().unwrap();
    assert_gone(pid);
}

/// The helper below runs in a child copy of this test binary, starts the
/// server named in this variable, prints its pid and waits to be killed.
const HELPER_ENV: &str = "FAULT_TESTS_HELPER_SERVER";

/// Starts the helper with `server`; returns it and the server's pid.
fn start_helper(server: &str) -> (std::process::Child, u32) {
    built(server); // build before the helper needs it
    let exe = std::env::current_exe().unwrap();
    let mut helper = Command::new(exe)
        .args([
            "--exact",
            "faults::helper_starts_a_server_and_waits",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(HELPER_ENV, server)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(helper.stdout.take().unwrap());
    let pid = read_pid(&mut stdout).unwrap_or_else(|| {
        let _ = helper.kill();
        panic!("the helper printed no pid")
    });
    assert!(pid_exists(pid));
    (helper, pid)
}

#[test]
fn killing_the_harness_kills_its_servers() {
    let (mut helper, pid) = start_helper("misbehaving");
    helper.kill().unwrap(); // SIGKILL: no destructor runs
    helper.wait().unwrap();
    assert!(
        eventually(Duration::from_secs(5), || !pid_exists(pid)),
        "server {pid} outlived the harness"
    );
}

#[test]
fn ctrl_c_kills_the_servers_and_what_they_started() {
    use std::os::unix::process::ExitStatusExt;
    let (mut helper, pid) = start_helper("with-child");
    assert!(
        eventually(Duration::from_secs(5), || group_size(pid) >= 2),
        "the server's child did not start"
    );
    // What a Ctrl-C in the terminal sends the harness's foreground group.
    let helper_pid = nix::unistd::Pid::from_raw(helper.id() as i32);
    nix::sys::signal::kill(helper_pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let status = helper.wait().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGINT), "{status:?}");
    assert!(
        eventually(Duration::from_secs(5), || group_size(pid) == 0),
        "server group {pid} outlived the harness"
    );
}

fn read_pid(stdout: &mut impl std::io::BufRead) -> Option<u32> {
    let mut line = String::new();
    while stdout.read_line(&mut line).ok()? > 0 {
        // libtest may put `test NAME ... ` before it on the same line.
        if let Some((_, pid)) = line.trim().split_once("server pid ") {
            return pid.parse().ok();
        }
        line.clear();
    }
    None
}

#[test]
fn helper_starts_a_server_and_waits() {
    let Ok(name) = std::env::var(HELPER_ENV) else {
        return; // only meaningful inside `start_helper`
    };
    let server = ServerProcess::start(&built(&name), &options(1)).unwrap();
    println!("server pid {}", server.pid());
    // Bounded: the parent kills us long before this ends.
    std::thread::sleep(Duration::from_secs(60));
}
