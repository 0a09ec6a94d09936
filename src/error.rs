//! The one error type of the core. It is converted to a JS shape once, at the napi edge
//! (`options::JsError`), where `code` becomes the SQLSTATE or a stable client code.
use std::fmt;

/// The fields a server error carries, named as node-postgres names them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerError {
    /// SQLSTATE, such as `23505`.
    pub code: String,
    /// The primary message.
    pub message: String,
    /// `ERROR`, `FATAL`, `PANIC` (localized by the server).
    pub severity: String,
    /// Optional secondary message.
    pub detail: Option<String>,
    /// Optional suggestion.
    pub hint: Option<String>,
    /// 1-based character position in the query text.
    pub position: Option<String>,
    /// Position in an internally generated query.
    pub internal_position: Option<String>,
    /// The internally generated query.
    pub internal_query: Option<String>,
    /// Context (call stack) of the error.
    pub r#where: Option<String>,
    /// Schema name.
    pub schema: Option<String>,
    /// Table name.
    pub table: Option<String>,
    /// Column name.
    pub column: Option<String>,
    /// Data type name.
    pub data_type: Option<String>,
    /// Constraint name.
    pub constraint: Option<String>,
    /// Server source file.
    pub file: Option<String>,
    /// Server source line.
    pub line: Option<String>,
    /// Server source routine.
    pub routine: Option<String>,
    /// The line of a COPY's data the error is about (from `where`: `COPY t, line 3, …`).
    pub copy_line: Option<u64>,
}

/// SQLSTATEs with which the server ends a backend before it runs anything more
/// (`admin_shutdown`, `crash_shutdown`, `cannot_connect_now`): a query that met one never ran.
pub const ENDED_BEFORE_RUNNING: [&str; 3] = ["57P01", "57P02", "57P03"];

/// The SQLSTATE of a statement ended by a cancel request (query_canceled).
pub const CANCELLED: &str = "57014";

/// Everything that can go wrong, each variant with its stable JS `code`.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// The server answered with an error; `code` is its SQLSTATE.
    Server(Box<ServerError>),
    /// The manager was closed (`POOL_CLOSED`).
    PoolClosed,
    /// `close()` passed its timeout and cut the call's connection (`POOL_CLOSED`).
    ClosedDuringCall,
    /// No connection became free in time (`POOL_TIMEOUT`).
    PoolTimeout(String),
    /// Connecting took longer than the connect timeout (`CONNECT_TIMEOUT`).
    ConnectTimeout(String),
    /// A query (such as the health check's) did not finish within its deadline
    /// (`QUERY_TIMEOUT`).
    QueryTimeout(String),
    /// A connection could not be opened; the code is the OS error name when there is one
    /// (`ECONNREFUSED`, `ENOENT`, …) or `CONNECTION_ERROR`.
    Connect {
        /// Stable code.
        code: &'static str,
        /// What happened and what to do.
        message: String,
    },
    /// Setting up a connection failed in a way its message explains with the setting to change:
    /// TLS (`TLS_NOT_SUPPORTED`, `TLS_UNKNOWN_CA`, `TLS_HOSTNAME_MISMATCH`, `TLS_CERT_EXPIRED`,
    /// `TLS_CLIENT_CERT_REJECTED`, `TLS_HANDSHAKE_FAILED`), `CHANNEL_BINDING_UNAVAILABLE`, or a
    /// port that does not speak PostgreSQL (`CONNECTION_ERROR`).
    Handshake {
        /// Stable code.
        code: &'static str,
        /// What happened, where, and what to change.
        message: String,
    },
    /// The circuit breaker is open: calls that need a new connection fail at once
    /// (`DATABASE_UNAVAILABLE`).
    DatabaseUnavailable(String),
    /// The call's `AbortSignal` fired (`ABORT_ERR`, as Node names an `AbortError`).
    Aborted(String),
    /// The connection broke while it was in use (`CONNECTION_CLOSED`).
    ConnectionClosed(String),
    /// A call's arguments were wrong (`INVALID_ARGUMENT`).
    InvalidArgument(String),
    /// The options were wrong (`INVALID_CONFIG`).
    InvalidConfig(String),
    /// A value from the server could not be decoded (`DECODE_ERROR`).
    Decode(String),
    /// A result, or one of its values, is larger than JS can hold (`RESULT_TOO_LARGE`).
    ResultTooLarge(String),
    /// A bug or an unexpected protocol state (`INTERNAL_ERROR`).
    Internal(String),
    /// A client was used after `release()` (`CLIENT_RELEASED`).
    ClientReleased,
    /// Code that already holds a connection asked for another while none was free
    /// (`POOL_DEADLOCK`).
    PoolDeadlock(String),
    /// A manager query would open a transaction block on a pooled connection
    /// (`TRANSACTION_ON_POOL`).
    TransactionOnPool(String),
    /// COMMIT was asked of a transaction that an earlier error aborted (`25P02`, the SQLSTATE
    /// PostgreSQL gives every statement in such a transaction).
    TransactionAborted,
}

impl Error {
    /// The stable code JS sees: the SQLSTATE for server errors, SCREAMING_SNAKE otherwise.
    pub fn code(&self) -> &str {
        match self {
            Error::Server(e) => &e.code,
            Error::PoolClosed | Error::ClosedDuringCall => "POOL_CLOSED",
            Error::PoolTimeout(_) => "POOL_TIMEOUT",
            Error::ConnectTimeout(_) => "CONNECT_TIMEOUT",
            Error::QueryTimeout(_) => "QUERY_TIMEOUT",
            Error::Aborted(_) => "ABORT_ERR",
            Error::DatabaseUnavailable(_) => "DATABASE_UNAVAILABLE",
            Error::Connect { code, .. } | Error::Handshake { code, .. } => code,
            Error::ConnectionClosed(_) => "CONNECTION_CLOSED",
            Error::InvalidArgument(_) => "INVALID_ARGUMENT",
            Error::InvalidConfig(_) => "INVALID_CONFIG",
            Error::Decode(_) => "DECODE_ERROR",
            Error::ResultTooLarge(_) => "RESULT_TOO_LARGE",
            Error::Internal(_) => "INTERNAL_ERROR",
            Error::ClientReleased => "CLIENT_RELEASED",
            Error::PoolDeadlock(_) => "POOL_DEADLOCK",
            Error::TransactionOnPool(_) => "TRANSACTION_ON_POOL",
            Error::TransactionAborted => "25P02",
        }
    }

    /// An `INVALID_ARGUMENT` error.
    pub fn argument(message: impl Into<String>) -> Self {
        Error::InvalidArgument(message.into())
    }

    /// An `INVALID_CONFIG` error.
    pub fn config(message: impl Into<String>) -> Self {
        Error::InvalidConfig(message.into())
    }

    /// True when the connection that produced this error can no longer be used.
    pub fn is_connection_fatal(&self) -> bool {
        matches!(
            self,
            Error::ConnectionClosed(_) | Error::Connect { .. } | Error::Handshake { .. }
        ) || matches!(self, Error::Server(e) if e.severity == "FATAL" || e.severity == "PANIC")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Server(e) => f.write_str(&e.message),
            Error::PoolClosed => f.write_str(
                "the pool is closed: create a new DatabaseManager instead of using one after close()",
            ),
            Error::ClosedDuringCall => f.write_str(
                "the pool was closed while this call ran: close({ timeoutMillis }) passed its \
                 timeout, so the statement was cancelled and its connection closed; it may or may \
                 not have been applied",
            ),
            Error::ClientReleased => f.write_str(
                "the client was released: get a new one with getClient() for more queries",
            ),
            Error::TransactionAborted => f.write_str(
                "the transaction was aborted by an earlier error, so it was rolled back instead of \
                 committed: handle the failing statement (or use a SAVEPOINT) before committing",
            ),
            Error::PoolTimeout(m)
            | Error::PoolDeadlock(m)
            | Error::TransactionOnPool(m)
            | Error::ConnectTimeout(m)
            | Error::QueryTimeout(m)
            | Error::Aborted(m)
            | Error::DatabaseUnavailable(m)
            | Error::ConnectionClosed(m)
            | Error::InvalidArgument(m)
            | Error::InvalidConfig(m)
            | Error::Decode(m)
            | Error::ResultTooLarge(m)
            | Error::Internal(m) => f.write_str(m),
            Error::Connect { message, .. } | Error::Handshake { message, .. } => {
                f.write_str(message)
            }
        }
    }
}

impl std::error::Error for Error {}

/// The name Node uses for an OS error number, for the errors a connect attempt commonly meets.
fn errno_name(errno: i32) -> Option<&'static str> {
    // Linux errno values (asm-generic/errno.h); Node reports these names as `code`.
    Some(match errno {
        2 => "ENOENT",
        13 => "EACCES",
        101 => "ENETUNREACH",
        104 => "ECONNRESET",
        110 => "ETIMEDOUT",
        111 => "ECONNREFUSED",
        113 => "EHOSTUNREACH",
        _ => return None,
    })
}

impl ServerError {
    /// The fields of an error or notice the server sent.
    pub fn of(db: &tokio_postgres::error::DbError) -> ServerError {
        ServerError {
            code: db.code().code().to_owned(),
            message: db.message().to_owned(),
            severity: db.severity().to_owned(),
            detail: db.detail().map(str::to_owned),
            hint: db.hint().map(str::to_owned),
            position: db.position().map(|p| match p {
                tokio_postgres::error::ErrorPosition::Original(n) => n.to_string(),
                tokio_postgres::error::ErrorPosition::Internal { position, .. } => {
                    position.to_string()
                }
            }),
            internal_position: None,
            internal_query: match db.position() {
                Some(tokio_postgres::error::ErrorPosition::Internal { query, .. }) => {
                    Some(query.clone())
                }
                _ => None,
            },
            r#where: db.where_().map(str::to_owned),
            schema: db.schema().map(str::to_owned),
            table: db.table().map(str::to_owned),
            column: db.column().map(str::to_owned),
            data_type: db.datatype().map(str::to_owned),
            constraint: db.constraint().map(str::to_owned),
            file: db.file().map(str::to_owned),
            line: db.line().map(|l| l.to_string()),
            routine: db.routine().map(str::to_owned),
            copy_line: None,
        }
    }
}

impl From<tokio_postgres::Error> for Error {
    fn from(e: tokio_postgres::Error) -> Self {
        if let Some(db) = e.as_db_error() {
            return Error::Server(Box::new(ServerError::of(db)));
        }
        if e.is_closed() {
            return Error::ConnectionClosed(
                "the connection to the server was closed while the query ran; the query may or may \
                 not have been applied"
                    .into(),
            );
        }
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            if let Some(io) = s.downcast_ref::<std::io::Error>() {
                let code = io
                    .raw_os_error()
                    .and_then(errno_name)
                    .unwrap_or("CONNECTION_ERROR");
                return Error::Connect {
                    code,
                    message: format!("could not connect to the server: {io}"),
                };
            }
            source = s.source();
        }
        Error::Connect {
            code: "CONNECTION_ERROR",
            message: format!("database connection error: {e}"),
        }
    }
}

/// The result type of the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_codes_are_stable() {
        assert_eq!(Error::PoolClosed.code(), "POOL_CLOSED");
        assert_eq!(Error::argument("x").code(), "INVALID_ARGUMENT");
        assert_eq!(Error::config("x").code(), "INVALID_CONFIG");
        assert_eq!(errno_name(111), Some("ECONNREFUSED"));
        assert_eq!(Error::ClientReleased.code(), "CLIENT_RELEASED");
        assert_eq!(Error::PoolDeadlock(String::new()).code(), "POOL_DEADLOCK");
    }

    #[test]
    fn server_errors_keep_their_sqlstate() {
        let e = Error::Server(Box::new(ServerError {
            code: "23505".into(),
            ..Default::default()
        }));
        assert_eq!(e.code(), "23505");
    }
}
