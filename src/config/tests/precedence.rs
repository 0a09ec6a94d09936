//! Where each setting comes from: defaults, options, the environment, and their precedence.
use super::*;

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
    assert!(c.pipeline_quick);
    assert_eq!(c.max_prepared_statements, 256);
    assert_eq!(c.leak_detection_threshold, None);
    assert_eq!(c.busy_poll, Duration::from_micros(200));
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
        hosts: None,
        target_session_attrs: Some("prefer-standby".into()),
        load_balance_hosts: Some("random".into()),
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
        pgbouncer: Some(false),
        pipeline_quick_queries: Some(false),
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
    assert_eq!(
        c.topology.session_attrs,
        crate::config::topology::SessionAttrs::PreferStandby
    );
    assert!(c.topology.random);
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
    assert!(!c.pipeline_quick);
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
