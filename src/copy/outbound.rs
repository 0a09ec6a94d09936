//! `COPY … TO STDOUT` on a connection: the server's data goes to JS in batches, read from the
//! connection only as fast as JS takes them.
use super::ends::{Outlet, BATCH_BYTES};
use super::{left_by, stopped, Left};
use crate::connection::Conn;
use crate::error::{Error, Result, CANCELLED};
use bytes::Bytes;
use futures_util::{FutureExt, Stream, StreamExt};
use std::time::Duration;

/// Runs `sql` on `conn`, its data going to `outlet`. Stopped by JS half way, the COPY is
/// cancelled and read to its end, for at most `cancel_wait` (see [`stop`]).
pub(super) async fn unload(
    conn: &Conn,
    mut outlet: Outlet,
    sql: &str,
    cancel_wait: Duration,
) -> (Result<()>, Left) {
    let client = conn.client();
    let start = async {
        let statement = client.prepare(sql).await?;
        let stream = client.copy_out(&statement).await;
        // Its Close goes out once the COPY has ended (see the module above).
        drop(statement);
        stream
    };
    let started = tokio::select! {
        biased;
        () = outlet.aborted() => return (Err(stopped("nothing was read")), Left::Unclear),
        started = start => started,
    };
    let mut stream = match started {
        Ok(stream) => Box::pin(stream),
        Err(e) => {
            let left = left_by(&e);
            return (Err(e.into()), left);
        }
    };
    loop {
        let first = tokio::select! {
            biased;
            () = outlet.aborted() => return stop(conn, stream, cancel_wait).await,
            first = stream.next() => first,
        };
        let (batch, ended) = match gather(first, &mut stream) {
            Ok(gathered) => gathered,
            Err(e) => {
                let left = left_by(&e);
                return (Err(e.into()), left);
            }
        };
        if !batch.is_empty() && !outlet.send(batch).await {
            return stop(conn, stream, cancel_wait).await;
        }
        if ended {
            return (Ok(()), Left::Done);
        }
    }
}

/// One batch: the message `first`, then what else has arrived already, up to [`BATCH_BYTES`];
/// and whether the COPY's data ended.
fn gather<S>(first: Option<Item>, stream: &mut S) -> Result<(Vec<u8>, bool), tokio_postgres::Error>
where
    S: Stream<Item = Item> + Unpin,
{
    let Some(first) = first else {
        return Ok((Vec::new(), true));
    };
    let first = first?;
    let mut batch = Vec::with_capacity(BATCH_BYTES.max(first.len()));
    batch.extend_from_slice(&first);
    while batch.len() < BATCH_BYTES {
        match stream.next().now_or_never() {
            Some(Some(data)) => batch.extend_from_slice(&data?),
            Some(None) => return Ok((batch, true)),
            None => break,
        }
    }
    Ok((batch, false))
}

type Item = Result<Bytes, tokio_postgres::Error>;

/// How long a COPY that JS stopped may take to end on its own before it is cancelled: the rest of
/// a small result is already on its way, and reading it costs less than the cancel, which closes
/// the connection unless it is what ends the COPY.
const STOP_GRACE: Duration = Duration::from_millis(20);

/// Ends a COPY that JS stopped: unless it ends on its own within [`STOP_GRACE`] (its data read
/// and dropped), a cancel request goes to the server, and the rest is read and dropped until the
/// COPY ends, for at most `cancel_wait`. The connection stays only if the cancel ended it
/// (57014), which proves the request cannot hit the connection's next statement; otherwise it is
/// closed.
async fn stop<S>(conn: &Conn, mut stream: S, cancel_wait: Duration) -> (Result<()>, Left)
where
    S: Stream<Item = Item> + Unpin,
{
    match tokio::time::timeout(STOP_GRACE, to_end(&mut stream)).await {
        Ok(Ok(())) => return (Ok(()), Left::Done),
        Ok(Err(e)) => {
            let left = left_by(&e);
            return (Err(e.into()), left);
        }
        Err(_) => {}
    }
    if let Err(e) = conn.canceller().send().await {
        tracing::warn!("could not send a cancel request for a stopped COPY: {e}");
    }
    match tokio::time::timeout(cancel_wait, to_end(&mut stream)).await {
        Ok(Err(e)) if e.code().is_some_and(|c| c.code() == CANCELLED) => {
            (Err(stopped("the server cancelled it")), Left::Failed)
        }
        _ => (
            Err(Error::ConnectionClosed(
                "the connection was closed: a COPY TO on it was stopped (its stream destroyed), \
                 and the server did not end it by the cancel request within cancelTimeoutMillis"
                    .into(),
            )),
            Left::Unclear,
        ),
    }
}

/// Reads and drops the rest of a COPY's data.
async fn to_end<S>(stream: &mut S) -> Result<(), tokio_postgres::Error>
where
    S: Stream<Item = Item> + Unpin,
{
    while let Some(data) = stream.next().await {
        data?;
    }
    Ok(())
}
