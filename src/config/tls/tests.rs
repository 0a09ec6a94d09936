//! Unit tests of the TLS settings: every source, libpq's upgrades, node-postgres's `ssl`, and
//! the contradictions refused.
use super::super::{resolve as resolve_config, Options};
use super::*;
use std::collections::HashMap;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn tls(options: TlsOptions, url: Option<&str>, pairs: &[(&str, &str)]) -> Result<Tls> {
    let options = Options {
        connection_string: url.map(str::to_owned),
        tls: options,
        ..Default::default()
    };
    resolve_config(&options, &env(pairs)).map(|c| c.tls)
}

fn mode(options: TlsOptions, url: Option<&str>, pairs: &[(&str, &str)]) -> SslMode {
    tls(options, url, pairs)
        .unwrap_or_else(|e| panic!("{e}"))
        .mode
}

fn refused(options: TlsOptions, url: Option<&str>, pairs: &[(&str, &str)]) -> String {
    let e = tls(options, url, pairs).expect_err("should be refused");
    assert_eq!(e.code(), "INVALID_CONFIG");
    e.to_string()
}

fn sslmode(m: &str) -> TlsOptions {
    TlsOptions {
        sslmode: Some(m.into()),
        ..Default::default()
    }
}

fn ssl(option: SslOption) -> TlsOptions {
    TlsOptions {
        ssl: Some(option),
        ..Default::default()
    }
}

const URL: &str = "postgres://u:pw@db.example.com/app";

#[test]
fn the_default_is_prefer_as_in_libpq() {
    let t = tls(TlsOptions::default(), None, &[]).unwrap();
    assert_eq!(t.mode, SslMode::Prefer);
    assert_eq!(t.roots, Roots::Default(None));
    assert_eq!(t.channel_binding, ChannelBinding::Prefer);
    assert!(!t.direct);
    let t = tls(TlsOptions::default(), None, &[("HOME", "/home/me")]).unwrap();
    assert_eq!(
        t.roots,
        Roots::Default(Some("/home/me/.postgresql/root.crt".into()))
    );
}

#[test]
fn every_mode_is_read_from_every_source() {
    for m in [
        "disable",
        "allow",
        "prefer",
        "require",
        "verify-ca",
        "verify-full",
    ] {
        let want = SslMode::parse(m).unwrap();
        assert_eq!(mode(sslmode(m), None, &[]), want);
        let url = format!("{URL}?sslmode={m}");
        assert_eq!(mode(TlsOptions::default(), Some(&url), &[]), want);
        let kv = format!("host=h sslmode={m} dbname=app");
        assert_eq!(mode(TlsOptions::default(), Some(&kv), &[]), want);
        assert_eq!(
            mode(TlsOptions::default(), None, &[("DB_SSLMODE", m)]),
            want
        );
        assert_eq!(mode(TlsOptions::default(), None, &[("PGSSLMODE", m)]), want);
    }
}

#[test]
fn precedence_is_option_then_url_then_db_then_pg() {
    let url = format!("{URL}?sslmode=require");
    let all = [("DB_SSLMODE", "verify-ca"), ("PGSSLMODE", "disable")];
    assert_eq!(mode(sslmode("allow"), Some(&url), &all), SslMode::Allow);
    assert_eq!(
        mode(TlsOptions::default(), Some(&url), &all),
        SslMode::Require
    );
    // The variables need a root certificate for verify-ca: that comes at connect time.
    assert_eq!(mode(TlsOptions::default(), None, &all), SslMode::VerifyCa);
    assert_eq!(
        mode(
            TlsOptions::default(),
            None,
            &[("DB_SSL", "true"), ("PGSSLMODE", "disable")]
        ),
        SslMode::Require
    );
    assert_eq!(
        mode(TlsOptions::default(), None, &[("PGSSLMODE", "require")]),
        SslMode::Require
    );
}

#[test]
fn db_ssl_is_a_switch() {
    assert_eq!(
        mode(TlsOptions::default(), None, &[("DB_SSL", "true")]),
        SslMode::Require
    );
    assert_eq!(
        mode(TlsOptions::default(), None, &[("DB_SSL", "false")]),
        SslMode::Disable
    );
    let m = refused(TlsOptions::default(), None, &[("DB_SSL", "maybe")]);
    assert!(m.contains("DB_SSL must be true or false"), "{m}");
    let m = refused(
        TlsOptions::default(),
        None,
        &[("DB_SSL", "false"), ("DB_SSLMODE", "require")],
    );
    assert!(m.contains("contradicts"), "{m}");
}

#[test]
fn a_root_certificate_makes_require_verify_ca() {
    let with_root = TlsOptions {
        sslmode: Some("require".into()),
        sslrootcert: Some("/etc/ca.pem".into()),
        ..Default::default()
    };
    let t = tls(with_root, None, &[]).unwrap();
    assert_eq!(t.mode, SslMode::VerifyCa);
    assert!(
        matches!(t.roots, Roots::Pem(Pem::File { ref path, .. }) if path.to_str() == Some("/etc/ca.pem"))
    );
    let url = format!("{URL}?sslmode=require&sslrootcert=%2Fetc%2Fca.pem");
    let t = tls(TlsOptions::default(), Some(&url), &[]).unwrap();
    assert_eq!(t.mode, SslMode::VerifyCa);
    let t = tls(
        TlsOptions::default(),
        None,
        &[("PGSSLMODE", "require"), ("PGSSLROOTCERT", "/ca.pem")],
    )
    .unwrap();
    assert_eq!(t.mode, SslMode::VerifyCa);
}

#[test]
fn system_roots_ask_for_verify_full_and_refuse_weaker_modes() {
    let system = TlsOptions {
        sslrootcert: Some("system".into()),
        ..Default::default()
    };
    let t = tls(system.clone(), None, &[]).unwrap();
    assert_eq!((t.mode, t.roots), (SslMode::VerifyFull, Roots::System));
    let m = refused(
        TlsOptions {
            sslmode: Some("require".into()),
            ..system
        },
        None,
        &[],
    );
    assert!(m.contains("verify-full"), "{m}");
}

#[test]
fn node_postgres_ssl_shapes() {
    let on = SslOption {
        enabled: true,
        ..Default::default()
    };
    let t = tls(ssl(on.clone()), None, &[]).unwrap();
    assert_eq!((t.mode, t.roots), (SslMode::VerifyFull, Roots::System));
    let t = tls(
        ssl(SslOption {
            ca: Some(b"PEM".to_vec()),
            ..on.clone()
        }),
        None,
        &[],
    )
    .unwrap();
    assert_eq!(t.mode, SslMode::VerifyFull);
    assert!(matches!(t.roots, Roots::Pem(Pem::Inline { .. })));
    let t = tls(
        ssl(SslOption {
            reject_unauthorized: Some(false),
            ca: Some(b"PEM".to_vec()),
            ..on.clone()
        }),
        None,
        &[("HOME", "/home/me")],
    )
    .unwrap();
    assert_eq!((t.mode, t.roots), (SslMode::Require, Roots::Default(None)));
    let off = SslOption::default();
    assert_eq!(
        mode(ssl(off), None, &[("PGSSLMODE", "require")]),
        SslMode::Disable
    );
    // `sslmode` beside `ssl` sets the mode; `ssl` brings the material.
    let t = tls(
        TlsOptions {
            sslmode: Some("verify-ca".into()),
            ..ssl(SslOption {
                ca: Some(b"PEM".to_vec()),
                servername: Some("db.internal".into()),
                ..on
            })
        },
        None,
        &[],
    )
    .unwrap();
    assert_eq!(t.mode, SslMode::VerifyCa);
    assert_eq!(t.server_name.as_deref(), Some("db.internal"));
}

#[test]
fn contradictions_are_refused() {
    let off = || {
        ssl(SslOption {
            enabled: false,
            ..Default::default()
        })
    };
    let m = refused(
        TlsOptions {
            sslmode: Some("verify-full".into()),
            ..off()
        },
        None,
        &[],
    );
    assert!(
        m.contains("`ssl: false`") && m.contains("verify-full"),
        "{m}"
    );
    let url = format!("{URL}?sslmode=verify-full");
    let m = refused(off(), Some(&url), &[]);
    assert!(m.contains("contradicts"), "{m}");
    let on = ssl(SslOption {
        enabled: true,
        ..Default::default()
    });
    let url = format!("{URL}?sslmode=disable");
    assert!(refused(on, Some(&url), &[]).contains("contradicts"));
    let m = refused(
        TlsOptions {
            sslrootcert: Some("/ca.pem".into()),
            ..ssl(SslOption {
                enabled: true,
                ca: Some(b"PEM".to_vec()),
                ..Default::default()
            })
        },
        None,
        &[],
    );
    assert!(m.contains("keep one"), "{m}");
}

#[test]
fn bad_values_name_their_source() {
    let m = refused(sslmode("verify"), None, &[]);
    assert!(m.contains("`sslmode` must be disable, allow"), "{m}");
    let m = refused(TlsOptions::default(), None, &[("PGSSLMODE", "on")]);
    assert!(m.starts_with("PGSSLMODE must be"), "{m}");
    let url = format!("{URL}?sslmode=strict");
    let m = refused(TlsOptions::default(), Some(&url), &[]);
    assert!(m.contains("the sslmode in `connectionString`"), "{m}");
    let m = refused(
        TlsOptions {
            channel_binding: Some("always".into()),
            ..Default::default()
        },
        None,
        &[],
    );
    assert!(m.contains("`channelBinding` must be"), "{m}");
    let m = refused(
        TlsOptions {
            sslcert: Some("/c.pem".into()),
            ..Default::default()
        },
        None,
        &[],
    );
    assert!(m.contains("set `sslkey` too"), "{m}");
}

#[test]
fn channel_binding_and_negotiation() {
    let t = tls(
        TlsOptions::default(),
        Some(&format!("{URL}?channel_binding=require&sslmode=require")),
        &[("PGCHANNELBINDING", "disable")],
    )
    .unwrap();
    assert_eq!(t.channel_binding, ChannelBinding::Require);
    let t = tls(
        TlsOptions::default(),
        None,
        &[("PGCHANNELBINDING", "require")],
    )
    .unwrap();
    assert_eq!(t.channel_binding, ChannelBinding::Require);
    let m = refused(
        TlsOptions {
            channel_binding: Some("require".into()),
            sslmode: Some("disable".into()),
            ..Default::default()
        },
        None,
        &[],
    );
    assert!(m.contains("channel binding needs TLS"), "{m}");
    let t = tls(
        TlsOptions {
            sslnegotiation: Some("direct".into()),
            sslmode: Some("require".into()),
            ..Default::default()
        },
        None,
        &[],
    )
    .unwrap();
    assert!(t.direct);
    assert!(refused(
        TlsOptions {
            sslnegotiation: Some("direct".into()),
            ..Default::default()
        },
        None,
        &[]
    )
    .contains("sslnegotiation=direct"));
}

#[test]
fn client_certificates_and_their_password() {
    let url = format!("{URL}?sslcert=/c.pem&sslkey=/k.pem&sslpassword=pa%20ss");
    let t = tls(TlsOptions::default(), Some(&url), &[]).unwrap();
    assert!(t.identity.is_some());
    assert_eq!(t.key_password.as_deref(), Some("pa ss"));
    assert!(
        !format!("{t:?}").contains("pa ss"),
        "Debug shows the key password"
    );
    let t = tls(
        TlsOptions::default(),
        None,
        &[("PGSSLCERT", "/c.pem"), ("DB_SSLKEY", "/k.pem")],
    )
    .unwrap();
    assert!(t.identity.is_some());
}

#[test]
fn url_parameters_are_taken_out_of_both_forms() {
    let (rest, taken) = take_url_parameters(
        "postgres://u@h/db?sslmode=verify-full&application_name=x&sslrootcert=%2Fa%20b",
        &URL_PARAMETERS,
    );
    assert_eq!(rest, "postgres://u@h/db?application_name=x");
    assert_eq!(
        taken,
        [
            ("sslmode".to_owned(), "verify-full".to_owned()),
            ("sslrootcert".to_owned(), "/a b".to_owned())
        ]
    );
    let (rest, taken) = take_url_parameters(
        "host=h sslmode = 'verify-ca' dbname=app sslkey='/k\\'s.pem' user=u",
        &URL_PARAMETERS,
    );
    assert_eq!(
        rest.split_whitespace().collect::<Vec<_>>(),
        ["host=h", "dbname=app", "user=u"]
    );
    assert_eq!(
        taken,
        [
            ("sslmode".to_owned(), "verify-ca".to_owned()),
            ("sslkey".to_owned(), "/k's.pem".to_owned())
        ]
    );
    let (rest, taken) = take_url_parameters("postgres://u@h/db", &URL_PARAMETERS);
    assert_eq!((rest.as_str(), taken.len()), ("postgres://u@h/db", 0));
}
