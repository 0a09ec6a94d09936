//! Where a connection stands with respect to a transaction block, known without asking the
//! server: the commands of the statements it runs say so (`BEGIN` opens, `COMMIT` closes, a server
//! error inside aborts), and what cannot be known (a procedure, a failed string of several
//! statements) counts as perhaps open.
use crate::error::{Error, Result};
use crate::result::ResultSet;
use crate::split::{self, controls_transaction, Statement};

/// Where a connection stands with respect to a transaction block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxState {
    /// No transaction block: each statement commits on its own.
    Idle,
    /// Inside a transaction block.
    Open,
    /// Inside a transaction block that an error aborted: only ROLLBACK helps.
    Aborted,
    /// Perhaps inside a transaction block; treated as open.
    Unknown,
}

/// How a query ended, as far as the transaction state cares.
#[derive(Clone, Copy)]
pub(crate) enum Ran {
    /// The server ran every statement.
    Done,
    /// The server refused a statement.
    Refused,
    /// Nothing reached the server.
    NotSent,
    /// Anything else: the connection broke, or a string of statements stopped part way.
    Unclear,
}

impl Ran {
    pub(crate) fn of(outcome: &Result<Vec<ResultSet>>) -> Ran {
        match outcome {
            // A value that failed to decode, or to fit in JS, arrived after its statement had run.
            Ok(_) | Err(Error::Decode(_) | Error::ResultTooLarge(_)) => Ran::Done,
            Err(Error::Server(_)) => Ran::Refused,
            Err(Error::InvalidArgument(_)) => Ran::NotSent,
            Err(_) => Ran::Unclear,
        }
    }
}

impl TxState {
    /// The state once `sql` has run with `outcome`. A query that ran one statement whose command
    /// never changes the state (nearly every query) leaves it as it was without lexing `sql`
    /// again: its result names the command the query path found (lexing it again was 3 % of a
    /// transaction's instructions in W4 of the benchmark).
    pub(crate) fn after_outcome(
        self,
        sql: &str,
        has_params: bool,
        outcome: &Result<Vec<ResultSet>>,
    ) -> TxState {
        if let Ok(
            [ResultSet {
                command: Some(command),
                ..
            }],
        ) = outcome.as_deref()
        {
            if !controls_transaction(command) && !split::may_control_transaction(command) {
                return self;
            }
        }
        self.after(sql, has_params, Ran::of(outcome))
    }

    /// The state once `sql` (with `has_params` telling whether values came with it) has run.
    /// It follows `query::execute`: without values, several statements run as the server's
    /// simple protocol runs them, in one implicit transaction that their own transaction control
    /// statements can end or turn into a transaction block; any other query is one statement.
    pub(crate) fn after(self, sql: &str, has_params: bool, ran: Ran) -> TxState {
        let statements = split::split(sql);
        let Some(first) = statements.first() else {
            return self;
        };
        if has_params || statements.len() == 1 {
            return match ran {
                Ran::Done => self.succeeded(first),
                Ran::Refused => self.failed(&first.command),
                Ran::NotSent => self,
                Ran::Unclear => TxState::Unknown,
            };
        }
        let wrapped =
            self == TxState::Idle && !statements.iter().any(|s| controls_transaction(&s.command));
        match ran {
            // The server's implicit transaction: committed, or rolled back by the failure.
            Ran::Done | Ran::Refused | Ran::NotSent if wrapped => TxState::Idle,
            Ran::Done => statements.iter().fold(self, TxState::succeeded),
            // Which statement stopped the string is not known, nor whether its ROLLBACK worked.
            _ => TxState::Unknown,
        }
    }

    /// The state after `statement` succeeded.
    fn succeeded(self, statement: &Statement<'_>) -> TxState {
        match statement.command.as_str() {
            "BEGIN" | "START" => return TxState::Open,
            command if split::may_control_transaction(command) => return TxState::Unknown,
            "COMMIT" | "ROLLBACK" | "PREPARE" => {}
            // Any other statement leaves the state as it was (and needs no more lexing).
            _ => return self,
        }
        // The words after the command, e.g. `TO` in `ROLLBACK TO s`, `AND CHAIN` in `COMMIT AND
        // CHAIN`; at most four matter.
        let rest: Vec<String> = split::words(statement.text)
            .skip(1)
            .take(4)
            .map(str::to_ascii_uppercase)
            .collect();
        let next = |i: usize| rest.get(i).map(String::as_str);
        let after_noise = match next(0) {
            Some("WORK" | "TRANSACTION") => next(1),
            other => other,
        };
        let chained = rest.iter().any(|w| w == "CHAIN") && !rest.iter().any(|w| w == "NO");
        match statement.command.as_str() {
            // COMMIT PREPARED and ROLLBACK PREPARED run outside any transaction block.
            "COMMIT" | "ROLLBACK" if next(0) == Some("PREPARED") => self,
            "ROLLBACK" if after_noise == Some("TO") => match self {
                TxState::Aborted => TxState::Open,
                other => other,
            },
            "COMMIT" | "ROLLBACK" if chained => TxState::Open,
            "COMMIT" | "ROLLBACK" => TxState::Idle,
            // PREPARE TRANSACTION hands the transaction over to two-phase commit.
            "PREPARE" if next(0) == Some("TRANSACTION") => TxState::Idle,
            _ => self,
        }
    }

    /// The state after the server refused a statement whose command is `command`.
    fn failed(self, command: &str) -> TxState {
        match (self, command) {
            // Outside a block, a failed statement rolls back only itself.
            (TxState::Idle, _) => TxState::Idle,
            // A failed COMMIT usually rolls back, a failed ROLLBACK TO leaves the block aborted.
            (_, "COMMIT" | "ROLLBACK" | "PREPARE") => TxState::Unknown,
            (TxState::Open, _) => TxState::Aborted,
            (state, _) => state,
        }
    }
}

/// Whether `sql`, run on a connection outside any transaction block, leaves one open when every
/// statement succeeds (`BEGIN`, `BEGIN; INSERT …`): on a pool, where the next query may take
/// another connection, it can never do what its caller means.
///
/// Every manager query asks, so a text without the word BEGIN or START in any case (nearly every
/// one) is answered without lexing it.
pub fn opens_block(sql: &str, has_params: bool) -> bool {
    let may_open = sql
        .as_bytes()
        .windows(5)
        .any(|w| w.eq_ignore_ascii_case(b"BEGIN") || w.eq_ignore_ascii_case(b"START"));
    may_open && TxState::Idle.after(sql, has_params, Ran::Done) == TxState::Open
}

/// Whether `sql`, run outside any transaction block with `outcome`, may have left one open (a
/// string holding `BEGIN` that failed after it): its connection must be rolled back before
/// anyone else uses it.
pub fn may_leave_open(sql: &str, has_params: bool, outcome: &Result<Vec<ResultSet>>) -> bool {
    let opens = |s: &Statement<'_>| matches!(s.command.as_str(), "BEGIN" | "START");
    split::split(sql).iter().any(opens)
        && TxState::Idle.after_outcome(sql, has_params, outcome) != TxState::Idle
}

#[cfg(test)]
mod tests {
    use super::*;
    use TxState::*;

    /// The state after each of `steps` (SQL and how it ran) starting from `from`.
    fn run(from: TxState, steps: &[(&str, Ran)]) -> TxState {
        steps
            .iter()
            .fold(from, |state, &(sql, ran)| state.after(sql, false, ran))
    }

    fn ok(from: TxState, sql: &str) -> TxState {
        from.after(sql, false, Ran::Done)
    }

    fn err(from: TxState, sql: &str) -> TxState {
        from.after(sql, false, Ran::Refused)
    }

    /// An outcome of one result per command.
    fn results(commands: &[&str]) -> Result<Vec<ResultSet>> {
        Ok(commands
            .iter()
            .map(|c| ResultSet {
                command: Some(c.to_string()),
                row_count: None,
                fields: vec![],
                columns: vec![],
                rows: 0,
            })
            .collect())
    }

    #[test]
    fn an_outcome_of_one_plain_statement_keeps_the_state_and_others_are_lexed() {
        for state in [Idle, Open, Aborted, Unknown] {
            let select = results(&["SELECT"]);
            assert_eq!(state.after_outcome("SELECT $1", true, &select), state);
        }
        assert_eq!(
            Open.after_outcome("COMMIT", false, &results(&["COMMIT"])),
            Idle
        );
        assert_eq!(
            Idle.after_outcome("BEGIN", false, &results(&["BEGIN"])),
            Open
        );
        assert_eq!(
            Open.after_outcome("CALL p()", false, &results(&["CALL"])),
            Unknown
        );
        let two = results(&["BEGIN", "SELECT"]);
        assert_eq!(Idle.after_outcome("BEGIN; SELECT 1", false, &two), Open);
        let failed = Err(Error::Server(Box::default()));
        assert_eq!(Open.after_outcome("SELECT 1/0", false, &failed), Aborted);
    }

    #[test]
    fn begin_and_its_spellings_open() {
        for sql in [
            "BEGIN",
            "begin isolation level serializable",
            "START TRANSACTION READ ONLY",
        ] {
            assert_eq!(ok(Idle, sql), Open, "{sql}");
        }
        assert_eq!(ok(Open, "BEGIN"), Open, "a second BEGIN only warns");
    }

    #[test]
    fn commit_rollback_and_their_spellings_close() {
        for sql in [
            "COMMIT",
            "end",
            "ROLLBACK",
            "abort",
            "commit work",
            "ROLLBACK TRANSACTION",
        ] {
            assert_eq!(ok(Open, sql), Idle, "{sql}");
            assert_eq!(ok(Aborted, sql), Idle, "{sql}");
            assert_eq!(ok(Unknown, sql), Idle, "{sql}");
        }
        assert_eq!(ok(Open, "COMMIT AND NO CHAIN"), Idle);
    }

    #[test]
    fn chained_commits_and_savepoint_rollbacks_stay_open() {
        assert_eq!(ok(Open, "COMMIT AND CHAIN"), Open);
        assert_eq!(ok(Aborted, "ROLLBACK WORK AND CHAIN"), Open);
        assert_eq!(ok(Aborted, "ROLLBACK TO SAVEPOINT s"), Open);
        assert_eq!(ok(Aborted, "rollback transaction to s"), Open);
        assert_eq!(ok(Open, "ROLLBACK /* to */ TO s"), Open);
        assert_eq!(ok(Open, "SAVEPOINT s"), Open);
        assert_eq!(ok(Open, "RELEASE SAVEPOINT s"), Open);
        assert_eq!(ok(Unknown, "ROLLBACK TO s"), Unknown);
    }

    #[test]
    fn two_phase_commit() {
        assert_eq!(ok(Open, "PREPARE TRANSACTION 'to'"), Idle);
        assert_eq!(ok(Idle, "COMMIT PREPARED 'to'"), Idle);
        assert_eq!(ok(Idle, "ROLLBACK PREPARED 'x'"), Idle);
        // PREPARE of a statement is not PREPARE TRANSACTION, whatever the statement says.
        assert_eq!(ok(Open, "PREPARE q AS SELECT transaction FROM t"), Open);
    }

    #[test]
    fn other_statements_keep_the_state() {
        for state in [Idle, Open, Unknown] {
            for sql in [
                "SELECT 1",
                "INSERT INTO t VALUES (1)",
                "SET x = 1",
                "",
                "-- nothing",
            ] {
                assert_eq!(ok(state, sql), state, "{sql}");
            }
        }
    }

    #[test]
    fn procedures_and_do_blocks_are_unknown() {
        assert_eq!(ok(Idle, "CALL p()"), Unknown);
        assert_eq!(ok(Open, "DO $$ BEGIN COMMIT; END $$"), Unknown);
    }

    #[test]
    fn server_errors_abort_an_open_transaction_only() {
        assert_eq!(err(Idle, "SELECT 1/0"), Idle);
        assert_eq!(err(Open, "SELECT 1/0"), Aborted);
        assert_eq!(err(Aborted, "SELECT 1"), Aborted);
        assert_eq!(err(Unknown, "SELECT 1"), Unknown);
        assert_eq!(err(Idle, "BEGIN ISOLATION LEVEL nonsense"), Idle);
        // A failed COMMIT usually rolled back, but not always: a failed ROLLBACK TO did not.
        assert_eq!(err(Open, "COMMIT"), Unknown);
        assert_eq!(err(Aborted, "ROLLBACK TO s"), Unknown);
    }

    #[test]
    fn values_make_one_statement_and_errors_before_sending_change_nothing() {
        assert_eq!(Idle.after("BEGIN; SELECT $1", true, Ran::Refused), Idle);
        assert_eq!(Open.after("SELECT $1", true, Ran::Done), Open);
        assert_eq!(Open.after("SELECT $1", true, Ran::NotSent), Open);
        assert_eq!(Open.after("SELECT 1", false, Ran::Unclear), Unknown);
    }

    #[test]
    fn several_statements() {
        // Idle and without transaction control: their own transaction, committed or rolled back.
        assert_eq!(ok(Idle, "INSERT INTO t VALUES (1); SELECT 1"), Idle);
        assert_eq!(ok(Idle, "CALL p(); SELECT 1"), Idle);
        // With transaction control, statement by statement.
        assert_eq!(ok(Idle, "BEGIN; INSERT INTO t VALUES (1)"), Open);
        assert_eq!(ok(Idle, "BEGIN; INSERT INTO t VALUES (1); COMMIT"), Idle);
        assert_eq!(ok(Open, "COMMIT; BEGIN"), Open);
        // Inside a transaction they run in it.
        assert_eq!(ok(Open, "INSERT INTO t VALUES (1); SELECT 1"), Open);
        // Outside a block, their implicit transaction rolls back; inside, which failed is not known.
        assert_eq!(err(Idle, "SELECT 1; SELECT 1/0"), Idle);
        assert_eq!(err(Open, "SELECT 1; SELECT 1/0"), Unknown);
        assert_eq!(
            run(
                Idle,
                &[("BEGIN; SELECT 1", Ran::Done), ("COMMIT", Ran::Done)]
            ),
            Idle
        );
    }

    #[test]
    fn what_a_pool_query_may_leave_open() {
        assert!(opens_block("BEGIN", false));
        assert!(opens_block(
            "INSERT INTO t VALUES (1); BEGIN; INSERT INTO t VALUES (2)",
            false
        ));
        assert!(!opens_block(
            "BEGIN; INSERT INTO t VALUES (1); COMMIT",
            false
        ));
        assert!(!opens_block("COMMIT", false));
        assert!(!opens_block("SELECT 1; SELECT 2", false));
        let failed = Err(Error::Server(Box::default()));
        assert!(may_leave_open("BEGIN; SELECT 1/0; COMMIT", false, &failed));
        assert!(!may_leave_open("SELECT 1/0", false, &failed));
        assert!(!may_leave_open("SELECT 1; SELECT 1/0", false, &failed));
        let timed_out = Err(Error::QueryTimeout(String::new()));
        assert!(!may_leave_open("SELECT pg_sleep(1)", false, &timed_out));
        assert!(may_leave_open(
            "BEGIN; SELECT pg_sleep(1)",
            false,
            &timed_out
        ));
    }
}
