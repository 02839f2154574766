//! The one shape of every worker of the daemon: the door, the document reader, the camera,
//! the fingerprint module, the outbox writer, the sync thread and the simulated devices.
//!
//! A worker is **started** with its settings and the channels it reports on (results, and its
//! health through [`crate::health::HealthReporter`]); it is **stopped** by its own stop signal
//! (a stop job, a flag) and then **joined**, so when [`Worker::stop`] returns nothing of it runs
//! any more. Device workers run on dedicated threads (blocking I/O, inference); the simulated
//! devices run as a task on the daemon's runtime so that they follow the daemon's clock.

use std::future::Future;
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

/// Why a worker could not be started or did not end cleanly.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The thread could not be spawned.
    #[error("cannot start the {name} thread: {source}")]
    Spawn {
        /// The worker.
        name: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The worker panicked.
    #[error("the {name} worker panicked")]
    Panicked {
        /// The worker.
        name: &'static str,
    },
}

enum Join {
    Thread(std::thread::JoinHandle<()>),
    Task(tokio::task::JoinHandle<()>),
}

/// A running worker: its stop signal and what to join.
pub struct Worker {
    name: &'static str,
    stop: Option<Box<dyn FnOnce() + Send>>,
    join: Option<Join>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// Runs `body` on a thread named `name`; `stop` makes it return.
    pub fn thread(
        name: &'static str,
        stop: impl FnOnce() + Send + 'static,
        body: impl FnOnce() + Send + 'static,
    ) -> Result<Self, WorkerError> {
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(body)
            .map_err(|source| WorkerError::Spawn { name, source })?;
        Ok(Self {
            name,
            stop: Some(Box::new(stop)),
            join: Some(Join::Thread(thread)),
        })
    }

    /// Runs `body` as a task on the current runtime; `stop` makes it return.
    pub fn task(
        name: &'static str,
        stop: impl FnOnce() + Send + 'static,
        body: impl Future<Output = ()> + Send + 'static,
    ) -> Self {
        Self {
            name,
            stop: Some(Box::new(stop)),
            join: Some(Join::Task(tokio::spawn(body))),
        }
    }

    /// The worker's name (its thread's name).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Signals the worker to stop and waits until it has.
    pub async fn stop(mut self) -> Result<(), WorkerError> {
        if let Some(stop) = self.stop.take() {
            stop();
        }
        let name = self.name;
        let panicked = match self.join.take() {
            Some(Join::Thread(thread)) => tokio::task::spawn_blocking(move || thread.join())
                .await
                .map_or(true, |joined| joined.is_err()),
            Some(Join::Task(task)) => task.await.is_err(),
            None => false,
        };
        if panicked {
            return Err(WorkerError::Panicked { name });
        }
        tracing::debug!(worker = name, "stopped");
        Ok(())
    }
}

impl Drop for Worker {
    /// A worker dropped without [`Worker::stop`] (start-up failed half way) is still told to
    /// stop; a thread is then left to end on its own.
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop();
        }
        if let Some(Join::Task(task)) = self.join.take() {
            task.abort();
        }
    }
}

/// A worker thread's inbox: its jobs, with stopping built in.
#[derive(Debug)]
pub struct Inbox<J>(std_mpsc::Receiver<Message<J>>);

/// The sending side of an [`Inbox`].
#[derive(Debug)]
pub struct Jobs<J>(std_mpsc::Sender<Message<J>>);

impl<J> Clone for Jobs<J> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

#[derive(Debug)]
enum Message<J> {
    Job(J),
    Stop,
}

/// What [`Inbox::next`] found.
#[derive(Debug)]
pub enum Next<J> {
    /// A job.
    Job(J),
    /// Nothing within the wait.
    Idle,
    /// Stop (asked for, or every sender is gone).
    Stop,
}

/// A job queue for a worker thread.
pub fn inbox<J>() -> (Jobs<J>, Inbox<J>) {
    let (sender, receiver) = std_mpsc::channel();
    (Jobs(sender), Inbox(receiver))
}

/// Starts a worker thread named `name` serving its own [`Inbox`] with `body`; stopping it
/// queues a stop after the jobs already sent.
pub fn serve<J: Send + 'static>(
    name: &'static str,
    body: impl FnOnce(Inbox<J>) + Send + 'static,
) -> Result<(Jobs<J>, Worker), WorkerError> {
    let (jobs, inbox) = inbox();
    let stopper = jobs.clone();
    let worker = Worker::thread(name, move || stopper.stop(), move || body(inbox))?;
    Ok((jobs, worker))
}

impl<J> Jobs<J> {
    /// Queues a job; a worker that is gone is logged, not an error (it is stopping).
    pub fn send(&self, job: J) {
        if self.0.send(Message::Job(job)).is_err() {
            tracing::debug!("worker gone: job dropped");
        }
    }

    /// Asks the worker to stop after the jobs queued before.
    pub fn stop(&self) {
        let _ = self.0.send(Message::Stop);
    }
}

impl<J> Inbox<J> {
    /// The next job, waiting at most `wait`.
    pub fn next(&self, wait: Duration) -> Next<J> {
        match self.0.recv_timeout(wait) {
            Ok(Message::Job(job)) => Next::Job(job),
            Ok(Message::Stop) | Err(std_mpsc::RecvTimeoutError::Disconnected) => Next::Stop,
            Err(std_mpsc::RecvTimeoutError::Timeout) => Next::Idle,
        }
    }

    /// The next job if one is queued now.
    pub fn try_next(&self) -> Next<J> {
        match self.0.try_recv() {
            Ok(Message::Job(job)) => Next::Job(job),
            Ok(Message::Stop) | Err(std_mpsc::TryRecvError::Disconnected) => Next::Stop,
            Err(std_mpsc::TryRecvError::Empty) => Next::Idle,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_thread_worker_serves_jobs_until_stopped_and_is_joined() {
        let (done_tx, done_rx) = std_mpsc::channel();
        let (jobs, worker) = serve("test-worker", move |inbox: Inbox<u32>| {
            let mut sum = 0;
            loop {
                match inbox.next(Duration::from_secs(5)) {
                    Next::Job(n) => sum += n,
                    Next::Idle => {}
                    Next::Stop => break,
                }
            }
            let _ = done_tx.send(sum);
        })
        .unwrap();
        jobs.send(2);
        jobs.send(3);
        worker.stop().await.unwrap();
        // Joined: the thread has finished, after the jobs sent before the stop.
        assert_eq!(done_rx.try_recv().unwrap(), 5);
    }

    #[tokio::test]
    async fn a_panicking_worker_is_reported() {
        let worker = Worker::thread("test-panics", || {}, || panic!("boom")).unwrap();
        assert!(matches!(
            worker.stop().await,
            Err(WorkerError::Panicked {
                name: "test-panics"
            })
        ));
    }
}
