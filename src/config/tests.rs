//! Unit tests of the resolver: every option and variable, precedence, parsing, messages.
use super::*;
use tokio_postgres::config::SslMode;

/// A password no message may contain.
const SECRET: &str = "S3cret-pw";

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn url(text: &str) -> Options {
    Options {
        connection_string: Some(text.into()),
        ..Default::default()
    }
}

fn ok(options: &Options, pairs: &[(&str, &str)]) -> Config {
    resolve(options, &env(pairs)).unwrap_or_else(|e| panic!("{e}"))
}

/// The message of the `INVALID_CONFIG` error `resolve` gives, checked for the password.
fn error(options: &Options, pairs: &[(&str, &str)]) -> String {
    let e = resolve(options, &env(pairs)).expect_err("should be invalid");
    assert_eq!(e.code(), "INVALID_CONFIG");
    let message = e.to_string();
    assert!(!message.contains(SECRET), "leaks the password: {message}");
    assert!(
        !message.contains("S3cret"),
        "leaks part of the password: {message}"
    );
    message
}

fn tcp(host: &str) -> Host {
    Host::Tcp(host.into())
}

fn unix(path: &str) -> Host {
    Host::Unix(path.into())
}

#[test]
fn defaults_apply_when_nothing_is_set() {
    let c = ok(&Options::default(), &[]);
    assert_eq!(c.pg.get_hosts(), [tcp("localhost")]);
    assert_eq!(c.pg.get_ports(), [5432]);
    assert_eq!(c.pg.get_user(), Some("postgres"));
    assert_eq!(c.pg.get_dbname(), Some("postgres"));
    assert_eq!(c.pg.get_password(), None);
    assert_eq!(c.pg.get_application_name(), Some("pg-rust-pool"));
    assert_eq!(c.pg.get_options(), None);
    assert_eq!(c.pg.get_ssl_mode(), SslMode::Prefer);
    assert_eq!((c.max, c.min), (10, 2));
    assert_eq!(c.profile, "development");
    assert_eq!(c.connection_timeout, Some(Duration::from_secs(30)));
    assert!(c.statement_cache);
    assert_eq!(c.max_prepared_statements, 256);
    assert_eq!(c.leak_detection_threshold, None);
    assert_eq!(c.busy_poll, Duration::from_micros(100));
}

#[test]
fn the_user_defaults_to_user_and_the_database_to_the_user() {
    let c = ok(&Options::default(), &[("USER", "alice")]);
    assert_eq!(c.pg.get_user(), Some("alice"));
    assert_eq!(c.pg.get_dbname(), Some("alice"));
    let c = ok(&Options::default(), &[("USER", "alice"), ("PGUSER", "bob")]);
    assert_eq!(c.pg.get_user(), Some("bob"));
    assert_eq!(c.pg.get_dbname(), Some("bob"));
}

#[test]
fn every_option_is_used() {
    let options = Options {
        host: Some("db.example".into()),
        port: Some(6543.0),
        database: Some("app".into()),
        user: Some("me".into()),
        password: Some(SECRET.into()),
        max: Some(20.0),
        min: Some(2.0),
        application_name: Some("api".into()),
        connection_timeout_millis: Some(1500.0),
        statement_timeout: Some(250.0),
        statement_cache: Some(false),
        max_prepared_statements: Some(32.0),
        leak_detection_threshold: Some(5000.0),
        connection_string: None,
        idle_timeout_millis: Some(500.0),
        max_lifetime_seconds: Some(60.0),
        max_uses: Some(7.0),
        keep_alive: Some(true),
        keep_alive_initial_delay_millis: Some(1500.0),
        server_settings: vec![("search_path".into(), "a b\\c".into())],
        name: Some("main".into()),
        log_level: Some("debug".into()),
        slow_query_millis: Some(50.0),
        log_parameters: Some(true),
        busy_poll_micros: Some(0.0),
        query_timeout_millis: Some(750.0),
        tcp_user_timeout_millis: Some(4000.0),
        circuit_breaker: Some(Some((Some(2.0), None))),
        cancel_timeout_millis: Some(1000.0),
        tls: tls::TlsOptions {
            sslmode: Some("verify-full".into()),
            sslrootcert: Some("/etc/ca.pem".into()),
            ..Default::default()
        },
    };
    let c = ok(&options, &[]);
    assert_eq!(c.tls.mode, tls::SslMode::VerifyFull);
    assert_eq!(c.pg.get_ssl_mode(), SslMode::Require);
    assert_eq!(c.name.as_deref(), Some("main"));
    assert_eq!(c.log.level, Some(tracing::Level::DEBUG));
    assert_eq!(c.idle_timeout, Some(Duration::from_millis(500)));
    assert_eq!(c.max_lifetime, Some(Duration::from_secs(60)));
    assert_eq!(c.max_uses, 7);
    assert!(c.pg.get_keepalives());
    assert_eq!(c.pg.get_keepalives_idle(), Duration::from_secs(2));
    assert_eq!(c.pg.get_hosts(), [tcp("db.example")]);
    assert_eq!(c.pg.get_ports(), [6543]);
    assert_eq!(c.pg.get_dbname(), Some("app"));
    assert_eq!(c.pg.get_user(), Some("me"));
    assert_eq!(c.pg.get_password(), Some(SECRET.as_bytes()));
    assert_eq!(c.pg.get_application_name(), Some("api"));
    assert_eq!(
        c.pg.get_options(),
        Some("-c search_path=a\\ b\\\\c -c statement_timeout=250")
    );
    assert_eq!((c.max, c.min), (20, 2));
    assert_eq!(c.connection_timeout, Some(Duration::from_millis(1500)));
    assert!(!c.statement_cache);
    assert_eq!(c.max_prepared_statements, 32);
    assert_eq!(c.leak_detection_threshold, Some(Duration::from_secs(5)));
    assert_eq!(c.busy_poll, Duration::ZERO);
    assert_eq!(c.query_timeout, Some(Duration::from_millis(750)));
    assert_eq!(c.cancel_timeout, Duration::from_secs(1));
    assert_eq!(c.pg.get_tcp_user_timeout(), Some(&Duration::from_secs(4)));
    let circuit = c.circuit.expect("on");
    assert_eq!(circuit.failure_threshold, 2);
    assert_eq!(circuit.reset_timeout, Duration::from_secs(10));
}

#[test]
fn zero_timeouts_mean_no_limit() {
    let c = ok(
        &Options {
            connection_timeout_millis: Some(0.0),
            statement_timeout: Some(0.0),
            ..Default::default()
        },
        &[],
    );
    assert_eq!(c.connection_timeout, None);
    // Sent explicitly: 0 overrides a statement_timeout set on the role or database.
    assert_eq!(c.pg.get_options(), Some("-c statement_timeout=0"));
}

#[test]
fn every_environment_variable_is_used() {
    let none = Options::default();
    let c = ok(
        &none,
        &[
            ("DB_HOST", "dbhost"),
            ("DB_PORT", "7001"),
            ("DB_NAME", "dbname"),
            ("DB_USER", "dbuser"),
            ("DB_PASSWORD", SECRET),
            ("DB_APPLICATION_NAME", "dbapp"),
            ("DB_POOL_MAX", "30"),
            ("DB_POOL_MIN", "3"),
            ("DB_TIMEOUT", "4000"),
            ("DB_STATEMENT_TIMEOUT", "5000"),
            ("DB_LEAK_DETECTION_THRESHOLD", "6000"),
        ],
    );
    assert_eq!(c.pg.get_hosts(), [tcp("dbhost")]);
    assert_eq!(c.pg.get_ports(), [7001]);
    assert_eq!(c.pg.get_dbname(), Some("dbname"));
    assert_eq!(c.pg.get_user(), Some("dbuser"));
    assert_eq!(c.pg.get_password(), Some(SECRET.as_bytes()));
    assert_eq!(c.pg.get_application_name(), Some("dbapp"));
    assert_eq!((c.max, c.min), (30, 3));
    assert_eq!(c.connection_timeout, Some(Duration::from_secs(4)));
    assert_eq!(c.pg.get_options(), Some("-c statement_timeout=5000"));
    assert_eq!(c.leak_detection_threshold, Some(Duration::from_secs(6)));

    let c = ok(
        &none,
        &[
            ("PGHOST", "pghost"),
            ("PGPORT", "7002"),
            ("PGDATABASE", "pgdb"),
            ("PGUSER", "pguser"),
            ("PGPASSWORD", SECRET),
            ("PGAPPNAME", "pgapp"),
        ],
    );
    assert_eq!(c.pg.get_hosts(), [tcp("pghost")]);
    assert_eq!(c.pg.get_ports(), [7002]);
    assert_eq!(c.pg.get_dbname(), Some("pgdb"));
    assert_eq!(c.pg.get_user(), Some("pguser"));
    assert_eq!(c.pg.get_password(), Some(SECRET.as_bytes()));
    assert_eq!(c.pg.get_application_name(), Some("pgapp"));

    let c = ok(
        &none,
        &[("DATABASE_URL", "postgres://u:pw@urlhost:7003/urldb")],
    );
    assert_eq!(c.pg.get_hosts(), [tcp("urlhost")]);
    assert_eq!(c.pg.get_ports(), [7003]);
    assert_eq!(c.pg.get_dbname(), Some("urldb"));
    assert_eq!(c.pg.get_user(), Some("u"));
    assert_eq!(c.pg.get_password(), Some(&b"pw"[..]));
}

#[test]
fn environment_numbers_may_have_surrounding_spaces() {
    let c = ok(&Options::default(), &[("DB_POOL_MAX", " 12 ")]);
    assert_eq!(c.max, 12);
}

#[test]
fn empty_environment_variables_count_as_unset() {
    let c = ok(
        &Options::default(),
        &[
            ("DATABASE_URL", ""),
            ("DB_HOST", ""),
            ("PGHOST", "pghost"),
            ("DB_PORT", ""),
            ("DB_USER", ""),
            ("DB_PASSWORD", ""),
            ("DB_POOL_MAX", ""),
        ],
    );
    assert_eq!(c.pg.get_hosts(), [tcp("pghost")]);
    assert_eq!(c.pg.get_ports(), [5432]);
    assert_eq!(c.pg.get_user(), Some("postgres"));
    assert_eq!(c.pg.get_password(), None);
    assert_eq!(c.max, 10);
}

/// For each setting: with every source set, each one in turn wins once the ones above it are
/// removed: option > connection string > DB_* > PG* > default.
#[test]
fn precedence_is_option_then_url_then_db_then_pg_then_default() {
    type Get = fn(&Config) -> String;
    let host: Get = |c| host_text(&c.pg.get_hosts()[0]);
    let port: Get = |c| c.pg.get_ports()[0].to_string();
    let database: Get = |c| c.pg.get_dbname().unwrap().to_owned();
    let user: Get = |c| c.pg.get_user().unwrap().to_owned();
    let password: Get = |c| {
        c.pg.get_password()
            .map_or("-".into(), |p| String::from_utf8(p.to_vec()).unwrap())
    };
    let app: Get = |c| c.pg.get_application_name().unwrap().to_owned();
    let full = Options {
        connection_string: Some(
            "postgres://urluser:urlpw@urlhost:2/urldb?application_name=urlapp".into(),
        ),
        host: Some("opthost".into()),
        port: Some(1.0),
        database: Some("optdb".into()),
        user: Some("optuser".into()),
        password: Some("optpw".into()),
        application_name: Some("optapp".into()),
        ..Default::default()
    };
    let all_env = [
        ("DB_HOST", "dbhost"),
        ("PGHOST", "pghost"),
        ("DB_PORT", "3"),
        ("PGPORT", "4"),
        ("DB_NAME", "dbdb"),
        ("PGDATABASE", "pgdb"),
        ("DB_USER", "dbuser"),
        ("PGUSER", "pguser"),
        ("DB_PASSWORD", "dbpw"),
        ("PGPASSWORD", "pgpw"),
        ("DB_APPLICATION_NAME", "dbapp"),
        ("PGAPPNAME", "pgapp"),
    ];
    let rows: [(&str, Get, [&str; 5]); 6] = [
        (
            "host",
            host,
            ["opthost", "urlhost", "dbhost", "pghost", "localhost"],
        ),
        ("port", port, ["1", "2", "3", "4", "5432"]),
        (
            "database",
            database,
            ["optdb", "urldb", "dbdb", "pgdb", "postgres"],
        ),
        (
            "user",
            user,
            ["optuser", "urluser", "dbuser", "pguser", "postgres"],
        ),
        (
            "password",
            password,
            ["optpw", "urlpw", "dbpw", "pgpw", "-"],
        ),
        (
            "app",
            app,
            ["optapp", "urlapp", "dbapp", "pgapp", "pg-rust-pool"],
        ),
    ];
    for (name, get, expected) in rows {
        let mut options = full.clone();
        let mut pairs = all_env.to_vec();
        assert_eq!(get(&ok(&options, &pairs)), expected[0], "{name}: option");
        options = Options {
            connection_string: full.connection_string.clone(),
            ..Default::default()
        };
        assert_eq!(get(&ok(&options, &pairs)), expected[1], "{name}: url");
        options.connection_string = None;
        assert_eq!(get(&ok(&options, &pairs)), expected[2], "{name}: DB_*");
        pairs.retain(|(k, _)| !k.starts_with("DB_"));
        assert_eq!(get(&ok(&options, &pairs)), expected[3], "{name}: PG*");
        pairs.clear();
        assert_eq!(get(&ok(&options, &pairs)), expected[4], "{name}: default");
    }
}

#[test]
fn pool_settings_prefer_options_over_the_environment() {
    let pairs = [
        ("DB_POOL_MAX", "30"),
        ("DB_POOL_MIN", "3"),
        ("DB_TIMEOUT", "4000"),
        ("DB_STATEMENT_TIMEOUT", "5000"),
        ("DB_LEAK_DETECTION_THRESHOLD", "6000"),
    ];
    let c = ok(
        &Options {
            max: Some(5.0),
            min: Some(1.0),
            connection_timeout_millis: Some(100.0),
            statement_timeout: Some(200.0),
            leak_detection_threshold: Some(0.0),
            ..Default::default()
        },
        &pairs,
    );
    assert_eq!((c.max, c.min), (5, 1));
    assert_eq!(c.connection_timeout, Some(Duration::from_millis(100)));
    assert_eq!(c.pg.get_options(), Some("-c statement_timeout=200"));
    assert_eq!(c.leak_detection_threshold, None);
}

#[test]
fn connection_string_beats_database_url_and_fills_in_around_options() {
    let c = ok(
        &Options {
            connection_string: Some("postgres://a@h1/one".into()),
            database: Some("optdb".into()),
            ..Default::default()
        },
        &[("DATABASE_URL", "postgres://b@h2/two")],
    );
    assert_eq!(c.pg.get_user(), Some("a"));
    assert_eq!(c.pg.get_hosts(), [tcp("h1")]);
    assert_eq!(c.pg.get_dbname(), Some("optdb"));
    // What the URL leaves out comes from the environment.
    let c = ok(
        &url("postgres:///urldb"),
        &[("DB_HOST", "envhost"), ("PGUSER", "pg")],
    );
    assert_eq!(c.pg.get_hosts(), [tcp("envhost")]);
    assert_eq!(c.pg.get_user(), Some("pg"));
    assert_eq!(c.pg.get_dbname(), Some("urldb"));
}

#[test]
fn a_url_with_a_host_sets_the_port_like_tokio_postgres() {
    // tokio-postgres gives a URL host without a port 5432 (libpq would leave it unset).
    let c = ok(&url("postgres://h/db"), &[("DB_PORT", "6000")]);
    assert_eq!(c.pg.get_ports(), [5432]);
    let c = ok(&url("postgres:///db"), &[("DB_PORT", "6000")]);
    assert_eq!(c.pg.get_ports(), [6000]);
}

#[test]
fn urls_are_percent_decoded() {
    let c = ok(
        &url("postgresql://us%40er:p%40ss%3Aw%2Frd%25@host:5433/my%20db?application_name=my%20app"),
        &[],
    );
    assert_eq!(c.pg.get_user(), Some("us@er"));
    assert_eq!(c.pg.get_password(), Some(&b"p@ss:w/rd%"[..]));
    assert_eq!(c.pg.get_dbname(), Some("my db"));
    assert_eq!(c.pg.get_application_name(), Some("my app"));
    assert_eq!(c.pg.get_ports(), [5433]);
}

#[test]
fn url_parameters_are_used() {
    let c = ok(
        &url(
            "postgres://u@h/db?port=6001&application_name=qapp&options=-c%20search_path%3Dx\
             &connect_timeout=7&sslmode=require&target_session_attrs=read-write",
        ),
        &[],
    );
    assert_eq!(c.pg.get_ports(), [6001]);
    assert_eq!(c.pg.get_application_name(), Some("qapp"));
    assert_eq!(c.pg.get_options(), Some("-c search_path=x"));
    assert_eq!(c.connection_timeout, Some(Duration::from_secs(7)));
    assert_eq!(c.pg.get_ssl_mode(), SslMode::Require);
    assert_eq!(
        c.pg.get_target_session_attrs(),
        tokio_postgres::config::TargetSessionAttrs::ReadWrite
    );
    let c = ok(&url("postgres:///db?port=6001"), &[]);
    assert_eq!(c.pg.get_ports(), [6001]);
    let c = ok(&url("postgres://a:1,b:2/db?port=6001,6002"), &[]);
    assert_eq!(c.pg.get_ports(), [6001, 6002]);
    let c = ok(&url("postgres://a:1,b:2/db"), &[]);
    assert_eq!(c.pg.get_ports(), [1, 2]);
}

#[test]
fn unix_socket_hosts() {
    let c = ok(
        &Options {
            host: Some("/var/run/postgresql".into()),
            ..Default::default()
        },
        &[],
    );
    assert_eq!(c.pg.get_hosts(), [unix("/var/run/postgresql")]);
    let c = ok(&url("postgres:///db?host=/tmp"), &[]);
    assert_eq!(c.pg.get_hosts(), [unix("/tmp")]);
    assert_eq!(c.pg.get_dbname(), Some("db"));
    let c = ok(&url("postgresql://%2Ftmp/db"), &[]);
    assert_eq!(c.pg.get_hosts(), [unix("/tmp")]);
    let c = ok(&url("postgresql://%2Fvar%2Frun%2Fpostgresql:5433/db"), &[]);
    assert_eq!(c.pg.get_hosts(), [unix("/var/run/postgresql")]);
    assert_eq!(c.pg.get_ports(), [5433]);
    let c = ok(&url("host=/tmp dbname=db"), &[]);
    assert_eq!(c.pg.get_hosts(), [unix("/tmp")]);
    let c = ok(&Options::default(), &[("PGHOST", "/run/pg")]);
    assert_eq!(c.pg.get_hosts(), [unix("/run/pg")]);
    assert_eq!(describe(&c), "postgres@/run/pg:5432/postgres");
}

#[test]
fn key_value_strings() {
    let c = ok(
        &url(&format!(
            "host=kvhost port=6002 dbname='my db' user=kv password='{SECRET} x' \
             application_name=kvapp options='-c work_mem=4MB' connect_timeout=3"
        )),
        &[],
    );
    assert_eq!(c.pg.get_hosts(), [tcp("kvhost")]);
    assert_eq!(c.pg.get_ports(), [6002]);
    assert_eq!(c.pg.get_dbname(), Some("my db"));
    assert_eq!(c.pg.get_user(), Some("kv"));
    assert_eq!(c.pg.get_password(), Some(format!("{SECRET} x").as_bytes()));
    assert_eq!(c.pg.get_application_name(), Some("kvapp"));
    assert_eq!(c.pg.get_options(), Some("-c work_mem=4MB"));
    assert_eq!(c.connection_timeout, Some(Duration::from_secs(3)));
}

#[test]
fn several_hosts_from_a_url_are_kept() {
    let c = ok(&url("postgres://u@a:5433,b:5434,[::1]:5435/db"), &[]);
    assert_eq!(c.pg.get_hosts(), [tcp("a"), tcp("b"), tcp("::1")]);
    assert_eq!(c.pg.get_ports(), [5433, 5434, 5435]);
    assert_eq!(describe(&c), "u@a:5433,b:5434,::1:5435/db");
    // An explicit host replaces them all and takes the first port.
    let c = ok(
        &Options {
            host: Some("c".into()),
            ..url("postgres://u@a:5433,b:5434/db")
        },
        &[],
    );
    assert_eq!(c.pg.get_hosts(), [tcp("c")]);
    assert_eq!(c.pg.get_ports(), [5433]);
}

#[test]
fn statement_timeout_goes_where_its_precedence_says() {
    let text = "postgres:///db?options=-c%20statement_timeout%3D9%20-c%20search_path%3Dx";
    // An explicit option comes last, so the server applies it over the URL's.
    let c = ok(
        &Options {
            statement_timeout: Some(100.0),
            ..url(text)
        },
        &[],
    );
    assert_eq!(
        c.pg.get_options(),
        Some("-c statement_timeout=9 -c search_path=x -c statement_timeout=100")
    );
    // DB_STATEMENT_TIMEOUT comes first, so the URL's own setting wins.
    let c = ok(&url(text), &[("DB_STATEMENT_TIMEOUT", "200")]);
    assert_eq!(
        c.pg.get_options(),
        Some("-c statement_timeout=200 -c statement_timeout=9 -c search_path=x")
    );
}

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

#[test]
fn the_environment_table_lists_every_variable_read() {
    let settings = [
        &HOST,
        &PORT,
        &DATABASE,
        &USER,
        &PASSWORD,
        &APPLICATION_NAME,
        &MAX,
        &MIN,
        &CONNECTION_TIMEOUT,
        &STATEMENT_TIMEOUT,
        &MAX_PREPARED_STATEMENTS,
        &IDLE_TIMEOUT,
        &MAX_LIFETIME,
        &MAX_USES,
        &KEEP_ALIVE_DELAY,
        &LOG_LEVEL,
        &SLOW_QUERY,
        &LEAK_DETECTION_THRESHOLD,
        &QUERY_TIMEOUT,
        &CANCEL_TIMEOUT,
        &TCP_USER_TIMEOUT,
        &CIRCUIT_THRESHOLD,
        &CIRCUIT_RESET,
    ];
    let mut read: Vec<&str> = settings
        .iter()
        .flat_map(|s| s.env.iter().copied())
        .collect();
    read.extend([DATABASE_URL, OS_USER, NODE_ENV]);
    read.extend(tls::ENVIRONMENT);
    read.sort_unstable();
    let mut listed = ENVIRONMENT.to_vec();
    listed.sort_unstable();
    assert_eq!(read, listed);
    assert!(environment()
        .keys()
        .all(|k| ENVIRONMENT.contains(&k.as_str())));
}

#[test]
fn log_settings_come_from_the_option_then_log_level() {
    use tracing::Level;
    let c = ok(&Options::default(), &[]);
    assert_eq!(
        c.log,
        LogSettings {
            level: Some(Level::WARN),
            slow_query: None,
            parameters: false
        }
    );
    assert_eq!(
        ok(&Options::default(), &[("LOG_LEVEL", "TRACE")]).log.level,
        Some(Level::TRACE)
    );
    assert_eq!(
        ok(&Options::default(), &[("LOG_LEVEL", "silent")])
            .log
            .level,
        None
    );
    assert_eq!(
        ok(&Options::default(), &[("LOG_LEVEL", "verbose")])
            .log
            .level,
        Some(Level::DEBUG)
    );
    let o = Options {
        log_level: Some("error".into()),
        slow_query_millis: Some(50.0),
        log_parameters: Some(true),
        name: Some("main".into()),
        ..Default::default()
    };
    let c = ok(&o, &[("LOG_LEVEL", "trace")]);
    assert_eq!(c.log.level, Some(Level::ERROR));
    assert_eq!(c.log.slow_query, Some(Duration::from_millis(50)));
    assert!(c.log.parameters);
    assert_eq!(c.name.as_deref(), Some("main"));
    let o = Options {
        log_level: Some("loud".into()),
        ..Default::default()
    };
    assert!(error(&o, &[]).starts_with("`logLevel` must be 'error'"));
    assert!(error(&Options::default(), &[("LOG_LEVEL", "loud")]).starts_with("LOG_LEVEL must be"));
    let o = Options {
        slow_query_millis: Some(-1.0),
        ..Default::default()
    };
    assert!(error(&o, &[]).starts_with("`slowQueryMillis` must be"));
}

#[test]
fn node_env_chooses_the_profile_and_explicit_settings_win() {
    let c = ok(&Options::default(), &[("NODE_ENV", "production")]);
    assert_eq!((c.profile, c.min, c.max), ("production", 5, 20));
    assert_eq!(c.connection_timeout, Some(Duration::from_secs(60)));
    assert_eq!(c.idle_timeout, Some(Duration::from_secs(300)));
    let c = ok(
        &Options {
            max: Some(8.0),
            ..Default::default()
        },
        &[("NODE_ENV", "production"), ("DB_POOL_MIN", "1")],
    );
    assert_eq!((c.min, c.max), (1, 8));
    // A profile's `min` gives way to an explicit `max` below it.
    let c = ok(
        &Options {
            max: Some(1.0),
            ..Default::default()
        },
        &[],
    );
    assert_eq!((c.min, c.max), (1, 1));
    let c = ok(&Options::default(), &[("NODE_ENV", "test")]);
    assert_eq!(c.profile, "development");
}

#[test]
fn keepalive_probes_go_every_third_of_the_user_timeout() {
    assert_eq!(keepalive_interval(30_000), Duration::from_secs(10));
    assert_eq!(keepalive_interval(1_500), Duration::from_secs(1));
    assert_eq!(keepalive_interval(10), Duration::from_secs(1));
    assert_eq!(keepalive_interval(3_600_000), Duration::from_secs(75));
}
