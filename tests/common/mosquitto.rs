//! A real mosquitto broker on a free loopback port, stopped by its PID, and
//! `mosquitto_sub` subscribers that the tests read line by line.
//! `scripts/setup.sh --tests` installs both (Debian's mosquitto,
//! mosquitto-clients).

use std::io::{BufRead, BufReader};
use std::net::TcpStream;

use super::free_port;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

/// Debian installs the broker in /usr/sbin, which a user's PATH may lack.
fn mosquitto_binary() -> PathBuf {
    for dir in std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .chain(["/usr/sbin"])
    {
        let candidate = Path::new(dir).join("mosquitto");
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!("mosquitto is not installed: run scripts/setup.sh --tests")
}

/// A broker process with a persistent store: a restart keeps subscriptions
/// and the messages queued for them, as a production broker would.
pub struct Broker {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Broker {
    pub fn start() -> Broker {
        let dir = tempfile::tempdir().expect("a temporary folder");
        // Started as root, mosquitto runs as the user `mosquitto`, which
        // must be able to write its store here.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let mut broker = Broker {
            port: 0,
            dir,
            child: None,
        };
        // A free port can be taken by another program before mosquitto
        // binds it; then it exits at once and another port is tried.
        for _ in 0..5 {
            broker.port = free_port();
            match broker.launch() {
                Launch::Running => return broker,
                Launch::PortTaken => continue,
            }
        }
        panic!("mosquitto found no free port in 5 tries: {}", broker.log())
    }

    /// Starts the broker again on the same port and store.
    pub fn restart(&mut self) {
        match self.launch() {
            Launch::Running => {}
            Launch::PortTaken => panic!(
                "mosquitto could not listen on {} again: {}",
                self.port,
                self.log()
            ),
        }
    }

    /// Starts mosquitto and waits until it says it runs (so the port is its
    /// own, not another server's) and accepts connections.
    fn launch(&mut self) -> Launch {
        assert!(self.child.is_none(), "the broker runs already");
        let config = self.dir.path().join("mosquitto.conf");
        std::fs::write(
            &config,
            format!(
                "listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n\
                 persistence_location {dir}/\nqueue_qos0_messages true\nmax_queued_messages 0\n",
                port = self.port,
                dir = self.dir.path().display()
            ),
        )
        .unwrap();
        let log = std::fs::File::create(self.dir.path().join("mosquitto.log")).unwrap();
        let mut child = Command::new(mosquitto_binary())
            .arg("-c")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("mosquitto starts");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = child.try_wait().expect("mosquitto can be waited for") {
                let log = self.log();
                if log.contains("Address already in use") {
                    return Launch::PortTaken;
                }
                panic!("mosquitto exited ({status}) on port {}: {log}", self.port);
            }
            if self.log().contains(" running")
                && TcpStream::connect(("127.0.0.1", self.port)).is_ok()
            {
                self.child = Some(child);
                return Launch::Running;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!(
                    "mosquitto did not listen on {} within 10 s: {}",
                    self.port,
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops the broker with SIGTERM (it saves its store) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal(&child, "TERM");
            let _ = child.wait();
        }
    }

    /// Freezes (SIGSTOP) or thaws (SIGCONT) the broker: its connections stay
    /// open and unanswered.
    pub fn pause(&self, paused: bool) {
        if let Some(child) = &self.child {
            signal(child, if paused { "STOP" } else { "CONT" });
        }
    }

    pub fn url(&self, topic: &str) -> String {
        format!("mqtt://127.0.0.1:{}/{topic}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("mosquitto.log")).unwrap_or_default()
    }

    /// A subscriber to `topic` with a persistent session: subscribed before
    /// this returns, and it receives what was published while it
    /// (re)connects.
    pub fn subscribe(&self, topic: &str) -> Subscriber {
        let id = format!("gst-dl-test-{}-{}", std::process::id(), free_port());
        let base = |cmd: &mut Command| {
            cmd.args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
                .args(["-t", topic, "-q", "1", "-c", "-i", &id]);
        };
        // -E: subscribe, then exit: the session now holds the subscription.
        let mut register = Command::new("mosquitto_sub");
        base(&mut register);
        let status = register.arg("-E").status().expect("mosquitto_sub runs");
        assert!(status.success(), "mosquitto_sub could not subscribe");
        let mut listen = Command::new("mosquitto_sub");
        base(&mut listen);
        let mut child = listen
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto_sub runs");
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Subscriber { child, lines }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.pause(false);
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn signal(child: &Child, name: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(child.id().to_string())
        .status();
}

enum Launch {
    Running,
    PortTaken,
}

/// A running `mosquitto_sub`: each message is a line.
pub struct Subscriber {
    child: Child,
    lines: Receiver<String>,
}

impl Subscriber {
    /// Messages received until `done` says enough or `timeout` passes.
    pub fn collect_until(
        &self,
        timeout: Duration,
        mut done: impl FnMut(&[String]) -> bool,
    ) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        let mut received = Vec::new();
        while !done(&received) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => received.push(line),
                Err(_) => break,
            }
        }
        received
    }

    /// Waits for `count` messages (or `timeout`).
    pub fn collect(&self, count: usize, timeout: Duration) -> Vec<String> {
        self.collect_until(timeout, |r| r.len() >= count)
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
