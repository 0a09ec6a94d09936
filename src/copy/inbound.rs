//! `COPY … FROM STDIN` on a connection: JS's chunks go to tokio-postgres's sink as they come.
//!
//! The server checks rows as they arrive, but tokio-postgres reads its answer only when the COPY
//! finishes, so a bad row's error arrives at the end, after the rest of the data (which the
//! server reads and discards).
use super::ends::{Ended, Intake, Taken};
use super::sql::with_line;
use super::{left_by, stopped, Left};
use crate::connection::Conn;
use crate::error::Result;
use bytes::Bytes;
use futures_util::SinkExt;

/// Runs `sql` on `conn` with the data `intake` brings: the rows the server loaded.
pub(super) async fn load(conn: &Conn, mut intake: Intake, sql: &str) -> (Result<u64>, Left) {
    let client = conn.client();
    let start = async {
        let statement = client.prepare(sql).await?;
        let sink = client.copy_in::<_, Bytes>(&statement).await;
        // Its Close goes out after the COPY's data (see the module above).
        drop(statement);
        sink
    };
    let started = tokio::select! {
        biased;
        // Dropped half way, the start fails the COPY on the server, if it reached it.
        () = intake.aborted() => {
            return (Err(stopped("nothing was loaded")), Left::Unclear);
        }
        started = start => started,
    };
    let mut sink = match started {
        Ok(sink) => Box::pin(sink),
        Err(e) => {
            let left = left_by(&e);
            return (Err(with_line(e.into())), left);
        }
    };
    let aborted = || {
        // Dropping the sink unfinished sends CopyFail: the server fails the COPY.
        let e = stopped("the server rolled it back (CopyFail), and nothing it loaded stays");
        (Err(e), Left::Failed)
    };
    loop {
        let chunk = match intake.take().await {
            Taken::Chunk(chunk) => chunk,
            Taken::End(Ended::Finished) => break,
            Taken::End(Ended::Aborted) => return aborted(),
        };
        let sent = tokio::select! {
            biased;
            () = intake.aborted() => return aborted(),
            sent = sink.send(chunk) => sent,
        };
        if let Err(e) = sent {
            return (Err(e.into()), Left::Unclear);
        }
    }
    match sink.as_mut().finish().await {
        Ok(rows) => (Ok(rows), Left::Done),
        Err(e) => {
            let left = left_by(&e);
            (Err(with_line(e.into())), left)
        }
    }
}
