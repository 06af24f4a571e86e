//! The writer thread: group commit of queued writes, one savepoint each.

use std::sync::mpsc;

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::db_error;
use crate::{ScimWriteError, StoreError};

/// At most this many writes share a transaction (so one batch's wait stays short).
const MAX_BATCH: usize = 256;

/// One queued write.
trait Job: Send {
    /// Runs inside the batch's transaction. False when it failed; its savepoint is then rolled
    /// back and the other writes of the batch stand.
    fn run(&mut self, conn: &Connection) -> bool;
    /// Answers the caller once the batch ended: `failure` when the batch as a whole did not
    /// commit.
    fn finish(self: Box<Self>, failure: Option<&StoreError>);
}

struct Pending<R, F> {
    work: Option<F>,
    outcome: Option<Result<R, ScimWriteError>>,
    reply: oneshot::Sender<Result<R, ScimWriteError>>,
}

impl<R, F> Job for Pending<R, F>
where
    R: Send,
    F: FnOnce(&Connection) -> Result<R, ScimWriteError> + Send,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        let outcome = work(conn);
        let ok = outcome.is_ok();
        self.outcome = Some(outcome);
        ok
    }

    fn finish(self: Box<Self>, failure: Option<&StoreError>) {
        let answer = match (failure, self.outcome) {
            // A write refused on its own merits keeps its own error.
            (_, Some(Err(e))) => Err(e),
            (None, Some(Ok(r))) => Ok(r),
            (Some(f), _) => Err(ScimWriteError::Store(f.clone())),
            (None, None) => Err(ScimWriteError::Store(StoreError::Database {
                context: "writing to SQLite".into(),
                message: "the write was not run".into(),
            })),
        };
        let _ = self.reply.send(answer);
    }
}

/// The handle writes are queued on.
pub(crate) struct Writer {
    queue: mpsc::Sender<Box<dyn Job>>,
}

impl Writer {
    pub fn start(conn: Connection) -> crate::Result<Self> {
        let (queue, jobs) = mpsc::channel::<Box<dyn Job>>();
        std::thread::Builder::new()
            .name("roster-sqlite-writer".into())
            .spawn(move || write_loop(&conn, &jobs))
            .map_err(|e| crate::common::db_error("starting the SQLite writer".into(), &e))?;
        Ok(Writer { queue })
    }

    /// Runs `work` in a write transaction (shared with the writes queued at the same time) and
    /// answers once that transaction committed. An error from `work` undoes only its own
    /// changes.
    pub async fn write<R, F>(&self, work: F) -> Result<R, ScimWriteError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R, ScimWriteError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Pending {
            work: Some(work),
            outcome: None,
            reply,
        });
        let stopped = || {
            ScimWriteError::Store(StoreError::Database {
                context: "writing to SQLite".into(),
                message: "the writer thread has stopped".into(),
            })
        };
        self.queue.send(job).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn write_loop(conn: &Connection, jobs: &mpsc::Receiver<Box<dyn Job>>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let failure = run_batch(conn, &mut batch).err();
        for job in batch {
            job.finish(failure.as_ref());
        }
    }
}

fn run_batch(conn: &Connection, batch: &mut [Box<dyn Job>]) -> Result<(), StoreError> {
    conn.execute_batch("BEGIN IMMEDIATE")
        .map_err(|e| db_error("starting a write transaction".into(), &e))?;
    for job in batch.iter_mut() {
        let step = conn.execute_batch("SAVEPOINT scim_write").and_then(|()| {
            if job.run(conn) {
                conn.execute_batch("RELEASE scim_write")
            } else {
                conn.execute_batch("ROLLBACK TO scim_write; RELEASE scim_write")
            }
        });
        if let Err(e) = step {
            // The transaction itself is gone (disk full, I/O error): nothing of it stays.
            let _ = conn.execute_batch("ROLLBACK");
            return Err(db_error("writing a batch of SCIM changes".into(), &e));
        }
    }
    if let Err(e) = conn.execute_batch("COMMIT") {
        let _ = conn.execute_batch("ROLLBACK");
        return Err(db_error("committing a batch of SCIM changes".into(), &e));
    }
    Ok(())
}
