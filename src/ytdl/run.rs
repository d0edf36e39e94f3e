//! Running a program with a deadline: its stdout and stderr read on threads
//! (so a full pipe cannot stall it), killed and reaped when time runs out.

use std::io::{self, Read};
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

/// More than this on stdout or stderr is read and dropped (yt-dlp's JSON for a
/// YouTube video is a few MiB).
const MAX_CAPTURE: usize = 64 << 20;
/// How long the pipes may stay open after the program is gone (held by a
/// process it started) before they are given up on.
const PIPE_GRACE: Duration = Duration::from_millis(1500);
/// Longest pause between checks on the program.
const MAX_POLL: Duration = Duration::from_millis(25);
/// Spawning a script that was just written can fail with ETXTBSY while another
/// thread's fork still holds it open for writing; it is retried this often.
const BUSY_RETRIES: u32 = 5;

/// How a run ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    Finished(Finished),
    /// Killed at the deadline (it and its process group) and reaped.
    TimedOut,
}

/// A program that exited by itself, with what it printed.
#[derive(Debug)]
pub(crate) struct Finished {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Runs `command` (stdout and stderr must be piped) for at most `timeout`.
///
/// On Unix the program gets its own process group, so that at the deadline
/// whatever it started dies with it. The error is the spawn error.
pub(crate) fn run_with_deadline(mut command: Command, timeout: Duration) -> io::Result<Outcome> {
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);

    let deadline = Instant::now().checked_add(timeout);
    let mut child = spawn(&mut command)?;
    let stdout = child.stdout.take().map(read_in_background::<ChildStdout>);
    let stderr = child.stderr.take().map(read_in_background::<ChildStderr>);

    let status = match wait_until(&mut child, deadline) {
        Ok(Some(status)) => status,
        Ok(None) => {
            kill(&mut child);
            // The pipes close now that everyone holding them is dead; the
            // output is not wanted, but the reader threads should not linger.
            let _ = collect(stdout, Instant::now() + PIPE_GRACE);
            let _ = collect(stderr, Instant::now() + PIPE_GRACE);
            return Ok(Outcome::TimedOut);
        }
        Err(error) => {
            kill(&mut child);
            return Err(error);
        }
    };

    // Exited by itself: the output is complete once the pipes close, which a
    // process it left behind could delay; such stragglers are killed.
    let grace = Instant::now() + PIPE_GRACE;
    let (mut out, mut err) = (collect(stdout, grace), collect(stderr, grace));
    if out.is_err() || err.is_err() {
        kill_group(child.id());
        let grace = Instant::now() + PIPE_GRACE;
        out = out.or_else(|pending| collect(Some(pending), grace));
        err = err.or_else(|pending| collect(Some(pending), grace));
    }
    Ok(Outcome::Finished(Finished {
        status,
        stdout: out.unwrap_or_default(),
        stderr: err.unwrap_or_default(),
    }))
}

fn spawn(command: &mut Command) -> io::Result<Child> {
    let mut attempt = 0;
    loop {
        match command.spawn() {
            Err(error)
                if error.kind() == io::ErrorKind::ExecutableFileBusy && attempt < BUSY_RETRIES =>
            {
                attempt += 1;
                thread::sleep(Duration::from_millis(10 << attempt));
            }
            result => return result,
        }
    }
}

/// Polls until the child exits (`Some`) or the deadline passes (`None`).
fn wait_until(child: &mut Child, deadline: Option<Instant>) -> io::Result<Option<ExitStatus>> {
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        let now = Instant::now();
        let left = match deadline {
            Some(deadline) if now >= deadline => return Ok(None),
            Some(deadline) => deadline - now,
            None => MAX_POLL,
        };
        thread::sleep(pause.min(left));
        pause = (pause * 2).min(MAX_POLL);
    }
}

/// Kills the child and its process group, then reaps it (no zombie is left).
fn kill(child: &mut Child) {
    // The group first, while the unreaped child keeps its id from being reused.
    kill_group(child.id());
    let _ = child.kill();
    let _ = child.wait();
}

/// Sends SIGKILL to the process group `pgid` (the child's id, see
/// `process_group(0)`); best effort, through kill(1) as std has no killpg.
#[cfg(unix)]
fn kill_group(pgid: u32) {
    use std::process::Stdio;
    let _ = Command::new("kill")
        .args(["-s", "KILL", "--", &format!("-{pgid}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

#[cfg(not(unix))]
fn kill_group(_pgid: u32) {}

/// Reads `pipe` to its end on a thread; the bytes arrive on the receiver.
fn read_in_background<R: Read + Send + 'static>(mut pipe: R) -> Receiver<Vec<u8>> {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let mut kept = Vec::new();
        let mut chunk = [0u8; 64 * 1024];
        loop {
            match pipe.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => {
                    let room = MAX_CAPTURE.saturating_sub(kept.len());
                    kept.extend_from_slice(&chunk[..n.min(room)]);
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        let _ = sender.send(kept);
    });
    receiver
}

/// What a reader read, if its pipe closed before `deadline`; else the receiver
/// back, to wait on again. No pipe reads as empty.
fn collect(
    reader: Option<Receiver<Vec<u8>>>,
    deadline: Instant,
) -> Result<Vec<u8>, Receiver<Vec<u8>>> {
    let Some(receiver) = reader else {
        return Ok(Vec::new());
    };
    let left = deadline.saturating_duration_since(Instant::now());
    match receiver.recv_timeout(left) {
        Ok(bytes) => Ok(bytes),
        Err(mpsc::RecvTimeoutError::Disconnected) => Ok(Vec::new()),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(receiver),
    }
}
