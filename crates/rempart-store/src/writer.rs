//! Group commit: one thread owns the write path, gathers the jobs queued
//! while the previous commit was on its way to disk, runs each in its own
//! savepoint and commits them together — one fsync for many submissions,
//! one read and one write of the audit tree's state — then signs a tree
//! head when enough entries or time have passed.
//!
//! Checkpoints (copying the write-ahead log into the database, then
//! waiting for the disk) run on a thread of their own, woken after
//! commits: run by the committing connection, each stalled every job
//! queued behind it.
//!
//! A job's result is delivered only after its transaction committed, so
//! an acknowledged decision is durable (as durable as the database's
//! `synchronous` setting makes it).

use std::sync::mpsc::{self, RecvTimeoutError, SyncSender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rempart_audit::NoteSigner;

use crate::{audit, Dialect, Store, StoreError, Tx};

/// When tree heads are signed.
#[derive(Clone, Copy, Debug)]
pub struct HeadPolicy {
    /// Sign at least this often while the log grows.
    pub every: Duration,
    /// …or as soon as this many entries were appended since the last head.
    pub entries: u64,
}

impl Default for HeadPolicy {
    fn default() -> HeadPolicy {
        HeadPolicy { every: Duration::from_secs(10), entries: 10_000 }
    }
}

type Finish = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
/// A queued job: run inside the group transaction (`Some`), or told that
/// the transaction could not even start (`None`) — every job is answered.
type Job = Box<dyn FnOnce(Option<&mut Tx<'_>>) -> Finish + Send>;

/// Statistics of the write path, for metrics.
#[derive(Clone, Copy, Debug, Default)]
pub struct WriterStats {
    pub commits: u64,
    pub jobs: u64,
    pub heads: u64,
    pub failed_commits: u64,
}

/// Handle to the writer thread. Dropping every handle stops it after the
/// queued jobs.
#[derive(Clone)]
pub struct Writer {
    jobs: SyncSender<Job>,
    stats: std::sync::Arc<std::sync::Mutex<WriterStats>>,
}

/// A running writer thread and its handle.
pub struct Running {
    pub writer: Writer,
    pub thread: JoinHandle<()>,
}

/// Jobs at most per transaction: bounds a transaction's size and the
/// latency of the first job in it.
const MAX_BATCH: usize = 4_096;

/// Least time between two checkpoints: each copies what every commit
/// since the last one wrote, so under load one checkpoint serves many.
const CHECKPOINT_PAUSE: Duration = Duration::from_millis(200);

impl Writer {
    /// Starts the writer thread on `store`, signing heads with `signer`.
    pub fn start(store: Store, signer: NoteSigner, heads: HeadPolicy) -> Result<Running, StoreError> {
        let (tx, rx) = mpsc::sync_channel::<Job>(16_384);
        let stats = std::sync::Arc::new(std::sync::Mutex::new(WriterStats::default()));
        let thread_stats = stats.clone();
        let (committed, commits) = mpsc::sync_channel::<()>(1);
        // PostgreSQL manages its own log: no checkpointer, and the
        // writer's notes after each commit go nowhere.
        let checkpointer = match store.dialect() {
            Dialect::Sqlite => {
                let checkpoints = store.clone();
                let thread = std::thread::Builder::new()
                    .name("rempart-checkpoint".into())
                    .spawn(move || checkpoint_after_commits(&checkpoints, &commits))
                    .map_err(|e| StoreError::Backend(format!("cannot start the checkpoint thread: {e}")))?;
                store.checkpoint_in_background();
                Some(thread)
            }
            Dialect::Postgres => None,
        };
        let thread = std::thread::Builder::new()
            .name("rempart-writer".into())
            .spawn(move || {
                run(&store, &signer, heads, &rx, &committed, &thread_stats);
                drop(committed);
                if let Some(checkpointer) = checkpointer {
                    let _ = checkpointer.join();
                }
            })
            .map_err(|e| StoreError::Backend(format!("cannot start the writer thread: {e}")))?;
        Ok(Running { writer: Writer { jobs: tx, stats }, thread })
    }

    /// Queues `f` to run in the next group transaction; the receiver gets
    /// its result once the transaction committed (or the error that
    /// prevented it). `f` runs in a savepoint: its failure undoes only its
    /// own writes.
    pub fn submit<T, F>(&self, f: F) -> tokio::sync::oneshot::Receiver<Result<T, StoreError>>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        self.queue(f, true)
    }

    /// Like [`Writer::submit`], but `f` runs without a savepoint of its
    /// own: it must wrap every write in a savepoint (`Tx::savepoint`) of
    /// its own — a batch of listings in one, each listing in its own if
    /// that one fails (`records::record_batch`) — so that its failure
    /// leaves only whole parts behind.
    ///
    /// Why: SQLite truncates its in-memory sub-journal on every release
    /// of a nested savepoint by walking it from the start, so a batch of n
    /// listings nested inside a job's savepoint costs O(n²); side by side
    /// they cost O(n).
    pub fn submit_in_parts<T, F>(&self, f: F) -> tokio::sync::oneshot::Receiver<Result<T, StoreError>>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        self.queue(f, false)
    }

    fn queue<T, F>(&self, f: F, in_savepoint: bool) -> tokio::sync::oneshot::Receiver<Result<T, StoreError>>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, receiver) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |tx: Option<&mut Tx<'_>>| -> Finish {
            let result = match tx {
                Some(tx) if in_savepoint => tx.savepoint(f),
                Some(tx) => f(tx),
                // The transaction's own error reaches the reply below.
                None => Err(StoreError::Backend("not run".into())),
            };
            Box::new(move |committed: Result<(), StoreError>| {
                let _ = reply.send(match (result, committed) {
                    (Ok(v), Ok(())) => Ok(v),
                    (_, Err(e)) | (Err(e), Ok(())) => Err(e),
                });
            })
        });
        if let Err(mpsc::SendError(job)) = self.jobs.send(job) {
            // The writer is gone: answer through the job's own path.
            drop(job);
        }
        receiver
    }

    /// Runs `f` in the next group transaction and waits for the commit
    /// (for callers outside an async runtime).
    pub fn run_blocking<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        self.submit(f).blocking_recv().map_err(|_| StoreError::Backend("the writer thread stopped".into()))?
    }

    pub fn stats(&self) -> WriterStats {
        self.stats.lock().map(|s| *s).unwrap_or_default()
    }
}

/// Checkpoints after commits, at most once per [`CHECKPOINT_PAUSE`],
/// until the writer hangs up.
fn checkpoint_after_commits(store: &Store, commits: &mpsc::Receiver<()>) {
    while commits.recv().is_ok() {
        if let Err(e) = store.checkpoint() {
            // The committing connection's own checkpoints (past a larger
            // log) are the safety net; the next commit tries again here.
            tracing::warn!(error = %e, "checkpoint failed");
        }
        std::thread::sleep(CHECKPOINT_PAUSE);
    }
}

fn run(
    store: &Store,
    signer: &NoteSigner,
    policy: HeadPolicy,
    rx: &mpsc::Receiver<Job>,
    committed: &SyncSender<()>,
    stats: &std::sync::Mutex<WriterStats>,
) {
    let mut last_head = Instant::now();
    let mut since_head: u64 = 0;
    loop {
        let first = match rx.recv_timeout(policy.every) {
            Ok(job) => Some(job),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let mut jobs: Vec<Option<Job>> = first.into_iter().map(Some).collect();
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => jobs.push(Some(job)),
                Err(_) => break,
            }
        }
        let due = last_head.elapsed() >= policy.every || since_head >= policy.entries;
        if jobs.is_empty() && !due {
            continue;
        }
        let count = jobs.len() as u64;
        let mut finishers: Vec<Finish> = Vec::with_capacity(jobs.len());
        let mut signed = false;
        let result = store.write(|tx| {
            let before = audit::state(tx)?.0;
            for job in jobs.iter_mut().filter_map(Option::take) {
                finishers.push(job(Some(&mut *tx)));
            }
            let after = audit::state(tx)?.0;
            since_head += after - before;
            if since_head > 0 && (due || since_head >= policy.entries) {
                signed = audit::sign_head(tx, signer, false)?.is_some();
            }
            Ok(())
        });
        if let Ok(mut s) = stats.lock() {
            s.jobs += count;
            match &result {
                Ok(()) => s.commits += 1,
                Err(_) => s.failed_commits += 1,
            }
            s.heads += u64::from(signed);
        }
        if result.is_ok() {
            // Full means a checkpoint is already due.
            let _ = committed.try_send(());
        }
        if result.is_ok() && (signed || since_head == 0) {
            last_head = Instant::now();
            since_head = 0;
        }
        if result.is_err() {
            since_head = 0;
        }
        // Jobs the transaction never reached (it could not begin) answer too.
        finishers.extend(jobs.into_iter().flatten().map(|job| job(None)));
        for finish in finishers {
            finish(result.clone());
        }
    }
    // Sign what the last jobs appended, so a clean shutdown leaves a head
    // covering every entry.
    let _ = store.write(|tx| audit::sign_head(tx, signer, false));
}
