//! A configuration in words, without its password: `user@host:port/database`.
use super::*;

/// Where a configuration connects, without its password: `user@host:port/database`, with every
/// host when there are several.
pub fn describe(config: &Config) -> String {
    let pg = &config.pg;
    let ports = pg.get_ports();
    let port = |i: usize| {
        ports
            .get(i)
            .or(ports.first())
            .copied()
            .unwrap_or(defaults::PORT)
    };
    let mut hosts: Vec<String> = pg.get_hosts().iter().map(host_text).collect();
    if hosts.is_empty() {
        hosts = pg.get_hostaddrs().iter().map(ToString::to_string).collect();
    }
    let hosts: Vec<String> = hosts
        .iter()
        .enumerate()
        .map(|(i, host)| format!("{host}:{}", port(i)))
        .collect();
    format!(
        "{}@{}/{}",
        pg.get_user().unwrap_or(""),
        hosts.join(","),
        pg.get_dbname().unwrap_or(""),
    )
}

pub(super) fn host_text(host: &Host) -> String {
    match host {
        Host::Tcp(h) => h.clone(),
        Host::Unix(p) => p.to_string_lossy().into_owned(),
    }
}
