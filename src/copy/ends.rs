//! The two ends of a COPY's data: the one JS holds, by handle, and the one the COPY's task holds.
//! Both directions go through a bounded channel, so that the engine never holds more than a few
//! chunks of a COPY, whatever the size of its data, and a writer or reader that is faster than
//! the other side waits for it.
use bytes::Bytes;
use tokio::sync::{mpsc, watch, Mutex};

/// How many of JS's writes the engine holds for a `COPY … FROM STDIN` before a write waits: two
/// are enough for the task to send one while JS hands over the next, and a few more absorb
/// jitter. Each is one batch of the JS stream (about its `highWaterMark`), so the engine holds
/// about 4 × 64 KiB by default.
const CHUNKS_IN_FLIGHT: usize = 4;

/// How many batches a `COPY … TO STDOUT` reads ahead of JS: one waits for JS while the task fills
/// the next; behind it, the server waits on the socket.
const BATCHES_AHEAD: usize = 1;

/// The bytes a batch of `COPY … TO STDOUT` gathers before it goes to JS, when that much has
/// arrived already: the server sends a message per row, and a JS call per row would cost more
/// than the row. An ArrayBuffer this size is handed to JS without a copy (see `delivery`).
pub const BATCH_BYTES: usize = 64 * 1024;

/// How the JS side ended a COPY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// Not yet.
    Open,
    /// No more data: `COPY … FROM STDIN` completes once what was written has gone.
    Finish,
    /// Stopped: the COPY fails on the server, and nothing it did stays.
    Abort,
}

/// How the task sees the JS side's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// No more data.
    Finished,
    /// JS stopped the COPY, or let go of it without saying (its handle dropped).
    Aborted,
}

/// What JS holds of one COPY, under its handle.
pub enum End {
    /// A `COPY … FROM STDIN`.
    In(Feed),
    /// A `COPY … TO STDOUT`.
    Out(Drain),
}

impl End {
    /// Stops the COPY (a destroyed stream): the task ends it at once.
    pub fn abort(&self) {
        let ending = match self {
            End::In(feed) => &feed.ending,
            End::Out(drain) => &drain.ending,
        };
        ending.send_if_modified(|e| replace_open(e, Ending::Abort));
    }
}

/// Sets `ending` to `to` if it is still open; whether it did.
fn replace_open(ending: &mut Ending, to: Ending) -> bool {
    let open = *ending == Ending::Open;
    if open {
        *ending = to;
    }
    open
}

/// JS's end of a `COPY … FROM STDIN`.
pub struct Feed {
    chunks: mpsc::Sender<Bytes>,
    ending: watch::Sender<Ending>,
}

/// The task's end of a `COPY … FROM STDIN`.
pub struct Intake {
    chunks: mpsc::Receiver<Bytes>,
    ending: watch::Receiver<Ending>,
}

/// A new `COPY … FROM STDIN`'s two ends.
pub fn feed() -> (Feed, Intake) {
    let (send, receive) = mpsc::channel(CHUNKS_IN_FLIGHT);
    let (ending, ended) = watch::channel(Ending::Open);
    let feed = Feed {
        chunks: send,
        ending,
    };
    let intake = Intake {
        chunks: receive,
        ending: ended,
    };
    (feed, intake)
}

impl Feed {
    /// Hands `chunk` to the task, once the engine holds fewer than [`CHUNKS_IN_FLIGHT`] writes.
    /// After the COPY ended (its own outcome says how) the chunk goes nowhere.
    pub async fn write(&self, chunk: Bytes) {
        let _ = self.chunks.send(chunk).await;
    }

    /// No more data: the COPY completes once what was written has gone.
    pub fn finish(&self) {
        self.ending
            .send_if_modified(|e| replace_open(e, Ending::Finish));
    }
}

/// What the task takes next from a `COPY … FROM STDIN`'s feed.
#[derive(Debug, PartialEq, Eq)]
pub enum Taken {
    /// Data to send.
    Chunk(Bytes),
    /// The end: every chunk written before it was taken first.
    End(Ended),
}

impl Intake {
    /// The next chunk, or the end; an abort comes before any chunk still waiting.
    pub async fn take(&mut self) -> Taken {
        let ending = tokio::select! {
            biased;
            ending = self.ending.wait_for(|e| *e != Ending::Open) => ending.map(|e| *e),
            chunk = self.chunks.recv() => match chunk {
                Some(chunk) => return Taken::Chunk(chunk),
                // JS let go of the feed (its handle was dropped) without saying.
                None => return Taken::End(Ended::Aborted),
            },
        };
        match ending {
            // JS finishes only once its writes were taken into the channel: they come first.
            Ok(Ending::Finish) => match self.chunks.try_recv() {
                Ok(chunk) => Taken::Chunk(chunk),
                Err(_) => Taken::End(Ended::Finished),
            },
            _ => Taken::End(Ended::Aborted),
        }
    }

    /// Resolves when JS aborts the COPY (or lets go of it); never once it has finished.
    pub async fn aborted(&mut self) {
        aborted(&mut self.ending).await
    }
}

/// Resolves when `ending` says Abort, or its sender is gone without finishing.
async fn aborted(ending: &mut watch::Receiver<Ending>) {
    let ended = ending.wait_for(|e| *e != Ending::Open).await.map(|e| *e);
    if let Ok(Ending::Finish) = ended {
        std::future::pending().await
    }
}

/// JS's end of a `COPY … TO STDOUT`.
pub struct Drain {
    batches: Mutex<mpsc::Receiver<Vec<u8>>>,
    ending: watch::Sender<Ending>,
}

/// The task's end of a `COPY … TO STDOUT`.
pub struct Outlet {
    batches: mpsc::Sender<Vec<u8>>,
    ending: watch::Receiver<Ending>,
}

/// A new `COPY … TO STDOUT`'s two ends.
pub fn drain() -> (Drain, Outlet) {
    let (send, receive) = mpsc::channel(BATCHES_AHEAD);
    let (ending, ended) = watch::channel(Ending::Open);
    let drain = Drain {
        batches: Mutex::new(receive),
        ending,
    };
    let outlet = Outlet {
        batches: send,
        ending: ended,
    };
    (drain, outlet)
}

impl Drain {
    /// The next batch of data; `None` once the COPY has sent all it had (or failed: its outcome
    /// says so).
    pub async fn read(&self) -> Option<Vec<u8>> {
        self.batches.lock().await.recv().await
    }
}

impl Outlet {
    /// Hands `batch` to JS once it has taken the one before; `false` when JS aborted the COPY (or
    /// let go of it) instead.
    pub async fn send(&mut self, batch: Vec<u8>) -> bool {
        tokio::select! {
            biased;
            () = aborted(&mut self.ending) => false,
            sent = self.batches.send(batch) => sent.is_ok(),
        }
    }

    /// Resolves when JS aborts the COPY (or lets go of it).
    pub async fn aborted(&mut self) {
        aborted(&mut self.ending).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn chunk(s: &'static str) -> Taken {
        Taken::Chunk(Bytes::from_static(s.as_bytes()))
    }

    #[tokio::test]
    async fn writes_come_before_the_finish_that_follows_them() {
        let (feed, mut intake) = feed();
        feed.write(Bytes::from_static(b"a")).await;
        feed.write(Bytes::from_static(b"b")).await;
        feed.finish();
        assert_eq!(intake.take().await, chunk("a"));
        assert_eq!(intake.take().await, chunk("b"));
        assert_eq!(intake.take().await, Taken::End(Ended::Finished));
        // A later abort changes nothing.
        End::In(feed).abort();
        assert_eq!(intake.take().await, Taken::End(Ended::Finished));
    }

    #[tokio::test]
    async fn an_abort_comes_before_data_still_waiting() {
        let (feed, mut intake) = feed();
        feed.write(Bytes::from_static(b"a")).await;
        let end = End::In(feed);
        end.abort();
        assert_eq!(intake.take().await, Taken::End(Ended::Aborted));
        // Finishing after an abort does not undo it.
        let End::In(feed) = &end else { unreachable!() };
        feed.finish();
        assert_eq!(intake.take().await, Taken::End(Ended::Aborted));
    }

    #[tokio::test]
    async fn a_feed_let_go_of_aborts() {
        let (feed, mut intake) = feed();
        drop(feed);
        assert_eq!(intake.take().await, Taken::End(Ended::Aborted));
        intake.aborted().await;
    }

    #[tokio::test]
    async fn a_write_waits_while_the_engine_holds_enough() {
        let (feed, mut intake) = feed();
        let feed = Arc::new(feed);
        for _ in 0..CHUNKS_IN_FLIGHT {
            feed.write(Bytes::from_static(b"x")).await;
        }
        let writer = tokio::spawn({
            let feed = feed.clone();
            async move { feed.write(Bytes::from_static(b"y")).await }
        });
        tokio::task::yield_now().await;
        assert!(!writer.is_finished());
        assert_eq!(intake.take().await, chunk("x"));
        writer.await.unwrap();
    }

    #[tokio::test]
    async fn batches_reach_the_reader_in_order_until_the_outlet_goes() {
        let (drain, mut outlet) = drain();
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(batch) = drain.read().await {
                got.push(batch);
            }
            got
        });
        assert!(outlet.send(b"1".to_vec()).await);
        assert!(outlet.send(b"2".to_vec()).await);
        drop(outlet);
        assert_eq!(reader.await.unwrap(), vec![b"1".to_vec(), b"2".to_vec()]);
    }

    #[tokio::test]
    async fn an_aborted_drain_stops_a_waiting_send() {
        let (drain, mut outlet) = drain();
        assert!(outlet.send(b"1".to_vec()).await);
        let end = End::Out(drain);
        end.abort();
        // The channel is full and JS reads no more: the send gives up.
        assert!(!outlet.send(b"2".to_vec()).await);
        outlet.aborted().await;
    }
}
