//! `spin`: whether ONNX Runtime's idle intra-op threads spin for work or
//! sleep, and how `spin=auto` decides.
//!
//! Spinning wins when the model has the cores to itself most of the time:
//! the threads pick up each operator's work at once instead of being woken.
//! It loses when something else needs the cores between runs, typically the
//! video decoder upstream, which spinning threads starve. Which case a
//! pipeline is in depends on the model, the video, `inference-interval` and
//! the machine, so `auto` measures it. After a few warm-up runs it watches
//! the share of wall time the model spends running, and how much of the
//! machine other processes took meanwhile. A model that waits for frames
//! leaves the cores to whoever produces them, and so does one sharing the
//! machine with busy processes (spinning threads would fight them, and lose
//! twice: measured under a parallel build, CenterFace ran at half the frame
//! rate with spinning). A model that runs nearly all the time is the
//! pipeline's bottleneck, but that alone does not say spinning pays: the
//! decoder may still need a third of the cores (INT8 EfficientNet-Lite0 on
//! bigbuckbunny.mp4 ran 92-94% of the time, and 167 frames/s spinning
//! against 179 asleep). So such a model tries: it runs spinning for as
//! many runs again, and keeps spinning only if its runs came faster.

use std::time::{Duration, Instant};

/// What the `spin` property asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Spin {
    /// Decide from the first runs ([`SpinAdvisor`]); sleep until then.
    #[default]
    Auto,
    /// Always spin (ONNX Runtime's own default).
    On,
    /// Never spin.
    Off,
}

/// Runs skipped before measuring: the first runs allocate and warm caches
/// (and, in the trial, let the spinning threads start).
const WARM_UP_RUNS: usize = 3;
/// Runs measured before deciding, asleep and again spinning.
const MEASURED_RUNS: usize = 16;
/// Wall time measured before deciding, so a burst of runs (a batch drained
/// at once, a short clip) does not decide alone.
const MEASURED_TIME: Duration = Duration::from_millis(500);
/// The share of wall time the model must run for spinning to be tried.
/// Measured on 2 cores (benches/benchmarks.rs rows, spin on against off):
/// CenterFace on bikes.mp4 runs 0.96-0.97 of the time and gains 15-25% from
/// spinning; EfficientNet-Lite0 on every frame of bigbuckbunny.mp4 runs
/// 0.75-0.81 of the time, its decoder needing the cores the rest, and does
/// not gain.
pub const BUSY_SHARE_TO_SPIN: f64 = 0.9;
/// The share of the machine other processes may take while measured for
/// spinning still to pay.
pub const OTHERS_SHARE_TO_SPIN: f64 = 0.15;
/// How much faster runs must come spinning for the trial to keep it:
/// spinning burns the cores it waits on, so a gain within the noise of two
/// half-second windows is not worth it.
pub const SPIN_GAIN_TO_KEEP: f64 = 0.05;

/// What one window of measured runs saw.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// The share of wall time the model spent running, in 0..=1.
    pub busy_share: f64,
    /// The share of the machine's CPU time other processes took meanwhile,
    /// in 0..=1 (`None` where the system does not say: not Linux).
    pub others_share: Option<f64>,
    /// How many runs it was measured over.
    pub runs: usize,
    /// Runs per second of wall time.
    pub rate: f64,
}

impl Window {
    fn others_allow_spinning(&self) -> bool {
        self.others_share
            .is_none_or(|share| share < OTHERS_SHARE_TO_SPIN)
    }
}

/// What `auto` decided, with what it saw.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpinDecision {
    /// Whether the threads should spin.
    pub spin: bool,
    /// The runs measured asleep.
    pub asleep: Window,
    /// The runs measured spinning, where the asleep runs called for a trial.
    pub spinning: Option<Window>,
}

/// CPU time counters at one moment, in clock ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuSample {
    /// Busy time of every core together (user, system, interrupts, and the
    /// time a hypervisor stole).
    pub machine_busy: u64,
    /// Busy and idle time of every core together.
    pub machine_total: u64,
    /// This process's user and system time.
    pub process: u64,
}

impl CpuSample {
    /// Reads the counters from /proc (Linux); `None` elsewhere.
    pub fn read() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let own = std::fs::read_to_string("/proc/self/stat").ok()?;
        Self::parse(&stat, &own)
    }

    /// The counters from the text of /proc/stat and /proc/self/stat.
    pub fn parse(stat: &str, own: &str) -> Option<Self> {
        let times: Vec<u64> = stat
            .lines()
            .next()?
            .strip_prefix("cpu ")?
            .split_whitespace()
            .map(|field| field.parse().ok())
            .collect::<Option<_>>()?;
        // user nice system idle iowait irq softirq steal (guest time is
        // counted in user already).
        let field = |i: usize| times.get(i).copied().unwrap_or(0);
        let idle = field(3) + field(4);
        let machine_busy = field(0) + field(1) + field(2) + field(5) + field(6) + field(7);
        // The command name may hold spaces and parentheses: fields count
        // from after its last ')'; utime and stime are the 12th and 13th.
        let after_name = &own[own.rfind(')')? + 1..];
        let mut fields = after_name.split_whitespace().skip(11);
        let utime: u64 = fields.next()?.parse().ok()?;
        let stime: u64 = fields.next()?.parse().ok()?;
        Some(Self {
            machine_busy,
            machine_total: machine_busy + idle,
            process: utime + stime,
        })
    }

    /// The share of the machine's time between `self` and `later` that
    /// other processes took.
    pub fn others_share_until(&self, later: &CpuSample) -> Option<f64> {
        let total = later.machine_total.checked_sub(self.machine_total)?;
        if total == 0 {
            return None;
        }
        let busy = later.machine_busy.saturating_sub(self.machine_busy);
        let own = later.process.saturating_sub(self.process);
        Some((busy.saturating_sub(own) as f64 / total as f64).clamp(0.0, 1.0))
    }
}

/// Measures one window of runs: warm-up runs skipped, then at least
/// [`MEASURED_RUNS`] runs over at least [`MEASURED_TIME`].
#[derive(Debug, Default)]
struct Measuring {
    seen: usize,
    first_start: Option<Instant>,
    running: Duration,
    measured: usize,
    cpu_at_start: Option<CpuSample>,
}

impl Measuring {
    fn record(
        &mut self,
        started: Instant,
        took: Duration,
        read_cpu: fn() -> Option<CpuSample>,
    ) -> Option<Window> {
        self.seen += 1;
        if self.seen <= WARM_UP_RUNS {
            return None;
        }
        let first_start = match self.first_start {
            Some(first_start) => first_start,
            None => {
                self.cpu_at_start = read_cpu();
                *self.first_start.insert(started)
            }
        };
        self.running += took;
        self.measured += 1;
        let span = (started + took).saturating_duration_since(first_start);
        if self.measured < MEASURED_RUNS || span < MEASURED_TIME {
            return None;
        }
        let seconds = span.as_secs_f64();
        Some(Window {
            busy_share: (self.running.as_secs_f64() / seconds).min(1.0),
            others_share: self
                .cpu_at_start
                .zip(read_cpu())
                .and_then(|(start, now)| start.others_share_until(&now)),
            runs: self.measured,
            rate: self.measured as f64 / seconds,
        })
    }
}

#[derive(Debug)]
enum Phase {
    Asleep(Measuring),
    Trial { asleep: Window, spinning: Measuring },
    Decided(SpinDecision),
}

/// Watches a model's runs and decides once whether its threads should
/// spin. The session follows [`SpinAdvisor::wants_spinning`] before each
/// run: spinning during the trial, then as decided.
#[derive(Debug)]
pub struct SpinAdvisor {
    phase: Phase,
    /// Where CPU counters come from (a fixed sequence in tests).
    read_cpu: fn() -> Option<CpuSample>,
}

impl Default for SpinAdvisor {
    fn default() -> Self {
        Self::with_cpu_counters(CpuSample::read)
    }
}

impl SpinAdvisor {
    /// An advisor reading CPU counters with `read_cpu`.
    pub fn with_cpu_counters(read_cpu: fn() -> Option<CpuSample>) -> Self {
        Self {
            phase: Phase::Asleep(Measuring::default()),
            read_cpu,
        }
    }

    /// What it decided, once it has.
    pub fn decision(&self) -> Option<SpinDecision> {
        match self.phase {
            Phase::Decided(decision) => Some(decision),
            _ => None,
        }
    }

    /// Whether the next run should spin: during the trial, and after
    /// deciding to.
    pub fn wants_spinning(&self) -> bool {
        match self.phase {
            Phase::Asleep(_) => false,
            Phase::Trial { .. } => true,
            Phase::Decided(decision) => decision.spin,
        }
    }

    /// Records a run that started at `started` and took `took`; returns the
    /// decision the first time there is enough to decide, `None` otherwise
    /// (and always after deciding).
    pub fn record(&mut self, started: Instant, took: Duration) -> Option<SpinDecision> {
        let read_cpu = self.read_cpu;
        let decision = match &mut self.phase {
            Phase::Decided(_) => return None,
            Phase::Asleep(measuring) => {
                let asleep = measuring.record(started, took, read_cpu)?;
                if asleep.busy_share >= BUSY_SHARE_TO_SPIN && asleep.others_allow_spinning() {
                    self.phase = Phase::Trial {
                        asleep,
                        spinning: Measuring::default(),
                    };
                    return None;
                }
                SpinDecision {
                    spin: false,
                    asleep,
                    spinning: None,
                }
            }
            Phase::Trial { asleep, spinning } => {
                let tried = spinning.record(started, took, read_cpu)?;
                SpinDecision {
                    spin: tried.rate >= asleep.rate * (1.0 + SPIN_GAIN_TO_KEEP)
                        && tried.others_allow_spinning(),
                    asleep: *asleep,
                    spinning: Some(tried),
                }
            }
        };
        self.phase = Phase::Decided(decision);
        Some(decision)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;

    fn no_counters() -> Option<CpuSample> {
        None
    }

    /// Counters advancing 100 ticks a call, this process taking
    /// `own` of them and others `others`.
    fn counters(calls: &AtomicU64, own: u64, others: u64) -> Option<CpuSample> {
        let k = calls.fetch_add(1, Ordering::Relaxed);
        Some(CpuSample {
            machine_busy: k * (own + others),
            machine_total: k * 100,
            process: k * own,
        })
    }

    fn quiet_machine() -> Option<CpuSample> {
        static CALLS: AtomicU64 = AtomicU64::new(0);
        counters(&CALLS, 95, 3)
    }

    fn shared_machine() -> Option<CpuSample> {
        static CALLS: AtomicU64 = AtomicU64::new(0);
        counters(&CALLS, 50, 50)
    }

    /// Feeds `count` runs of `run_ms` every `period_ms` from `start`;
    /// returns the first decision.
    fn feed(
        advisor: &mut SpinAdvisor,
        start: Instant,
        count: usize,
        run_ms: u64,
        period_ms: u64,
    ) -> Option<SpinDecision> {
        (0..count as u64)
            .filter_map(|i| {
                advisor.record(
                    start + Duration::from_millis(i * period_ms),
                    Duration::from_millis(run_ms),
                )
            })
            .next()
    }

    /// Runs until the asleep window ends in a trial (panics otherwise).
    fn start_trial(advisor: &mut SpinAdvisor, start: Instant) -> Instant {
        assert_eq!(feed(advisor, start, 27, 20, 21), None);
        assert!(advisor.wants_spinning(), "a busy model tries spinning");
        start + Duration::from_millis(27 * 21)
    }

    #[test]
    fn a_model_that_runs_nearly_all_the_time_tries_spinning_and_keeps_what_is_faster() {
        let mut advisor = SpinAdvisor::with_cpu_counters(no_counters);
        let trial = start_trial(&mut advisor, Instant::now());
        // Spinning, runs come every 18 ms instead of 21: 17% faster.
        let decision = feed(&mut advisor, trial, 100, 17, 18).expect("decides");
        assert!(decision.spin, "{decision:?}");
        assert!(advisor.wants_spinning());
        assert!(decision.asleep.busy_share > 0.9, "{decision:?}");
        // The 24th measured run is the first to end 500 ms after the first began.
        assert_eq!(decision.asleep.runs, 24);
        assert!(
            (decision.asleep.rate - 1000.0 / 21.0).abs() < 1.0,
            "{decision:?}"
        );
        let spinning = decision.spinning.expect("a trial ran");
        assert!((spinning.rate - 1000.0 / 18.0).abs() < 1.0, "{decision:?}");
    }

    #[test]
    fn spinning_that_is_not_faster_is_given_back() {
        for period_ms in [21, 24] {
            let mut advisor = SpinAdvisor::with_cpu_counters(no_counters);
            let trial = start_trial(&mut advisor, Instant::now());
            // As fast, or slower.
            let decision = feed(&mut advisor, trial, 100, 19, period_ms).expect("decides");
            assert!(!decision.spin, "{decision:?}");
            assert!(!advisor.wants_spinning());
            assert!(decision.spinning.is_some());
        }
    }

    #[test]
    fn a_model_that_waits_for_frames_sleeps_without_a_trial() {
        let mut advisor = SpinAdvisor::with_cpu_counters(no_counters);
        let decision = feed(&mut advisor, Instant::now(), 100, 6, 45).expect("decides");
        assert!(!decision.spin);
        assert_eq!(decision.spinning, None);
        assert!(!advisor.wants_spinning());
        assert!(
            (decision.asleep.busy_share - 6.0 / 45.0).abs() < 0.02,
            "{decision:?}"
        );
    }

    #[test]
    fn warm_up_runs_do_not_count() {
        let mut advisor = SpinAdvisor::with_cpu_counters(no_counters);
        let start = Instant::now();
        // Three slow first runs, then a model that mostly waits.
        for i in 0..WARM_UP_RUNS as u64 {
            advisor.record(
                start + Duration::from_millis(i * 300),
                Duration::from_millis(300),
            );
        }
        let later = start + Duration::from_millis(900);
        let decision = feed(&mut advisor, later, 100, 5, 50).expect("decides");
        assert!(!decision.spin, "{decision:?}");
    }

    #[test]
    fn it_decides_once_and_needs_enough_runs_and_time() {
        let mut advisor = SpinAdvisor::with_cpu_counters(no_counters);
        let start = Instant::now();
        // Many quick runs in a burst shorter than the measured time: no
        // decision yet.
        assert_eq!(feed(&mut advisor, start, 40, 1, 2), None);
        let later = start + Duration::from_millis(600);
        assert!(advisor.record(later, Duration::from_millis(1)).is_some());
        assert_eq!(advisor.record(later, Duration::from_millis(1)), None);
    }

    #[test]
    fn a_busy_model_tries_spinning_on_a_quiet_machine_only() {
        let mut quiet = SpinAdvisor::with_cpu_counters(quiet_machine);
        let trial = start_trial(&mut quiet, Instant::now());
        let decision = feed(&mut quiet, trial, 100, 17, 18).expect("decides");
        assert!(decision.spin, "{decision:?}");
        assert!((decision.asleep.others_share.unwrap() - 0.03).abs() < 1e-9);

        let mut shared = SpinAdvisor::with_cpu_counters(shared_machine);
        let decision = feed(&mut shared, Instant::now(), 100, 20, 21).expect("decides");
        assert!(
            !decision.spin,
            "other processes need the cores: {decision:?}"
        );
        assert_eq!(decision.spinning, None, "no trial: {decision:?}");
        assert!((decision.asleep.others_share.unwrap() - 0.5).abs() < 1e-9);
    }

    #[test]
    fn proc_counters_are_read_as_linux_writes_them() {
        let stat = "cpu  1000 10 200 5000 40 5 6 30 0 0\ncpu0 500 5 100 2500 20 2 3 15 0 0\n";
        // A command name with a space and a parenthesis in it.
        let own = "4242 (gst launch) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 70 30 0 0 20 0 9 0 123 456 789";
        let sample = CpuSample::parse(stat, own).expect("parses");
        assert_eq!(
            sample,
            CpuSample {
                machine_busy: 1000 + 10 + 200 + 5 + 6 + 30,
                machine_total: 1000 + 10 + 200 + 5 + 6 + 30 + 5000 + 40,
                process: 70 + 30,
            }
        );
        assert_eq!(CpuSample::parse("intr 1 2 3", own), None);
        assert_eq!(CpuSample::parse(stat, "no name here"), None);
        let later = CpuSample {
            machine_busy: sample.machine_busy + 150,
            machine_total: sample.machine_total + 200,
            process: sample.process + 100,
        };
        assert_eq!(sample.others_share_until(&later), Some(0.25));
        assert_eq!(sample.others_share_until(&sample), None);
    }
}
