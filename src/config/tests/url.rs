//! Connection strings: URLs, `key=value` pairs, hosts, and what they set.
use super::*;

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
        c.topology.session_attrs,
        crate::config::topology::SessionAttrs::ReadWrite
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
