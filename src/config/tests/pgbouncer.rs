//! `pgbouncer`: where it is read from, what it turns off, and what it refuses.
use super::*;

fn on() -> Options {
    Options {
        pgbouncer: Some(true),
        ..Default::default()
    }
}

#[test]
fn off_by_default_and_the_statement_cache_on() {
    let c = ok(&Options::default(), &[]);
    assert!(!c.pgbouncer);
    assert!(c.statement_cache);
}

#[test]
fn on_it_turns_the_statement_cache_off() {
    let c = ok(&on(), &[]);
    assert!(c.pgbouncer);
    assert!(!c.statement_cache);
    let c = ok(
        &Options {
            statement_cache: Some(false),
            ..on()
        },
        &[],
    );
    assert!(c.pgbouncer && !c.statement_cache);
}

#[test]
fn the_option_then_the_connection_string_then_the_environment() {
    let c = ok(&url("postgres://u@h/db?pgbouncer=true"), &[]);
    assert!(c.pgbouncer);
    assert_eq!(c.pg.get_dbname(), Some("db"));
    let c = ok(&url("host=h pgbouncer=true dbname=db"), &[]);
    assert!(c.pgbouncer);
    assert_eq!(c.pg.get_dbname(), Some("db"));
    let c = ok(
        &url("postgres://u@h/db?application_name=a&pgbouncer=1"),
        &[],
    );
    assert!(c.pgbouncer);
    assert_eq!(c.pg.get_application_name(), Some("a"));
    let c = ok(&Options::default(), &[("DB_PGBOUNCER", "true")]);
    assert!(c.pgbouncer);
    // An empty variable counts as unset.
    assert!(!ok(&Options::default(), &[("DB_PGBOUNCER", "")]).pgbouncer);
    let c = ok(
        &url("postgres://u@h/db?pgbouncer=false"),
        &[("DB_PGBOUNCER", "on")],
    );
    assert!(!c.pgbouncer);
    let off = Options {
        pgbouncer: Some(false),
        ..url("postgres://u@h/db?pgbouncer=true")
    };
    assert!(!ok(&off, &[("DB_PGBOUNCER", "yes")]).pgbouncer);
}

#[test]
fn a_switch_that_is_not_true_or_false_is_refused() {
    let m = error(&Options::default(), &[("DB_PGBOUNCER", "sometimes")]);
    assert_eq!(m, "DB_PGBOUNCER must be true or false (got \"sometimes\")");
    let m = error(&url("postgres://u@h/db?pgbouncer=maybe"), &[]);
    assert!(
        m.starts_with("the pgbouncer parameter in `connectionString` must be true or false"),
        "{m}"
    );
}

#[test]
fn startup_settings_are_refused_and_the_message_says_where_to_set_them() {
    let m = error(
        &Options {
            statement_timeout: Some(1000.0),
            ..on()
        },
        &[],
    );
    assert!(
        m.starts_with("`statementTimeout` cannot be used with `pgbouncer`"),
        "{m}"
    );
    assert!(m.contains("ALTER ROLE"), "{m}");
    assert!(m.contains("`queryTimeoutMillis`"), "{m}");
    let m = error(&on(), &[("DB_STATEMENT_TIMEOUT", "500")]);
    assert!(
        m.starts_with("DB_STATEMENT_TIMEOUT cannot be used with `pgbouncer`"),
        "{m}"
    );
    let m = error(
        &Options {
            server_settings: vec![("search_path".into(), "app".into())],
            ..on()
        },
        &[],
    );
    assert!(
        m.starts_with("`options` cannot be used with `pgbouncer`"),
        "{m}"
    );
    assert!(m.contains("ALTER ROLE … SET name = value"), "{m}");
    let m = error(
        &url("postgres://u@h/db?pgbouncer=true&options=-c%20search_path%3Dapp"),
        &[],
    );
    assert!(
        m.starts_with(
            "the options parameter in `connectionString` cannot be used with the pgbouncer \
             parameter in `connectionString`"
        ),
        "{m}"
    );
    let m = error(
        &Options {
            statement_cache: Some(true),
            ..on()
        },
        &[("DB_PGBOUNCER", "true")],
    );
    assert!(
        m.starts_with("`statementCache: true` cannot be used with `pgbouncer`"),
        "{m}"
    );
}

#[test]
fn without_the_mode_the_same_settings_are_sent() {
    let c = ok(
        &Options {
            statement_timeout: Some(1000.0),
            statement_cache: Some(true),
            ..Default::default()
        },
        &[("DB_PGBOUNCER", "false")],
    );
    assert_eq!(c.pg.get_options(), Some("-c statement_timeout=1000"));
    assert!(c.statement_cache);
}
