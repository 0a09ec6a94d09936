//! How the engine's one thread schedules its work: the tokio runtime, and the turn a connection's
//! task takes after it is woken.
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Builds the engine's runtime, one per process, with a single worker that always starts the
/// calls JS made before anything else: calls then start in the order JS made them (so the pool
/// serves waiters first come, first served, and a call made before `close()` is admitted before
/// it). With several workers, or tokio's default `global_queue_interval` (which every so many
/// ticks takes one new call ahead of those already moved to the local queue), calls started out of
/// order; a spec saw it. A call's first poll is short (it registers with the pool and waits), so
/// putting new calls first costs the running ones little. One worker also means a query and its
/// connection's I/O share a thread instead of waking each other across two, and the engine leaves
/// the other core to Node.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .global_queue_interval(1)
        .thread_name("pg-rust-pool")
        .enable_all()
        .build()
}

/// A connection's task (`tokio_postgres::Connection`), run so that the requests of one burst of
/// calls go out in one write.
///
/// A query hands its request to its connection's task and wakes it; tokio runs a task woken that
/// way right after the one that woke it (its LIFO slot), so the connection wrote every request
/// alone, in a `send` of its own, even while JS had more calls queued for the same connection:
/// with 64 queries in flight (W2 of the benchmark) there was one `send` per query. Each `send` on
/// loopback also runs the server's receive path and wakes its backend, a third of the engine's
/// CPU. Polled this way, a woken connection first goes to the back of the queue, behind the calls
/// JS queued meanwhile (the runtime takes those first), so it writes them all at once: 2.7
/// queries per `send` in W2, which went from 50,000–51,400 to 60,300–65,400 queries a second
/// (machine CPU per query 33 µs down to 27–28 µs). A lone query pays one extra turn of an empty
/// queue (W1, W3 and W4 did not move).
pub struct WritesTogether<F> {
    connection: F,
    /// Whether the task has already let the queue go first since its last wake.
    yielded: bool,
}

impl<F> WritesTogether<F> {
    /// Wraps a connection's task.
    pub fn new(connection: F) -> Self {
        WritesTogether {
            connection,
            yielded: false,
        }
    }
}

impl<F: Future + Unpin> Future for WritesTogether<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        if !self.yielded {
            // Woken while running, a task goes to the back of the queue, not to the LIFO slot.
            self.yielded = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.yielded = false;
        Pin::new(&mut self.connection).poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{mpsc, Arc, Mutex};
    use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

    /// A stand-in for a connection's task: each poll "writes" what its channel holds, as one batch.
    struct Writer {
        requests: UnboundedReceiver<u32>,
        writes: Arc<Mutex<Vec<Vec<u32>>>>,
    }

    impl Future for Writer {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            let mut batch = Vec::new();
            while let Poll::Ready(Some(request)) = self.requests.poll_recv(cx) {
                batch.push(request);
            }
            if !batch.is_empty() {
                self.writes.lock().unwrap().push(batch);
            }
            Poll::Pending
        }
    }

    /// Waits until the writer has written `n` requests in all (or 5 s), and returns its writes.
    fn writes_after(writes: &Mutex<Vec<Vec<u32>>>, n: usize) -> Vec<Vec<u32>> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let done = writes.lock().unwrap();
            if done.iter().map(Vec::len).sum::<usize>() == n || std::time::Instant::now() > deadline
            {
                return done.clone();
            }
            drop(done);
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    /// Three calls queued from outside the runtime while its thread is busy, each sending one
    /// request to the same connection, after a first request the connection already wrote (so
    /// its task waits on its channel, as an idle connection does): how it writes the three.
    fn writes_of_three_queued_calls(together: bool) -> Vec<Vec<u32>> {
        let runtime = runtime().unwrap();
        let (requests, receiver) = unbounded_channel();
        let writes = Arc::new(Mutex::new(Vec::new()));
        let writer = Writer {
            requests: receiver,
            writes: writes.clone(),
        };
        if together {
            runtime.spawn(WritesTogether::new(writer));
        } else {
            runtime.spawn(writer);
        }
        requests.send(0).unwrap();
        assert_eq!(writes_after(&writes, 1), vec![vec![0]]);
        // Hold the engine's thread while the calls queue up, as a burst of JS calls does.
        let (started, busy) = mpsc::channel();
        let (release, hold) = mpsc::channel::<()>();
        runtime.spawn(async move {
            started.send(()).unwrap();
            hold.recv().unwrap();
        });
        busy.recv().unwrap();
        let calls: Vec<_> = (1..=3)
            .map(|n| {
                let requests = requests.clone();
                runtime.spawn(async move { requests.send(n).unwrap() })
            })
            .collect();
        release.send(()).unwrap();
        for call in calls {
            runtime.block_on(call).unwrap();
        }
        // The connection's task writes on the engine's thread, after the calls.
        writes_after(&writes, 4)
    }

    #[test]
    fn a_burst_of_calls_is_written_at_once() {
        assert_eq!(
            writes_of_three_queued_calls(true),
            vec![vec![0], vec![1, 2, 3]]
        );
    }

    #[test]
    fn without_it_each_call_is_written_alone() {
        assert_eq!(
            writes_of_three_queued_calls(false),
            vec![vec![0], vec![1], vec![2], vec![3]]
        );
    }

    #[test]
    fn it_is_the_connection_once_it_had_its_turn() {
        let mut task = WritesTogether::new(std::future::ready(5));
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        assert_eq!(Pin::new(&mut task).poll(&mut cx), Poll::Pending);
        assert_eq!(Pin::new(&mut task).poll(&mut cx), Poll::Ready(5));
    }
}
