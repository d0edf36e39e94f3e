//! One job at a time on a thread of its own, so the streaming thread can go
//! back upstream (decode, convert, preprocess the next frames) while the
//! model runs. Jobs own what they use (the batch tensor moves in and comes
//! back with the result), so nothing is shared and nothing is locked.

use std::sync::mpsc;
use std::thread::JoinHandle;

use super::error::WorkerError;

type Job<T> = Box<dyn FnOnce() -> T + Send>;

/// A worker thread running submitted jobs, at most one in flight.
pub struct Worker<T: Send + 'static> {
    jobs: Option<mpsc::Sender<Job<T>>>,
    results: mpsc::Receiver<Result<T, WorkerError>>,
    in_flight: bool,
    thread: Option<JoinHandle<()>>,
}

impl<T: Send + 'static> Worker<T> {
    /// Starts the thread, named `name` (shown by debuggers and `top -H`).
    pub fn new(name: &str) -> Result<Self, WorkerError> {
        let (jobs, job_receiver) = mpsc::channel::<Job<T>>();
        let (result_sender, results) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                for job in job_receiver {
                    // A panic in a job becomes an error for the element to
                    // report; the thread goes on serving jobs.
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job))
                        .map_err(|panic| WorkerError::Panicked(panic_text(panic.as_ref())));
                    if result_sender.send(result).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| WorkerError::Spawn(e.to_string()))?;
        Ok(Self {
            jobs: Some(jobs),
            results,
            in_flight: false,
            thread: Some(thread),
        })
    }

    /// Whether a job was submitted and its result not yet taken.
    pub fn in_flight(&self) -> bool {
        self.in_flight
    }

    /// Starts `job`; refused while the previous job's result is not taken.
    pub fn submit(&mut self, job: impl FnOnce() -> T + Send + 'static) -> Result<(), WorkerError> {
        if self.in_flight {
            return Err(WorkerError::Busy);
        }
        self.jobs
            .as_ref()
            .and_then(|jobs| jobs.send(Box::new(job)).ok())
            .ok_or(WorkerError::Stopped)?;
        self.in_flight = true;
        Ok(())
    }

    /// The result of the job in flight, waiting for it; `None` if none is.
    pub fn wait(&mut self) -> Option<Result<T, WorkerError>> {
        if !self.in_flight {
            return None;
        }
        self.in_flight = false;
        Some(self.results.recv().unwrap_or(Err(WorkerError::Stopped)))
    }

    /// The result of the job in flight if it has finished; `None` if it is
    /// still running or none is in flight.
    pub fn try_take(&mut self) -> Option<Result<T, WorkerError>> {
        if !self.in_flight {
            return None;
        }
        match self.results.try_recv() {
            Ok(result) => {
                self.in_flight = false;
                Some(result)
            }
            Err(mpsc::TryRecvError::Empty) => None,
            Err(mpsc::TryRecvError::Disconnected) => {
                self.in_flight = false;
                Some(Err(WorkerError::Stopped))
            }
        }
    }
}

impl<T: Send + 'static> Drop for Worker<T> {
    /// Lets the job in flight finish, then stops the thread.
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown cause".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Barrier};

    #[test]
    fn runs_a_job_while_the_caller_goes_on() {
        let mut worker = Worker::new("test").unwrap();
        let barrier = Arc::new(Barrier::new(2));
        let in_job = barrier.clone();
        worker
            .submit(move || {
                // Finishes only once the caller has reached the barrier too:
                // the caller was not blocked by submit.
                in_job.wait();
                42
            })
            .unwrap();
        assert!(worker.in_flight());
        barrier.wait();
        assert_eq!(worker.wait(), Some(Ok(42)));
        assert!(!worker.in_flight());
        assert_eq!(worker.wait(), None);
    }

    #[test]
    fn try_take_returns_only_finished_results() {
        let mut worker = Worker::new("test").unwrap();
        assert_eq!(worker.try_take(), None);
        let (release, gate) = mpsc::channel::<()>();
        worker
            .submit(move || {
                gate.recv().unwrap();
                "done"
            })
            .unwrap();
        assert_eq!(worker.try_take(), None);
        assert!(worker.in_flight());
        release.send(()).unwrap();
        let result = loop {
            if let Some(result) = worker.try_take() {
                break result;
            }
            std::thread::yield_now();
        };
        assert_eq!(result, Ok("done"));
    }

    #[test]
    fn a_panicking_job_becomes_an_error_and_the_thread_goes_on() {
        let mut worker = Worker::<u32>::new("test").unwrap();
        worker.submit(|| panic!("bad tensor")).unwrap();
        let err = worker.wait().unwrap().unwrap_err().to_string();
        assert!(
            err.contains("panicked") && err.contains("bad tensor"),
            "{err}"
        );
        worker.submit(|| 7).unwrap();
        assert_eq!(worker.wait(), Some(Ok(7)));
    }

    #[test]
    fn dropping_waits_for_the_job_in_flight() {
        let finished = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = finished.clone();
        let mut worker = Worker::new("test").unwrap();
        worker
            .submit(move || {
                std::thread::sleep(std::time::Duration::from_millis(20));
                flag.store(true, std::sync::atomic::Ordering::SeqCst);
            })
            .unwrap();
        drop(worker);
        assert!(finished.load(std::sync::atomic::Ordering::SeqCst));
    }
}
