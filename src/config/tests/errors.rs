//! Refused settings: each message names the option or variable and never the password.
use super::*;

/// One change to default options.
type Change = fn(&mut Options);

/// Options with one change.
fn with(change: Change) -> Options {
    let mut options = Options::default();
    change(&mut options);
    options
}

#[test]
fn number_errors_name_the_option_and_the_range() {
    let ms = "must be a whole number of milliseconds from 0 to 2147483647";
    let cases: [(Change, String); 17] = [
        (
            |o| o.max = Some(0.0),
            "`max` must be an integer ≥ 1 (got 0)".into(),
        ),
        (
            |o| o.max = Some(1.5),
            "`max` must be an integer ≥ 1 (got 1.5)".into(),
        ),
        (
            |o| o.max = Some(f64::NAN),
            "`max` must be an integer ≥ 1 (got NaN)".into(),
        ),
        (
            |o| o.max = Some(f64::INFINITY),
            "`max` must be an integer ≥ 1 (got Infinity)".into(),
        ),
        (
            |o| o.max = Some(1e10),
            "`max` must be an integer from 1 to 4294967295 (got 10000000000)".into(),
        ),
        (
            |o| o.min = Some(-1.0),
            "`min` must be an integer ≥ 0 (got -1)".into(),
        ),
        (
            |o| o.port = Some(0.0),
            "`port` must be an integer from 1 to 65535 (got 0)".into(),
        ),
        (
            |o| o.port = Some(65536.0),
            "`port` must be an integer from 1 to 65535 (got 65536)".into(),
        ),
        (
            |o| o.port = Some(5432.5),
            "`port` must be an integer from 1 to 65535 (got 5432.5)".into(),
        ),
        (
            |o| o.connection_timeout_millis = Some(-1.0),
            format!("`connectionTimeoutMillis` {ms} (got -1)"),
        ),
        (
            |o| o.statement_timeout = Some(2147483648.0),
            format!("`statementTimeout` {ms} (got 2147483648)"),
        ),
        (
            |o| o.statement_timeout = Some(f64::NEG_INFINITY),
            format!("`statementTimeout` {ms} (got -Infinity)"),
        ),
        (
            |o| o.leak_detection_threshold = Some(-5.0),
            format!("`leakDetectionThreshold` {ms} (got -5)"),
        ),
        (
            |o| o.busy_poll_micros = Some(10001.0),
            "`busyPollMicros` must be a whole number of microseconds from 0 to 10000 (got 10001)"
                .into(),
        ),
        (
            |o| o.busy_poll_micros = Some(0.5),
            "`busyPollMicros` must be a whole number of microseconds from 0 to 10000 (got 0.5)"
                .into(),
        ),
        (
            |o| o.max_prepared_statements = Some(0.0),
            "`maxPreparedStatements` must be an integer ≥ 1 (got 0)".into(),
        ),
        (
            |o| (o.min, o.max) = (Some(5.0), Some(2.0)),
            "`min` (5) must not be greater than `max` (2): lower `min` or raise `max`".into(),
        ),
    ];
    for (change, message) in cases {
        assert_eq!(error(&with(change), &[]), message);
    }
}

#[test]
fn environment_errors_name_the_variable() {
    let ms = "must be a whole number of milliseconds from 0 to 2147483647";
    let min = "must not be greater than the default `max` (10): lower `min` or raise `max`";
    let cases = [
        (
            "DB_PORT",
            "abc",
            "DB_PORT must be an integer from 1 to 65535 (got \"abc\")".into(),
        ),
        (
            "PGPORT",
            "99999",
            "PGPORT must be an integer from 1 to 65535 (got \"99999\")".into(),
        ),
        (
            "DB_POOL_MAX",
            "0",
            "DB_POOL_MAX must be an integer ≥ 1 (got \"0\")".into(),
        ),
        (
            "DB_POOL_MIN",
            "-1",
            "DB_POOL_MIN must be an integer ≥ 0 (got \"-1\")".into(),
        ),
        (
            "DB_TIMEOUT",
            "1.5",
            format!("DB_TIMEOUT {ms} (got \"1.5\")"),
        ),
        (
            "DB_STATEMENT_TIMEOUT",
            "5s",
            format!("DB_STATEMENT_TIMEOUT {ms} (got \"5s\")"),
        ),
        (
            "DB_LEAK_DETECTION_THRESHOLD",
            "10s",
            format!("DB_LEAK_DETECTION_THRESHOLD {ms} (got \"10s\")"),
        ),
        ("DB_POOL_MIN", "11", format!("DB_POOL_MIN (11) {min}")),
    ];
    for (name, value, message) in cases {
        assert_eq!(error(&Options::default(), &[(name, value)]), message);
    }
    // A bad DB_PORT is an error even though PGPORT is fine: it is never silently skipped.
    assert!(
        error(&Options::default(), &[("DB_PORT", "x"), ("PGPORT", "5432")]).starts_with("DB_PORT")
    );
    // An option replaces a bad variable without reading it.
    let c = ok(
        &Options {
            max: Some(3.0),
            ..Default::default()
        },
        &[("DB_POOL_MAX", "x")],
    );
    assert_eq!(c.max, 3);
}

#[test]
fn empty_names_are_refused() {
    let cases: [(Change, &str); 3] = [
        (|o| o.host = Some(String::new()), "`host`"),
        (|o| o.user = Some(String::new()), "`user`"),
        (|o| o.database = Some(String::new()), "`database`"),
    ];
    for (change, name) in cases {
        assert_eq!(
            error(&with(change), &[]),
            format!("{name} must not be empty: leave it out to use the next source")
        );
    }
}

#[test]
fn connection_string_errors_never_quote_the_string() {
    let cases = [
        (
            String::new(),
            "`connectionString` is empty: expected postgres://",
        ),
        (
            format!("mysql://u:{SECRET}@h/db"),
            "`connectionString` must start with postgres:// or postgresql://",
        ),
        (
            format!("postgres://u:{SECRET}@h:port/db"),
            "`connectionString` has an invalid value for `port`",
        ),
        (
            format!("postgres://u:{SECRET}@h/db?sslmode=bogus"),
            "the sslmode in `connectionString` must be disable, allow, prefer, require, verify-ca \
             or verify-full (got \"bogus\")",
        ),
        (
            format!("postgres://u:{SECRET}@h/db?{SECRET}=1"),
            "`connectionString` has a parameter this driver does not know",
        ),
        (
            format!("postgres://u:{SECRET}@h/db?{SECRET}"),
            "`connectionString` is not a valid connection string",
        ),
        (
            format!("postgres://u:p@{SECRET}@h/db"),
            "`connectionString` has an `@` in its host",
        ),
        (
            format!("postgres://u:{SECRET}@h/db%FF"),
            "`connectionString` is not a valid connection string",
        ),
        (
            format!("host=h password='{SECRET}"),
            "`connectionString` is not a valid connection string",
        ),
        // tokio-postgres' own reason here quotes the character after the second "key".
        (
            format!("host=h password=x {SECRET} S3cret"),
            "`connectionString` is not a valid connection string",
        ),
        (
            format!("host=h password={SECRET} {SECRET}=x"),
            "`connectionString` has a parameter this driver does not know",
        ),
        (
            SECRET.to_owned(),
            "`connectionString` is not a valid connection string",
        ),
    ];
    for (text, start) in cases {
        let message = error(&url(&text), &[]);
        assert!(message.starts_with(start), "{text}: {message}");
    }
    let message = error(
        &Options::default(),
        &[("DATABASE_URL", &format!("postgres://u:{SECRET}@h:x/db"))],
    );
    assert_eq!(message, "DATABASE_URL has an invalid value for `port`");
    let message = error(&url(&format!("postgres://u:{SECRET}@h:0/db")), &[]);
    assert_eq!(
        message,
        "the port in `connectionString` must be an integer from 1 to 65535 (got 0)"
    );
}

#[test]
fn describe_and_debug_never_show_the_password() {
    for options in [
        Options {
            password: Some(SECRET.into()),
            ..Default::default()
        },
        url(&format!("postgres://me:{SECRET}@h:6000/db")),
        url(&format!("user=me password={SECRET} host=/tmp dbname=db")),
    ] {
        let c = ok(&options, &[]);
        let described = describe(&c);
        assert!(!described.contains(SECRET), "{described}");
        let debug = format!("{c:?}");
        assert!(!debug.contains(SECRET), "{debug}");
    }
    let c = ok(&url(&format!("postgres://me:{SECRET}@h:6000/db")), &[]);
    assert_eq!(describe(&c), "me@h:6000/db");
    let c = ok(&Options::default(), &[("PGPASSWORD", SECRET)]);
    assert_eq!(describe(&c), "postgres@localhost:5432/postgres");
}
