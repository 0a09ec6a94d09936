//! When the LISTEN connection tries again after it was lost.
use std::time::Duration;

/// The wait after the first failed attempt. The first attempt after a loss is made at once: a
/// connection ended by `pg_terminate_backend` or a network blip finds the server there.
pub const FIRST: Duration = Duration::from_millis(100);

/// The longest wait between attempts: a server that comes back is listened to again within
/// this (plus one connect) of accepting connections, which keeps the gap in which notifications
/// are missed short. An attempt on a server that is down costs it one refused connection, two a
/// second at most.
pub const CAP: Duration = Duration::from_millis(500);

/// The waits between attempts: [`FIRST`], doubling, at most [`CAP`].
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { next: FIRST }
    }
}

impl Backoff {
    /// The wait after the attempt that just failed.
    pub fn next_wait(&mut self) -> Duration {
        let wait = self.next;
        self.next = (wait * 2).min(CAP);
        wait
    }

    /// Starts over, after a success.
    pub fn reset(&mut self) {
        self.next = FIRST;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_from_a_tenth_of_a_second_up_to_half_a_second() {
        let mut backoff = Backoff::default();
        let waits: Vec<u128> = (0..6).map(|_| backoff.next_wait().as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 500, 500, 500]);
        backoff.reset();
        assert_eq!(backoff.next_wait(), FIRST);
    }

    #[test]
    fn a_server_back_is_listened_to_again_within_the_cap() {
        // However long it was down, the next attempt is at most CAP away.
        let mut backoff = Backoff::default();
        assert!((0..100).all(|_| backoff.next_wait() <= CAP));
    }
}
