//! Group commit: one writer thread runs the FileStore's write jobs, and runs every job that
//! queued up while the previous commit was syncing in one shared durable transaction.
//!
//! Why: each acknowledged write must be durable before its OK, and a durable redb commit costs
//! an `fdatasync`. With 50 busy clients, one commit per STORE/APPEND/MOVE made every writer
//! queue behind everyone else's fsync. Now writers that arrive during a commit share the next
//! one. Nothing is visible to readers before it is durable: a batch is one transaction.
//!
//! Isolation: a job that fails (`NO`, e.g. no such mailbox) may have written part of its
//! changes. The whole batch is then rolled back; the jobs before it run again and commit, it
//! gets its error, and the jobs after it form the next batch (`run_batch`). So a failed job's
//! writes never commit and every job sees the state it would have seen alone, in queue order.
//! Jobs are therefore `FnMut` and must touch nothing outside the transaction (the callers do
//! their file work before or after).

use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;

use redb::{Database, Durability};
use tidings_engine::store::{StoreError, StoreResult};
use tokio::sync::oneshot;

use super::memo::Memo;
use super::schema::{OrBackend, Tables};

/// At most this many jobs share one transaction (bounds the work lost to one failed job).
const MAX_BATCH: usize = 256;

/// One queued write, its result kept until the transaction it ran in has committed.
trait Job: Send {
    /// Runs the job against the open transaction; false if it failed (its result is kept).
    fn run(&mut self, tables: &mut Tables<'_>) -> bool;
    /// Whether the job needs its commit to be durable before it is answered.
    fn durability(&self) -> Durability;
    /// Answers the waiting caller: the job's own result if `committed` is `Ok`.
    fn finish(self: Box<Self>, committed: StoreResult<()>);
}

struct TypedJob<F, T> {
    work: F,
    durability: Durability,
    result: Option<StoreResult<T>>,
    reply: Reply<T>,
}

/// Where a job's answer goes: a thread blocked in [`Committer::run`], or the future of
/// [`Committer::submit`].
enum Reply<T> {
    Blocking(mpsc::SyncSender<StoreResult<T>>),
    Async(oneshot::Sender<StoreResult<T>>),
}

impl<F, T> Job for TypedJob<F, T>
where
    F: FnMut(&mut Tables<'_>) -> StoreResult<T> + Send,
    T: Send,
{
    fn run(&mut self, tables: &mut Tables<'_>) -> bool {
        let result = (self.work)(tables);
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn durability(&self) -> Durability {
        self.durability
    }

    fn finish(self: Box<Self>, committed: StoreResult<()>) {
        let answer = match (committed, self.result) {
            (Ok(()), Some(result)) => result,
            (Err(e), _) => Err(e),
            (Ok(()), None) => Err(StoreError::Backend("write job was not run".into())),
        };
        // The caller may have gone (its thread panicked, its future was dropped); nothing to
        // do then: the write itself stands.
        match self.reply {
            Reply::Blocking(reply) => drop(reply.send(answer)),
            Reply::Async(reply) => drop(reply.send(answer)),
        }
    }
}

/// The handle through which writes reach the writer thread. Dropping it stops the thread
/// after the queued jobs and waits for it, so the database is closed when the store is.
pub(crate) struct Committer {
    jobs: Option<mpsc::Sender<Box<dyn Job>>>,
    thread: Option<JoinHandle<()>>,
}

impl Committer {
    /// Starts the writer thread for `db`; `memo` is invalidated after every commit.
    pub(crate) fn start(db: Arc<Database>, memo: Arc<Memo>) -> std::io::Result<Committer> {
        let (jobs, queue) = mpsc::channel::<Box<dyn Job>>();
        let thread = std::thread::Builder::new()
            .name("tidings-commit".into())
            .spawn(move || writer_loop(&db, &memo, &queue))?;
        Ok(Committer {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    /// Runs `work` in a write transaction (shared with other queued jobs) and returns its
    /// result once that transaction has committed with at least `durability`. Blocks.
    pub(crate) fn run<T, F>(&self, durability: Durability, work: F) -> StoreResult<T>
    where
        F: FnMut(&mut Tables<'_>) -> StoreResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = mpsc::sync_channel(1);
        self.queue(durability, work, Reply::Blocking(reply))?;
        answer.recv().map_err(|_| stopped())?
    }

    /// As [`Committer::run`], but queued at once and answered through the returned future:
    /// an async caller waits for the commit without parking a thread of its own (a STORE
    /// used to hop to tokio's blocking pool only to block there on this answer).
    pub(crate) fn submit<T, F>(
        &self,
        durability: Durability,
        work: F,
    ) -> impl std::future::Future<Output = StoreResult<T>>
    where
        F: FnMut(&mut Tables<'_>) -> StoreResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let queued = self.queue(durability, work, Reply::Async(reply));
        async move {
            queued?;
            answer.await.map_err(|_| stopped())?
        }
    }

    fn queue<T, F>(&self, durability: Durability, work: F, reply: Reply<T>) -> StoreResult<()>
    where
        F: FnMut(&mut Tables<'_>) -> StoreResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let job = Box::new(TypedJob {
            work,
            durability,
            result: None,
            reply,
        });
        self.jobs
            .as_ref()
            .ok_or_else(stopped)?
            .send(job)
            .map_err(|_| stopped())
    }
}

fn stopped() -> StoreError {
    StoreError::Backend("the store's writer has stopped".into())
}

impl Drop for Committer {
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Takes the first queued job, then whatever else is queued, and commits them together.
fn writer_loop(db: &Database, memo: &Memo, queue: &mpsc::Receiver<Box<dyn Job>>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        run_batch(db, memo, batch);
    }
}

/// Commits `batch` in as few transactions as its failures allow: when job k fails, nothing
/// is committed; jobs before k run again together (from the same state, so with the same
/// results) and commit, job k is answered with its error (it saw exactly that state), and
/// the jobs after k form the next batch.
fn run_batch(db: &Database, memo: &Memo, mut batch: Vec<Box<dyn Job>>) {
    while !batch.is_empty() {
        if batch.len() == 1 {
            let job = batch.pop().expect("one job");
            run_alone(db, memo, job);
            return;
        }
        let Some(failed_at) = run_together(db, memo, &mut batch) else {
            return;
        };
        let rest = batch.split_off(failed_at + 1);
        let failed = batch.pop().expect("the failed job");
        if !batch.is_empty() && run_together(db, memo, &mut batch).is_some() {
            // Cannot happen (same jobs, same state); stay correct anyway.
            for job in batch.drain(..) {
                run_alone(db, memo, job);
            }
        }
        failed.finish(Ok(()));
        batch = rest;
    }
}

/// Runs every job of `batch` in one transaction and, after the commit, answers them and
/// empties `batch`. If job k fails, rolls everything back, answers nobody and returns k.
fn run_together(db: &Database, memo: &Memo, batch: &mut Vec<Box<dyn Job>>) -> Option<usize> {
    let durability = strongest(batch.iter().map(|j| j.durability()));
    let committed = (|| -> StoreResult<Option<usize>> {
        let mut txn = db.begin_write().bk()?;
        txn.set_durability(durability);
        {
            let mut tables = Tables::open(&txn)?;
            for (k, job) in batch.iter_mut().enumerate() {
                if !job.run(&mut tables) {
                    // Dropping the transaction rolls every job of the batch back.
                    return Ok(Some(k));
                }
            }
        }
        txn.commit().bk()?;
        Ok(None)
    })();
    match committed {
        Ok(Some(k)) => Some(k),
        Ok(None) => {
            memo.invalidate();
            for job in batch.drain(..) {
                job.finish(Ok(()));
            }
            None
        }
        Err(e) => {
            for job in batch.drain(..) {
                job.finish(Err(e.clone()));
            }
            None
        }
    }
}

/// Runs one job in its own transaction, committed only if the job succeeded.
fn run_alone(db: &Database, memo: &Memo, mut job: Box<dyn Job>) {
    let committed = (|| -> StoreResult<()> {
        let mut txn = db.begin_write().bk()?;
        txn.set_durability(job.durability());
        let ok = {
            let mut tables = Tables::open(&txn)?;
            job.run(&mut tables)
        };
        if ok {
            txn.commit().bk()?;
            memo.invalidate();
        }
        Ok(())
    })();
    job.finish(committed);
}

/// `Immediate` if any job needs it, else `Eventual` (the only two levels the store uses).
fn strongest(mut all: impl Iterator<Item = Durability>) -> Durability {
    if all.any(|d| matches!(d, Durability::Immediate)) {
        Durability::Immediate
    } else {
        Durability::Eventual
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use redb::ReadableTable;

    fn open_db(dir: &std::path::Path) -> Database {
        Database::create(dir.join("t.redb")).unwrap()
    }

    /// A job that adds `by` to counter `name`, then fails if `fail` (after its write).
    fn add_job(
        name: &'static str,
        by: u64,
        fail: bool,
    ) -> (Box<dyn Job>, mpsc::Receiver<StoreResult<u64>>) {
        let (reply, answer) = mpsc::sync_channel(1);
        let work = move |t: &mut Tables<'_>| {
            let now = t.counters.get(name).bk()?.map_or(0, |v| v.value()) + by;
            t.counters.insert(name, now).bk()?;
            if fail {
                return Err(StoreError::Cannot("refused after writing".into()));
            }
            Ok(now)
        };
        let job = TypedJob {
            work,
            durability: Durability::Immediate,
            result: None,
            reply: Reply::Blocking(reply),
        };
        (Box::new(job), answer)
    }

    fn counter(db: &Database, name: &str) -> u64 {
        let txn = db.begin_read().unwrap();
        let table = txn.open_table(super::super::schema::COUNTERS).unwrap();
        table.get(name).unwrap().map_or(0, |v| v.value())
    }

    #[test]
    fn a_failed_job_commits_nothing_and_its_neighbours_commit() {
        let dir = tempfile::tempdir().unwrap();
        let db = open_db(dir.path());
        let memo = Memo::default();
        let (a, a_answer) = add_job("a", 1, false);
        let (b, b_answer) = add_job("a", 10, true);
        let (c, c_answer) = add_job("a", 100, false);
        let (d, d_answer) = add_job("d", 5, false);
        run_batch(&db, &memo, vec![a, b, c, d]);
        assert_eq!(a_answer.recv().unwrap(), Ok(1));
        assert!(matches!(
            b_answer.recv().unwrap(),
            Err(StoreError::Cannot(_))
        ));
        // c ran on the state without b's write.
        assert_eq!(c_answer.recv().unwrap(), Ok(101));
        assert_eq!(d_answer.recv().unwrap(), Ok(5));
        assert_eq!(counter(&db, "a"), 101);
        assert_eq!(counter(&db, "d"), 5);
    }

    #[test]
    fn a_failed_first_or_last_job_is_isolated() {
        let dir = tempfile::tempdir().unwrap();
        let db = open_db(dir.path());
        let memo = Memo::default();
        let (a, a_answer) = add_job("x", 7, true);
        let (b, b_answer) = add_job("x", 1, false);
        let (c, c_answer) = add_job("x", 2, true);
        run_batch(&db, &memo, vec![a, b, c]);
        assert!(a_answer.recv().unwrap().is_err());
        assert_eq!(b_answer.recv().unwrap(), Ok(1));
        assert!(c_answer.recv().unwrap().is_err());
        assert_eq!(counter(&db, "x"), 1);
    }

    #[test]
    fn concurrent_writers_each_get_their_own_result() {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(open_db(dir.path()));
        let committer =
            Arc::new(Committer::start(Arc::clone(&db), Arc::new(Memo::default())).unwrap());
        let threads: Vec<_> = (0..16)
            .map(|i| {
                let committer = Arc::clone(&committer);
                std::thread::spawn(move || {
                    (0..20)
                        .map(|_| committer.run(Durability::Immediate, increment(i == 3)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut seen = Vec::new();
        for (i, t) in threads.into_iter().enumerate() {
            for result in t.join().unwrap() {
                match result {
                    Ok(n) => seen.push(n),
                    Err(_) => assert_eq!(i, 3),
                }
            }
        }
        seen.sort_unstable();
        // Every successful increment is distinct and none of thread 3's survived.
        assert_eq!(seen, (1..=300).collect::<Vec<_>>());
        drop(committer);
        assert_eq!(counter(&db, "n"), 300);
    }

    /// A job that adds one to counter `n`, failing (after its write) if `fail`.
    fn increment(fail: bool) -> impl FnMut(&mut Tables<'_>) -> StoreResult<u64> + Send {
        move |t| {
            let n = t.counters.get("n").bk()?.map_or(0, |v| v.value()) + 1;
            t.counters.insert("n", n).bk()?;
            if fail {
                return Err(StoreError::Cannot("refused".into()));
            }
            Ok(n)
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn async_and_blocking_writers_share_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(open_db(dir.path()));
        let committer =
            Arc::new(Committer::start(Arc::clone(&db), Arc::new(Memo::default())).unwrap());
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let committer = Arc::clone(&committer);
                tokio::spawn(async move {
                    let mut results = Vec::new();
                    for _ in 0..20 {
                        let answer = committer.submit(Durability::Immediate, increment(i == 3));
                        results.push(answer.await);
                    }
                    results
                })
            })
            .collect();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let committer = Arc::clone(&committer);
                std::thread::spawn(move || {
                    (0..20)
                        .map(|_| committer.run(Durability::Immediate, increment(false)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut seen = Vec::new();
        for (i, t) in tasks.into_iter().enumerate() {
            for result in t.await.unwrap() {
                match result {
                    Ok(n) => seen.push(n),
                    Err(e) => assert!(i == 3 && matches!(e, StoreError::Cannot(_)), "{e}"),
                }
            }
        }
        for t in threads {
            seen.extend(t.join().unwrap().into_iter().map(Result::unwrap));
        }
        seen.sort_unstable();
        // 7 tasks and 4 threads of 20 increments each, all distinct; none of task 3's.
        assert_eq!(seen, (1..=220).collect::<Vec<_>>());
        drop(committer);
        assert_eq!(counter(&db, "n"), 220);
    }
}
