//! Host lists, `targetSessionAttrs` and `loadBalanceHosts`: where each comes from, and how the
//! servers are listed.
use super::*;
use crate::config::topology::{Role, SessionAttrs, Target};

fn targets(c: &Config) -> Vec<(String, u16)> {
    c.topology
        .targets
        .iter()
        .map(|t| (t.host.as_ref().map_or(String::new(), host_text), t.port))
        .collect()
}

fn pairs(list: &[(&str, u16)]) -> Vec<(String, u16)> {
    list.iter().map(|(h, p)| (h.to_string(), *p)).collect()
}

#[test]
fn hosts_take_their_own_ports_and_the_port_option_for_the_rest() {
    let c = ok(
        &Options {
            hosts: Some(vec![
                "a:5433".into(),
                "b".into(),
                "[::1]:6000".into(),
                "fe80::1".into(),
                "/run/pg".into(),
            ]),
            port: Some(7000.0),
            host: Some("ignored".into()),
            ..url("postgres://u@c:1/db")
        },
        &[("PGHOST", "d")],
    );
    assert_eq!(
        targets(&c),
        pairs(&[
            ("a", 5433),
            ("b", 7000),
            ("::1", 6000),
            ("fe80::1", 7000),
            ("/run/pg", 7000)
        ])
    );
    // `pg` lists them all, for messages; `per_host` none, for each connection to add its own.
    assert_eq!(c.pg.get_hosts().len(), 5);
    assert!(c.per_host.get_hosts().is_empty() && c.per_host.get_ports().is_empty());
}

#[test]
fn host_lists_come_from_host_the_url_and_the_environment() {
    let c = ok(
        &Options {
            host: Some("a, b".into()),
            ..Default::default()
        },
        &[("PGPORT", "6000")],
    );
    assert_eq!(targets(&c), pairs(&[("a", 6000), ("b", 6000)]));
    let c = ok(&url("postgres://u@a:1,b:2/db"), &[]);
    assert_eq!(targets(&c), pairs(&[("a", 1), ("b", 2)]));
    let c = ok(&url("host=a,b port=3,4 dbname=db"), &[]);
    assert_eq!(targets(&c), pairs(&[("a", 3), ("b", 4)]));
    let c = ok(&Options::default(), &[("PGHOST", "x,y")]);
    assert_eq!(targets(&c), pairs(&[("x", 5432), ("y", 5432)]));
    let c = ok(&Options::default(), &[]);
    assert_eq!(targets(&c), pairs(&[("localhost", 5432)]));
    let c = ok(&url("postgres://u@/db?hostaddr=10.0.0.1"), &[]);
    assert_eq!(
        c.topology.targets,
        [Target {
            host: None,
            hostaddr: Some("10.0.0.1".parse().unwrap()),
            port: 5432
        }]
    );
}

#[test]
fn bad_host_lists_name_the_option() {
    for hosts in [
        vec![],
        vec!["a:0".into()],
        vec!["a:x".into()],
        vec!["".into()],
    ] {
        let message = error(
            &Options {
                hosts: Some(hosts),
                ..Default::default()
            },
            &[],
        );
        assert!(message.contains("`hosts`"), "{message}");
    }
    let message = error(
        &Options {
            host: Some("a,,b".into()),
            ..Default::default()
        },
        &[],
    );
    assert!(message.contains("`host`"), "{message}");
}

#[test]
fn session_attrs_come_from_the_option_the_url_and_the_environment() {
    let attrs = |options: &Options, env: &[(&str, &str)]| ok(options, env).topology.session_attrs;
    assert_eq!(attrs(&Options::default(), &[]), SessionAttrs::Any);
    assert_eq!(
        attrs(&Options::default(), &[("PGTARGETSESSIONATTRS", "standby")]),
        SessionAttrs::Standby
    );
    // All six in the URL, though tokio-postgres parses only three.
    assert_eq!(
        attrs(
            &url("postgres://u@a,b/db?target_session_attrs=prefer-standby"),
            &[("PGTARGETSESSIONATTRS", "standby")]
        ),
        SessionAttrs::PreferStandby
    );
    assert_eq!(
        attrs(&url("host=a target_session_attrs=primary"), &[]),
        SessionAttrs::Primary
    );
    assert_eq!(
        attrs(
            &Options {
                target_session_attrs: Some("read-only".into()),
                ..url("postgres://u@a/db?target_session_attrs=read-write")
            },
            &[]
        ),
        SessionAttrs::ReadOnly
    );
    let message = error(&url("postgres://u@a/db?target_session_attrs=replica"), &[]);
    assert!(
        message.contains("target_session_attrs") && message.contains("prefer-standby"),
        "{message}"
    );
}

#[test]
fn load_balance_hosts_comes_from_the_option_the_url_and_the_environment() {
    let random = |options: &Options, env: &[(&str, &str)]| ok(options, env).topology.random;
    assert!(!random(&Options::default(), &[]));
    assert!(random(
        &Options::default(),
        &[("PGLOADBALANCEHOSTS", "random")]
    ));
    assert!(random(
        &url("postgres://u@a,b/db?load_balance_hosts=random"),
        &[]
    ));
    assert!(!random(
        &Options {
            load_balance_hosts: Some("disable".into()),
            ..url("postgres://u@a,b/db?load_balance_hosts=random")
        },
        &[]
    ));
    let message = error(
        &Options {
            load_balance_hosts: Some("round-robin".into()),
            ..Default::default()
        },
        &[],
    );
    assert!(message.contains("`loadBalanceHosts`"), "{message}");
}

#[test]
fn each_attribute_accepts_the_servers_libpq_accepts() {
    let primary = Role::of(Some("off"), Some("off")).unwrap();
    let read_only_primary = Role::of(Some("off"), Some("on")).unwrap();
    let standby = Role::of(Some("on"), Some("off")).unwrap();
    assert!(standby.read_only);
    use SessionAttrs::*;
    let accepted = |attrs: SessionAttrs| {
        [primary, read_only_primary, standby]
            .map(|role| attrs.accepts(role))
            .to_vec()
    };
    assert_eq!(accepted(Any), [true, true, true]);
    assert_eq!(accepted(ReadWrite), [true, false, false]);
    assert_eq!(accepted(ReadOnly), [false, true, true]);
    assert_eq!(accepted(Primary), [true, true, false]);
    assert_eq!(accepted(Standby), [false, false, true]);
    assert_eq!(accepted(PreferStandby), [true, true, true]);
    assert!(PreferStandby.prefers(standby) && !PreferStandby.prefers(primary));
    assert!(ReadWrite.prefers(primary));
    // A server before 14 reports neither setting; the query's answer reads the same way.
    assert_eq!(Role::of(None, Some("off")), None);
    assert_eq!(Role::of(Some("t"), Some("on")), Some(standby));
}
