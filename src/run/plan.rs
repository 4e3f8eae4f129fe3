//! A run as data: before anything starts, the selection, the knobs and
//! Criterion's filter become an ordered list of [`Step`]s over server
//! sessions. Executing the plan is the whole orchestration
//! ([`super::executor`]); another order (rounds of two servers interleaved, a
//! burst repeated on one process) is another plan, not another code path.
//!
//! Only one server process runs at any time, so that no server's memory
//! (USS and PSS count shared pages) or latency depends on another. A
//! server's first process is round 1 of the seed's phases: start, settle,
//! snapshot ("before"), burst, settle, snapshot ("after"), which Criterion's
//! memory benchmarks read. Then it stops, and the remaining rounds repeat the
//! phases on fresh processes, so each figure has several independent
//! readings. The heap rounds follow (the same phases with the heap
//! counted), then the leak check's bursts on one more counted process when
//! asked for. Each latency benchmark gets a fresh process, stopped after
//! it; the sweep gets one per server, and its constant-rate runs follow on
//! it. The callgrind pass, when asked for, comes last.

use std::collections::BTreeSet;

use criterion::Throughput;

use crate::config::BenchConfig;
use crate::error::{Error, Result};
use crate::load::Route;
use crate::measure::memory::MemoryFigure;
use crate::record::{CLIENT_CEILING, CLIENT_FLOOR, Phase};
use crate::run::args::BenchmarkFilter;

/// A server of the run, by its position in the selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServerId(pub usize);

/// One thing the run does.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Builds the server if needed and starts a process of it. `round` is
    /// the memory round this process is (round 1 also records what ran);
    /// `None` for a process that serves timed benchmarks only.
    Start {
        server: ServerId,
        round: Option<u32>,
    },
    /// As [`Step::Start`], with the server's heap counted (a heap round,
    /// or the leak check's process). Counting costs the server time, so
    /// no time or RSS figure is read from such a process.
    StartCounted {
        server: ServerId,
        round: Option<u32>,
    },
    /// Waits until the server's memory is still, then reads it: the
    /// round's snapshot before or after its burst.
    Settle {
        server: ServerId,
        phase: Phase,
    },
    /// The seed's burst on the running process.
    Burst {
        server: ServerId,
    },
    /// The round's latency reading of every route, then the harness's
    /// responder's beside it (the control).
    Probe {
        server: ServerId,
    },
    /// A Criterion benchmark, which reads or times the running process.
    Bench(Bench),
    /// The open-loop runs at fixed rates, after the server's sweep.
    RateRuns {
        server: ServerId,
    },
    /// Stops the server's running process.
    Stop {
        server: ServerId,
    },
    /// One more burst on the running process, then a settle and a reading:
    /// a point of the server's leak check.
    LeakBurst {
        server: ServerId,
    },
    /// Instructions per request of every route, counted by callgrind on a
    /// process of its own.
    Instructions {
        server: ServerId,
    },
    /// Starts and stops the harness's own responder, which the client's
    /// floor and ceiling are measured on.
    StartResponder,
    StopResponder,
}

impl Step {
    /// The kind of step, as the run's time is told by.
    pub fn kind(&self) -> &'static str {
        match self {
            Step::Start { .. } | Step::StartCounted { .. } => "start",
            Step::Settle { .. } => "settle",
            Step::Burst { .. } => "burst",
            Step::Probe { .. } => "probe",
            Step::Bench(_) => "benchmark",
            Step::RateRuns { .. } => "rate runs",
            Step::LeakBurst { .. } => "leak check",
            Step::Instructions { .. } => "instructions",
            Step::Stop { .. } => "stop",
            Step::StartResponder | Step::StopResponder => "responder",
        }
    }
}

/// A Criterion benchmark of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bench {
    /// One memory figure of round 1's idle process.
    Memory {
        server: ServerId,
        phase: Phase,
        figure: MemoryFigure,
    },
    /// One request at a time on a keep-alive connection.
    Latency { server: ServerId, route: Route },
    /// One round of `connections` requests over as many connections.
    Throughput {
        server: ServerId,
        connections: usize,
        /// What the sweep sends it: a request, or a mix (`hello+json`).
        route: Route,
    },
    /// The same against the harness's own responder.
    Ceiling { connections: usize },
    /// `/hello` one request at a time against the harness's own responder:
    /// the client's floor, beside the servers' latency.
    Floor,
}

/// The benchmarks of each `memory-<server>` group, in order.
pub const MEMORY_BENCHES: [(Phase, MemoryFigure); 4] = [
    (Phase::Before, MemoryFigure::Rss),
    (Phase::Before, MemoryFigure::Vms),
    (Phase::After, MemoryFigure::Rss),
    (Phase::After, MemoryFigure::Vms),
];

/// The group of the throughput sweep and its ceiling.
const THROUGHPUT_GROUP: &str = "throughput-hello";

impl Bench {
    /// The server it measures; `None` for the client's ceiling.
    pub fn server(self) -> Option<ServerId> {
        match self {
            Bench::Memory { server, .. }
            | Bench::Latency { server, .. }
            | Bench::Throughput { server, .. } => Some(server),
            Bench::Ceiling { .. } | Bench::Floor => None,
        }
    }

    /// Criterion's group: `memory-axum`, `latency-hello`, `throughput-hello`.
    pub fn group(self, names: &[String]) -> String {
        match self {
            Bench::Memory { server, .. } => format!("memory-{}", names[server.0]),
            Bench::Latency { route, .. } => format!("latency-{route}"),
            Bench::Floor => format!("latency-{}", Route::HELLO),
            Bench::Throughput { route, .. } => format!("throughput-{route}"),
            Bench::Ceiling { .. } => THROUGHPUT_GROUP.to_owned(),
        }
    }

    /// The function and, for the sweep, the parameter within the group.
    pub fn function(self, names: &[String]) -> (String, Option<String>) {
        match self {
            Bench::Memory { phase, figure, .. } => {
                (format!("{}-{}", figure.name(), phase.name()), None)
            }
            Bench::Latency { server, .. } => (names[server.0].clone(), None),
            Bench::Throughput {
                server,
                connections,
                ..
            } => (names[server.0].clone(), Some(format!("c{connections}"))),
            Bench::Ceiling { connections } => {
                (CLIENT_CEILING.to_owned(), Some(format!("c{connections}")))
            }
            Bench::Floor => (CLIENT_FLOOR.to_owned(), None),
        }
    }

    /// The full id Criterion matches its filter against.
    pub fn id(self, names: &[String]) -> String {
        let (function, parameter) = self.function(names);
        let id = format!("{}/{function}", self.group(names));
        match parameter {
            Some(parameter) => format!("{id}/{parameter}"),
            None => id,
        }
    }

    /// What Criterion counts per iteration, where it counts anything.
    pub fn throughput(self) -> Option<Throughput> {
        match self {
            Bench::Memory { .. } => None,
            Bench::Latency { .. } | Bench::Floor => Some(Throughput::Elements(1)),
            Bench::Throughput { connections, .. } | Bench::Ceiling { connections } => {
                Some(Throughput::Elements(connections as u64))
            }
        }
    }
}

/// Criterion's filter, compiled as Criterion compiles it (lib.rs:1007) and
/// matched as it matches (lib.rs:1136-1143), so that the plan starts
/// exactly the servers whose benchmarks Criterion will run.
#[derive(Debug, Clone)]
pub enum Filter {
    All,
    Regex(regex::Regex),
    Exact(String),
    Nothing,
}

impl Filter {
    /// Refuses a pattern Criterion would panic on, before anything starts.
    pub fn new(filter: &BenchmarkFilter) -> Result<Filter> {
        Ok(match filter {
            BenchmarkFilter::AcceptAll => Filter::All,
            BenchmarkFilter::Regex(pattern) => {
                Filter::Regex(regex::Regex::new(pattern).map_err(|err| Error::Filter {
                    pattern: pattern.clone(),
                    message: err.to_string(),
                })?)
            }
            BenchmarkFilter::Exact(id) => Filter::Exact(id.clone()),
            BenchmarkFilter::RejectAll => Filter::Nothing,
        })
    }

    /// The benchmarks whose id matches `pattern`, as `cargo bench -- PATTERN`.
    pub fn matching(pattern: &str) -> Result<Filter> {
        Filter::new(&BenchmarkFilter::Regex(pattern.to_owned()))
    }

    pub fn selects(&self, id: &str) -> bool {
        match self {
            Filter::All => true,
            Filter::Regex(regex) => regex.is_match(id),
            Filter::Exact(exact) => id == exact,
            Filter::Nothing => false,
        }
    }
}

/// The steps of a run, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    pub steps: Vec<Step>,
}

/// What the default plan is made from.
pub struct Selection<'a> {
    /// The selected servers' names; a [`ServerId`] indexes this.
    pub names: &'a [String],
    /// The requests each server is measured on, by name, indexed as
    /// `names`: the contract's two for a server that declares none.
    pub routes: &'a [Vec<Route>],
    /// What the sweep sends each server, by name, indexed as `names`.
    pub sweeps: &'a [Route],
    pub config: &'a BenchConfig,
    pub filter: &'a Filter,
    /// False in `--list` and `--load-baseline` modes, where Criterion runs
    /// no benchmark: the plan then lists every benchmark and starts nothing.
    pub runs_routines: bool,
}

impl Plan {
    /// The seed's phases, then latency, then the opt-in sweep (see the
    /// module docs). Only benchmarks the filter selects are planned, and a
    /// server is started only for them.
    pub fn default_run(selection: &Selection<'_>) -> Plan {
        if !selection.runs_routines {
            return Plan::list_only(selection);
        }
        let mut builder = Builder::new(selection);
        for server in builder.servers() {
            builder.memory(server);
        }
        builder.floor();
        for route in builder.routes() {
            for server in builder.servers_of(route) {
                builder.latency(server, route);
            }
        }
        builder.sweep();
        builder.instructions();
        builder.plan
    }

    /// An A/B run: `rounds` rounds of each server, alternated A B B A A B
    /// B A ..., so that round `i` of A and round `i` of B run next to each
    /// other and the machine's drift over the run falls on both. Each
    /// round is the seed's phases and the round's latency readings; no
    /// Criterion benchmark runs, since the verdict is the rounds'.
    /// The heap rounds follow, alternated the same way, then the leak check
    /// and the instructions of each side when the run asks for them.
    pub fn interleaved(a: ServerId, b: ServerId, config: &BenchConfig) -> Plan {
        let mut plan = Plan::default();
        for i in 0..config.rounds {
            let pair = if i % 2 == 0 { [a, b] } else { [b, a] };
            let round = u32::try_from(i + 1).unwrap_or(u32::MAX);
            for server in pair {
                plan.steps.extend([
                    Step::Start {
                        server,
                        round: Some(round),
                    },
                    Step::Settle {
                        server,
                        phase: Phase::Before,
                    },
                    Step::Burst { server },
                    Step::Settle {
                        server,
                        phase: Phase::After,
                    },
                    Step::Probe { server },
                    Step::Stop { server },
                ]);
            }
        }
        for i in 0..config.heap_rounds() {
            let pair = if i % 2 == 0 { [a, b] } else { [b, a] };
            let round = u32::try_from(config.rounds + i + 1).unwrap_or(u32::MAX);
            for server in pair {
                plan.steps.extend(heap_round(server, round));
            }
        }
        for server in [a, b] {
            plan.steps.extend(leak_check(server, config.leak_bursts));
        }
        if config.instructions {
            plan.steps
                .extend([a, b].map(|server| Step::Instructions { server }));
        }
        plan
    }

    /// Every benchmark, with no step that starts anything: Criterion lists
    /// them (and filters the list itself) or analyses saved samples.
    fn list_only(selection: &Selection<'_>) -> Plan {
        let everything = Selection {
            filter: &Filter::All,
            runs_routines: true,
            ..*selection
        };
        let steps = Plan::default_run(&everything)
            .steps
            .into_iter()
            .filter(|step| matches!(step, Step::Bench(_)))
            .collect();
        Plan { steps }
    }

    /// Every benchmark of the plan, in order.
    pub fn benches(&self) -> impl Iterator<Item = Bench> + '_ {
        self.steps.iter().filter_map(|step| match step {
            Step::Bench(bench) => Some(*bench),
            _ => None,
        })
    }

    /// The plan cut where Criterion's groups begin and end: a group runs
    /// from its first benchmark to its last, with the steps between them;
    /// every other step stands alone.
    pub fn segments(&self, names: &[String]) -> Vec<Segment<'_>> {
        let mut segments = Vec::new();
        let mut at = 0;
        while at < self.steps.len() {
            let Step::Bench(first) = &self.steps[at] else {
                segments.push(Segment::Step(&self.steps[at]));
                at += 1;
                continue;
            };
            let group = first.group(names);
            let last = (at..self.steps.len())
                .rev()
                .find(|&i| matches!(&self.steps[i], Step::Bench(b) if b.group(names) == group))
                .unwrap_or(at);
            segments.push(Segment::Group {
                name: group,
                steps: &self.steps[at..=last],
            });
            at = last + 1;
        }
        segments
    }
}

/// A round whose process has its heap counted: the seed's phases and the
/// latency readings, which give the heap figures and nothing else.
fn heap_round(server: ServerId, round: u32) -> [Step; 6] {
    [
        Step::StartCounted {
            server,
            round: Some(round),
        },
        Step::Settle {
            server,
            phase: Phase::Before,
        },
        Step::Burst { server },
        Step::Settle {
            server,
            phase: Phase::After,
        },
        Step::Probe { server },
        Step::Stop { server },
    ]
}

/// `bursts` bursts in a row on a counted process of their own; nothing
/// for 0.
fn leak_check(server: ServerId, bursts: usize) -> Vec<Step> {
    if bursts == 0 {
        return Vec::new();
    }
    let mut steps = vec![Step::StartCounted {
        server,
        round: None,
    }];
    steps.extend((0..bursts).map(|_| Step::LeakBurst { server }));
    steps.push(Step::Stop { server });
    steps
}

/// A part of the plan as Criterion sees it.
#[derive(Debug, PartialEq)]
pub enum Segment<'a> {
    /// A step outside any benchmark group.
    Step(&'a Step),
    /// A benchmark group: its benchmarks and the steps between them.
    Group { name: String, steps: &'a [Step] },
}

/// Builds the default plan, server by server.
struct Builder<'a> {
    selection: &'a Selection<'a>,
    plan: Plan,
    /// Servers whose first process was planned (it is round 1).
    started: BTreeSet<ServerId>,
}

impl<'a> Builder<'a> {
    fn new(selection: &'a Selection<'a>) -> Builder<'a> {
        Builder {
            selection,
            plan: Plan::default(),
            started: BTreeSet::new(),
        }
    }

    fn servers(&self) -> Vec<ServerId> {
        (0..self.selection.names.len()).map(ServerId).collect()
    }

    /// Every request any server is measured on: the contract's first, then
    /// the others as the servers declare them.
    fn routes(&self) -> Vec<Route> {
        let mut routes = Route::CONTRACT.to_vec();
        for route in self.selection.routes.iter().flatten() {
            if !routes.contains(route) {
                routes.push(*route);
            }
        }
        routes
    }

    /// What the sweep sends `server`.
    fn sweep_of(&self, server: ServerId) -> Route {
        self.selection
            .sweeps
            .get(server.0)
            .copied()
            .unwrap_or(Route::HELLO)
    }

    /// The servers measured on `route`.
    fn servers_of(&self, route: Route) -> Vec<ServerId> {
        self.servers()
            .into_iter()
            .filter(|s| {
                self.selection
                    .routes
                    .get(s.0)
                    .map_or(Route::CONTRACT.contains(&route), |r| r.contains(&route))
            })
            .collect()
    }

    fn selected(&self, bench: Bench) -> bool {
        let id = bench.id(self.selection.names);
        self.selection.filter.selects(&id)
    }

    fn push(&mut self, step: Step) {
        self.plan.steps.push(step);
    }

    /// A fresh process; the server's first is round 1, which also settles
    /// and reads its memory (a latency-only run records it too).
    fn start(&mut self, server: ServerId) {
        if self.started.insert(server) {
            self.push(Step::Start {
                server,
                round: Some(1),
            });
            self.push(Step::Settle {
                server,
                phase: Phase::Before,
            });
        } else {
            self.push(Step::Start {
                server,
                round: None,
            });
        }
    }

    /// Round 1 read by the memory benchmarks, then the other rounds, when
    /// any memory benchmark of the server is selected. The burst and the
    /// other rounds only when an "after" benchmark is.
    fn memory(&mut self, server: ServerId) {
        let benches: Vec<Bench> = MEMORY_BENCHES
            .iter()
            .map(|&(phase, figure)| Bench::Memory {
                server,
                phase,
                figure,
            })
            .filter(|&bench| self.selected(bench))
            .collect();
        if benches.is_empty() {
            return;
        }
        let in_phase = |phase| {
            benches
                .iter()
                .filter(move |b| matches!(b, Bench::Memory { phase: p, .. } if *p == phase))
        };
        self.start(server);
        for &bench in in_phase(Phase::Before) {
            self.push(Step::Bench(bench));
        }
        let after: Vec<Bench> = in_phase(Phase::After).copied().collect();
        if after.is_empty() {
            self.push(Step::Stop { server });
            return;
        }
        self.burst_and_read(server);
        for bench in after {
            self.push(Step::Bench(bench));
        }
        self.push(Step::Probe { server });
        self.push(Step::Stop { server });
        for round in 2..=self.selection.config.rounds {
            let round = u32::try_from(round).unwrap_or(u32::MAX);
            self.push(Step::Start {
                server,
                round: Some(round),
            });
            self.push(Step::Settle {
                server,
                phase: Phase::Before,
            });
            self.burst_and_read(server);
            self.push(Step::Probe { server });
            self.push(Step::Stop { server });
        }
        let config = self.selection.config;
        for i in 0..config.heap_rounds() {
            let round = u32::try_from(config.rounds + i + 1).unwrap_or(u32::MAX);
            self.plan.steps.extend(heap_round(server, round));
        }
        self.plan
            .steps
            .extend(leak_check(server, config.leak_bursts));
    }

    /// The callgrind pass of every server the plan starts, when asked for.
    fn instructions(&mut self) {
        if !self.selection.config.instructions {
            return;
        }
        let started: Vec<ServerId> = self.started.iter().copied().collect();
        for server in started {
            self.push(Step::Instructions { server });
        }
    }

    fn burst_and_read(&mut self, server: ServerId) {
        self.push(Step::Burst { server });
        self.push(Step::Settle {
            server,
            phase: Phase::After,
        });
    }

    /// The client's floor, first in the `latency-hello` group.
    fn floor(&mut self) {
        if self.selected(Bench::Floor) {
            self.push(Step::StartResponder);
            self.push(Step::Bench(Bench::Floor));
            self.push(Step::StopResponder);
        }
    }

    fn latency(&mut self, server: ServerId, route: Route) {
        let bench = Bench::Latency { server, route };
        if !self.selected(bench) {
            return;
        }
        self.start(server);
        self.push(Step::Bench(bench));
        self.push(Step::Stop { server });
    }

    /// The client's ceiling, then each server's sweep and its rate runs.
    fn sweep(&mut self) {
        let sweep = self.selection.config.sweep.clone();
        let ceiling: Vec<Bench> = sweep
            .iter()
            .map(|&connections| Bench::Ceiling { connections })
            .filter(|&bench| self.selected(bench))
            .collect();
        if !ceiling.is_empty() {
            self.push(Step::StartResponder);
            for bench in ceiling {
                self.push(Step::Bench(bench));
            }
            self.push(Step::StopResponder);
        }
        for server in self.servers() {
            let steps: Vec<Bench> = sweep
                .iter()
                .map(|&connections| Bench::Throughput {
                    server,
                    connections,
                    route: self.sweep_of(server),
                })
                .filter(|&bench| self.selected(bench))
                .collect();
            if steps.is_empty() {
                continue;
            }
            self.start(server);
            for bench in steps {
                self.push(Step::Bench(bench));
            }
            self.push(Step::RateRuns { server });
            self.push(Step::Stop { server });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interleaved_plan_alternates_a_b_b_a_with_whole_rounds() {
        let (a, b) = (ServerId(0), ServerId(1));
        let config = BenchConfig {
            rounds: 4,
            count_heap: false,
            ..BenchConfig::default()
        };
        let plan = Plan::interleaved(a, b, &config);
        let starts: Vec<(ServerId, Option<u32>)> = plan
            .steps
            .iter()
            .filter_map(|s| match s {
                Step::Start { server, round } => Some((*server, *round)),
                _ => None,
            })
            .collect();
        assert_eq!(
            starts,
            [
                (a, Some(1)),
                (b, Some(1)),
                (b, Some(2)),
                (a, Some(2)),
                (a, Some(3)),
                (b, Some(3)),
                (b, Some(4)),
                (a, Some(4))
            ]
        );
        assert_eq!(plan.steps.len(), 8 * 6);
        assert_eq!(plan.benches().count(), 0);
        assert!(matches!(plan.steps[4], Step::Probe { server } if server == a));
    }

    #[test]
    fn heap_rounds_follow_the_others_alternated_and_the_leak_check_is_counted() {
        let (a, b) = (ServerId(0), ServerId(1));
        let config = BenchConfig {
            rounds: 4,
            leak_bursts: 4,
            ..BenchConfig::default()
        };
        let plan = Plan::interleaved(a, b, &config);
        let counted: Vec<(ServerId, Option<u32>)> = plan
            .steps
            .iter()
            .filter_map(|step| match step {
                Step::StartCounted { server, round } => Some((*server, *round)),
                _ => None,
            })
            .collect();
        assert_eq!(
            counted,
            [
                (a, Some(5)),
                (b, Some(5)),
                (b, Some(6)),
                (a, Some(6)),
                (a, Some(7)),
                (b, Some(7)),
                (a, None),
                (b, None)
            ]
        );
        let leak_bursts = plan
            .steps
            .iter()
            .filter(|s| matches!(s, Step::LeakBurst { server } if *server == a))
            .count();
        assert_eq!(leak_bursts, 4);
        let off = BenchConfig {
            count_heap: false,
            ..config
        };
        assert_eq!(off.heap_rounds(), 0);
    }

    fn names() -> Vec<String> {
        vec!["axum".to_owned(), "warp".to_owned()]
    }

    fn plan(config: &BenchConfig, filter: &Filter, runs_routines: bool) -> Plan {
        let names = names();
        let routes = vec![Route::CONTRACT.to_vec(); names.len()];
        let sweeps = vec![Route::HELLO; names.len()];
        Plan::default_run(&Selection {
            names: &names,
            routes: &routes,
            sweeps: &sweeps,
            config,
            filter,
            runs_routines,
        })
    }

    fn config(rounds: usize, sweep: Vec<usize>) -> BenchConfig {
        BenchConfig {
            rounds,
            sweep,
            ..BenchConfig::default()
        }
    }

    fn ids(plan: &Plan) -> Vec<String> {
        plan.benches().map(|b| b.id(&names())).collect()
    }

    #[test]
    fn the_default_plan_is_the_seeds_rounds_then_latency_one_process_each() {
        let plan = plan(&config(2, vec![]), &Filter::All, true);
        let axum = ServerId(0);
        let memory = |phase, figure| {
            Step::Bench(Bench::Memory {
                server: axum,
                phase,
                figure,
            })
        };
        let expected_axum_memory = [
            Step::Start {
                server: axum,
                round: Some(1),
            },
            Step::Settle {
                server: axum,
                phase: Phase::Before,
            },
            memory(Phase::Before, MemoryFigure::Rss),
            memory(Phase::Before, MemoryFigure::Vms),
            Step::Burst { server: axum },
            Step::Settle {
                server: axum,
                phase: Phase::After,
            },
            memory(Phase::After, MemoryFigure::Rss),
            memory(Phase::After, MemoryFigure::Vms),
            Step::Probe { server: axum },
            Step::Stop { server: axum },
            Step::Start {
                server: axum,
                round: Some(2),
            },
            Step::Settle {
                server: axum,
                phase: Phase::Before,
            },
            Step::Burst { server: axum },
            Step::Settle {
                server: axum,
                phase: Phase::After,
            },
            Step::Probe { server: axum },
            Step::Stop { server: axum },
        ];
        assert_eq!(plan.steps[..16], expected_axum_memory);
        assert_eq!(
            ids(&plan)[8..],
            [
                "latency-hello/client-floor",
                "latency-hello/axum",
                "latency-hello/warp",
                "latency-json/axum",
                "latency-json/warp"
            ]
        );
        let latency_start = plan
            .steps
            .iter()
            .position(|s| matches!(s, Step::Bench(Bench::Latency { .. })))
            .unwrap();
        assert_eq!(
            plan.steps[latency_start - 1],
            Step::Start {
                server: axum,
                round: None
            },
            "a latency benchmark gets a fresh process"
        );
        assert_eq!(plan.steps[latency_start + 1], Step::Stop { server: axum });
    }

    #[test]
    fn a_filter_plans_only_what_it_selects_and_a_first_start_is_round_one() {
        let filter = Filter::new(&BenchmarkFilter::Regex("latency-json/warp".into())).unwrap();
        let plan = plan(&config(3, vec![]), &filter, true);
        let warp = ServerId(1);
        assert_eq!(
            plan.steps,
            [
                Step::Start {
                    server: warp,
                    round: Some(1)
                },
                Step::Settle {
                    server: warp,
                    phase: Phase::Before
                },
                Step::Bench(Bench::Latency {
                    server: warp,
                    route: Route::JSON
                }),
                Step::Stop { server: warp },
            ]
        );
    }

    #[test]
    fn before_only_memory_benchmarks_need_no_burst_and_no_other_rounds() {
        let filter = Filter::new(&BenchmarkFilter::Exact("memory-axum/rss-before".into())).unwrap();
        let plan = plan(&config(3, vec![]), &filter, true);
        assert_eq!(plan.steps.len(), 4, "{plan:?}");
        assert!(!plan.steps.iter().any(|s| matches!(s, Step::Burst { .. })));
    }

    #[test]
    fn the_sweep_measures_the_ceiling_first_then_each_server_and_its_rate_runs() {
        let filter = Filter::new(&BenchmarkFilter::Regex("throughput".into())).unwrap();
        let plan = plan(&config(3, vec![1, 16]), &filter, true);
        assert_eq!(
            ids(&plan),
            [
                "throughput-hello/client-ceiling/c1",
                "throughput-hello/client-ceiling/c16",
                "throughput-hello/axum/c1",
                "throughput-hello/axum/c16",
                "throughput-hello/warp/c1",
                "throughput-hello/warp/c16",
            ]
        );
        assert_eq!(plan.steps[0], Step::StartResponder);
        let rate_runs = plan
            .steps
            .iter()
            .filter(|s| matches!(s, Step::RateRuns { .. }))
            .count();
        assert_eq!(rate_runs, 2);
    }

    #[test]
    fn list_mode_lists_every_benchmark_and_starts_nothing() {
        let filter = Filter::new(&BenchmarkFilter::Regex("nothing-matches".into())).unwrap();
        let plan = plan(&config(3, vec![4]), &filter, false);
        // Memory, latency with the client's floor, the ceiling, the sweep.
        assert_eq!(plan.benches().count(), 2 * 4 + (1 + 2 * 2) + 1 + 2);
        assert!(plan.steps.iter().all(|s| matches!(s, Step::Bench(_))));
    }

    #[test]
    fn ignored_selects_nothing_and_a_bad_pattern_is_refused() {
        let plan = plan(&config(3, vec![4]), &Filter::Nothing, true);
        assert_eq!(plan, Plan::default());
        let bad = Filter::new(&BenchmarkFilter::Regex("(unclosed".into()));
        assert!(bad.unwrap_err().to_string().contains("(unclosed"));
    }

    #[test]
    fn segments_keep_a_groups_steps_together_and_the_rest_apart() {
        let plan = plan(&config(2, vec![]), &Filter::All, true);
        let segments = plan.segments(&names());
        let Segment::Group { name, steps } = &segments[2] else {
            panic!("{segments:?}");
        };
        assert_eq!(name, "memory-axum");
        assert_eq!(
            steps.len(),
            6,
            "four benches with the burst and settle between"
        );
        assert!(matches!(segments[0], Segment::Step(Step::Start { .. })));
        let groups: Vec<&str> = segments
            .iter()
            .filter_map(|s| match s {
                Segment::Group { name, .. } => Some(name.as_str()),
                Segment::Step(_) => None,
            })
            .collect();
        assert_eq!(
            groups,
            [
                "memory-axum",
                "memory-warp",
                "latency-hello",
                "latency-json"
            ]
        );
    }
}
