//! The environment table, logging, profiles and keepalive.
use super::*;

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
        &PGBOUNCER,
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
        &TARGET_SESSION_ATTRS,
        &LOAD_BALANCE_HOSTS,
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
