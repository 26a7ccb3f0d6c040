//! Group commit: many concurrent single-row appends, one durable transaction per batch.
//!
//! With `synchronous=FULL` (SQLite) or `synchronous_commit=on` (PostgreSQL) every commit waits
//! for the disk; that wait, not the insert, bounds throughput. A [`GroupCommitter`] owns one
//! writer task: appends queue up while the previous batch is being synced, and the next batch
//! takes everything queued (up to `max_batch`) into one multi-row `INSERT` and one commit. Each
//! caller's future resolves only after the commit that holds its row: an acknowledged row is on
//! disk; a failed batch fails every caller in it, and none of its rows is kept.

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AssertSqlSafe};
use tokio::sync::{mpsc, oneshot};

use crate::{Store, StoreError};

/// Bound parameters per statement; under SQLite's 32,766 and PostgreSQL's 65,535.
const MAX_PARAMS: usize = 30_000;

/// A row type that can be appended in batches.
pub trait BatchRow: Send + 'static {
    /// What to call this writer in errors and logs.
    const NAME: &'static str;
    /// The statement head, e.g. `INSERT INTO t (a, b)`; ` VALUES (...), (...)` is appended.
    const INSERT: &'static str;
    /// How many values [`BatchRow::bind`] binds.
    const COLUMNS: usize;
    /// Binds this row's `COLUMNS` values, in column order.
    fn bind(self, query: Query<'static, Any, AnyArguments>) -> Query<'static, Any, AnyArguments>;
}

type Ack = oneshot::Sender<Result<(), String>>;

/// The handle appenders share; cloning is cheap.
pub struct GroupCommitter<R: BatchRow> {
    queue: mpsc::Sender<(R, Ack)>,
}

impl<R: BatchRow> Clone for GroupCommitter<R> {
    fn clone(&self) -> Self {
        Self {
            queue: self.queue.clone(),
        }
    }
}

impl<R: BatchRow> GroupCommitter<R> {
    /// Starts the writer task on the current tokio runtime. `max_batch` = 1 turns batching off.
    pub fn spawn(store: Store, max_batch: usize) -> Self {
        let max_batch = max_batch.max(1);
        let (queue, rx) = mpsc::channel(max_batch * 4);
        tokio::spawn(writer(store, rx, max_batch));
        Self { queue }
    }

    /// Appends one row; returns once it is durably committed.
    pub async fn append(&self, row: R) -> Result<(), StoreError> {
        let (ack, done) = oneshot::channel();
        self.queue
            .send((row, ack))
            .await
            .map_err(|_| StoreError::WriterStopped(R::NAME))?;
        match done.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(reason)) => Err(StoreError::BatchFailed {
                writer: R::NAME,
                reason,
            }),
            Err(_) => Err(StoreError::WriterStopped(R::NAME)),
        }
    }
}

async fn writer<R: BatchRow>(store: Store, mut rx: mpsc::Receiver<(R, Ack)>, max_batch: usize) {
    let mut rows = Vec::with_capacity(max_batch);
    let mut acks = Vec::with_capacity(max_batch);
    while let Some((row, ack)) = rx.recv().await {
        rows.push(row);
        acks.push(ack);
        while rows.len() < max_batch {
            match rx.try_recv() {
                Ok((row, ack)) => {
                    rows.push(row);
                    acks.push(ack);
                }
                Err(_) => break,
            }
        }
        let result = write_batch(&store, std::mem::take(&mut rows))
            .await
            .map_err(|e| e.to_string());
        if let Err(reason) = &result {
            tracing::error!(writer = R::NAME, batch = acks.len(), %reason, "batch commit failed");
        }
        for ack in acks.drain(..) {
            // A caller that gave up waiting is no reason to stop.
            let _ = ack.send(result.clone());
        }
    }
}

async fn write_batch<R: BatchRow>(store: &Store, rows: Vec<R>) -> Result<(), StoreError> {
    let per_statement = (MAX_PARAMS / R::COLUMNS.max(1)).max(1);
    let mut tx = store.begin_write().await?;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<R> = rows.by_ref().take(per_statement).collect();
        let mut sql = String::with_capacity(R::INSERT.len() + chunk.len() * R::COLUMNS * 6);
        sql.push_str(R::INSERT);
        sql.push_str(" VALUES ");
        let mut n = 0;
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push(',');
            }
            sql.push('(');
            for c in 0..R::COLUMNS {
                if c > 0 {
                    sql.push(',');
                }
                n += 1;
                sql.push('$');
                sql.push_str(&n.to_string());
            }
            sql.push(')');
        }
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for row in chunk {
            query = row.bind(query);
        }
        query.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}
