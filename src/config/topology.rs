//! Where connections go: the servers to try (`hosts`, a `host` list, the connection string's
//! hosts or the environment's), in which order (`loadBalanceHosts`), and which of them will do
//! (`targetSessionAttrs`, all six of libpq's values).
use super::*;
use std::net::IpAddr;

/// One server to try.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Its name (also the name TLS checks), or a unix-socket directory; `None` when only a
    /// `hostaddr` is given.
    pub host: Option<Host>,
    /// The address to connect to instead of looking the name up.
    pub hostaddr: Option<IpAddr>,
    /// Its port.
    pub port: u16,
}

impl Target {
    /// `pg` with this one server added (`pg` having none).
    pub fn add_to(&self, pg: &mut tokio_postgres::Config) {
        match &self.host {
            Some(Host::Tcp(h)) => pg.host(h),
            Some(Host::Unix(path)) => pg.host_path(path),
            None => pg,
        };
        if let Some(addr) = self.hostaddr {
            pg.hostaddr(addr);
        }
        pg.port(self.port);
    }
}

/// libpq's `target_session_attrs`: which servers a connection may stay on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SessionAttrs {
    /// Any server.
    #[default]
    Any,
    /// One that accepts writes by default: not a standby, `default_transaction_read_only` off.
    ReadWrite,
    /// One that does not: a standby, or `default_transaction_read_only` on.
    ReadOnly,
    /// Not a standby.
    Primary,
    /// A standby (in hot standby).
    Standby,
    /// A standby if any of the hosts is one, else any server.
    PreferStandby,
}

const SESSION_ATTRS: [(&str, SessionAttrs); 6] = [
    ("any", SessionAttrs::Any),
    ("read-write", SessionAttrs::ReadWrite),
    ("read-only", SessionAttrs::ReadOnly),
    ("primary", SessionAttrs::Primary),
    ("standby", SessionAttrs::Standby),
    ("prefer-standby", SessionAttrs::PreferStandby),
];

impl SessionAttrs {
    /// Its name, as libpq spells it.
    pub fn as_str(self) -> &'static str {
        SESSION_ATTRS
            .iter()
            .find(|(_, a)| *a == self)
            .map_or("any", |(name, _)| name)
    }

    /// Whether a connection to a server in `role` may serve these attributes.
    pub fn accepts(self, role: Role) -> bool {
        match self {
            SessionAttrs::Any | SessionAttrs::PreferStandby => true,
            SessionAttrs::ReadWrite => !role.read_only,
            SessionAttrs::ReadOnly => role.read_only,
            SessionAttrs::Primary => !role.standby,
            SessionAttrs::Standby => role.standby,
        }
    }

    /// Whether a server in `role` is the kind these attributes look for first: for
    /// `prefer-standby` a standby, for the others any server they accept.
    pub fn prefers(self, role: Role) -> bool {
        self.accepts(role) && (self != SessionAttrs::PreferStandby || role.standby)
    }
}

/// What a server is, as far as [`SessionAttrs`] care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Role {
    /// In hot standby (a replica in recovery).
    pub standby: bool,
    /// Its sessions are read-only by default: a standby, or `default_transaction_read_only`.
    pub read_only: bool,
}

/// The server settings a [`Role`] is read from. PostgreSQL 14 and later report both at the
/// start of a session and whenever they change (a promotion, a reload).
pub const ROLE_SETTINGS: [&str; 2] = ["in_hot_standby", "default_transaction_read_only"];

/// What servers before 14, which report neither setting, are asked instead.
pub const ROLE_QUERY: &str =
    "SELECT pg_catalog.pg_is_in_recovery(), pg_catalog.current_setting('transaction_read_only')";

impl Role {
    /// The role from the values of [`ROLE_SETTINGS`] (or the two columns of [`ROLE_QUERY`],
    /// as text); `None` when the server did not report them.
    pub fn of(standby: Option<&str>, read_only: Option<&str>) -> Option<Role> {
        let on = |v: &str| matches!(v, "on" | "t" | "true");
        let standby = on(standby?);
        Some(Role {
            standby,
            read_only: standby || on(read_only?),
        })
    }
}

/// The servers and how to choose among them.
#[derive(Debug, Clone, PartialEq)]
pub struct Topology {
    /// The servers, in the order given.
    pub targets: Vec<Target>,
    /// Which of them will do.
    pub session_attrs: SessionAttrs,
    /// Whether each connection tries them in a random order (`loadBalanceHosts: 'random'`).
    pub random: bool,
}

/// Resolves the servers: `hosts`, else `host` (a comma-separated list, as libpq's), else the
/// connection string's hosts, else `DB_HOST`/`PGHOST` (lists too), else `localhost`; each with
/// its own port where `hosts` or the connection string give one, else the one port resolved
/// from `port`, the connection string and the environment.
pub(super) fn resolve_topology(options: &Options, sources: &Sources) -> Result<Topology> {
    let url = sources.url.as_ref().map(|u| &u.pg);
    let url_hosts = url.filter(|u| !u.get_hosts().is_empty() || !u.get_hostaddrs().is_empty());
    let listed = match &options.hosts {
        Some(entries) => Some(host_entries(entries)?),
        None => None,
    };
    let hosts_from_url = listed.is_none() && options.host.is_none() && url_hosts.is_some();

    let url_port = sources.url("port", |u| url_ports(u).first().map(|p| u64::from(*p)));
    let port = sources.integer(&PORT, options.port, url_port, PORT_NUMBER)?;
    let url_ports = match port {
        Some((_, Source::Url { .. })) if hosts_from_url => url.map_or(&[][..], url_ports),
        _ => &[][..],
    };
    let port = port.map_or(defaults::PORT, |(p, _)| p as u16);

    // Hosts named with their own port or none (which takes `port`).
    let named = |hosts: Vec<(Host, Option<u16>)>| -> Vec<Target> {
        hosts
            .into_iter()
            .map(|(host, own)| Target {
                host: Some(host),
                hostaddr: None,
                port: own.unwrap_or(port),
            })
            .collect()
    };
    let unported = |hosts: Vec<Host>| named(hosts.into_iter().map(|h| (h, None)).collect());
    let targets = if let Some(listed) = listed {
        named(listed)
    } else if let Some((host, source)) = not_empty(
        options
            .host
            .clone()
            .map(|h| (h, Source::Option(HOST.option))),
    )? {
        unported(host_list(&host, source)?)
    } else if let Some(url) = url_hosts {
        let (hosts, addrs) = (url.get_hosts(), url.get_hostaddrs());
        (0..hosts.len().max(addrs.len()))
            .map(|i| Target {
                host: hosts.get(i).cloned(),
                hostaddr: addrs.get(i).copied(),
                port: url_ports
                    .get(i)
                    .or(url_ports.first())
                    .copied()
                    .unwrap_or(port),
            })
            .collect()
    } else {
        unported(match sources.env(HOST.env) {
            Some((text, source)) => host_list(text, source)?,
            None => vec![Host::Tcp(defaults::HOST.to_owned())],
        })
    };

    let session_attrs = match options.target_session_attrs.as_deref() {
        Some(text) => Some((text, Source::Option(TARGET_SESSION_ATTRS.option))),
        None => sources
            .url
            .as_ref()
            .and_then(|u| {
                let (_, value) = u.libpq.iter().rev().find(|(k, _)| k == URL_SESSION_ATTRS)?;
                Some((
                    value.as_str(),
                    Source::Url {
                        url: u.name,
                        part: URL_SESSION_ATTRS,
                    },
                ))
            })
            .or_else(|| sources.env(TARGET_SESSION_ATTRS.env)),
    };
    let session_attrs = match session_attrs {
        Some((text, source)) => SESSION_ATTRS
            .iter()
            .find(|(name, _)| *name == text)
            .map(|(_, attrs)| *attrs)
            .ok_or_else(|| {
                Error::config(format!(
                    "{source} must be one of any, read-write, read-only, primary, standby or \
                     prefer-standby (got {text:?})"
                ))
            })?,
        None => SessionAttrs::Any,
    };

    let random = match options.load_balance_hosts.as_deref() {
        Some(text) => balance(text, Source::Option(LOAD_BALANCE_HOSTS.option))?,
        None => match sources.url("load_balance_hosts", |u| {
            Some(u.get_load_balance_hosts() == tokio_postgres::config::LoadBalanceHosts::Random)
        }) {
            // tokio-postgres parsed (and checked) the URL's; `disable` is also its default, so
            // only `random` counts as set there.
            Some((true, _)) => true,
            _ => match sources.env(LOAD_BALANCE_HOSTS.env) {
                Some((text, source)) => balance(text, source)?,
                None => false,
            },
        },
    };
    Ok(Topology {
        targets,
        session_attrs,
        random,
    })
}

/// The connection string's parameter for [`SessionAttrs`], taken out before tokio-postgres
/// parses the string: it knows only three of the six values.
pub(super) const URL_SESSION_ATTRS: &str = "target_session_attrs";

fn balance(text: &str, source: Source) -> Result<bool> {
    match text {
        "disable" => Ok(false),
        "random" => Ok(true),
        _ => Err(Error::config(format!(
            "{source} must be 'disable' or 'random' (got {text:?})"
        ))),
    }
}

/// A host name or unix-socket directory (one starting with `/`).
fn host(text: &str) -> Host {
    if text.starts_with('/') {
        Host::Unix(text.into())
    } else {
        Host::Tcp(text.to_owned())
    }
}

/// A comma-separated list of hosts, as libpq's `host`.
fn host_list(text: &str, source: Source) -> Result<Vec<Host>> {
    let hosts: Vec<&str> = text.split(',').map(str::trim).collect();
    if hosts.iter().any(|h| h.is_empty()) {
        return Err(Error::config(format!(
            "{source} must be a host name, or several separated by commas, none of them empty \
             (got {text:?})"
        )));
    }
    Ok(hosts.into_iter().map(host).collect())
}

/// The entries of `hosts`: `host`, `host:port`, `[IPv6]:port`, an IPv6 address, or a
/// unix-socket directory.
fn host_entries(entries: &[String]) -> Result<Vec<(Host, Option<u16>)>> {
    if entries.is_empty() {
        return Err(Error::config(
            "`hosts` must list at least one server, as 'host' or 'host:port'".to_owned(),
        ));
    }
    entries
        .iter()
        .map(|entry| {
            let bad = || {
                Error::config(format!(
                    "each entry of `hosts` must be 'host', 'host:port', '[IPv6 address]:port' \
                     or a unix-socket directory, with a port from 1 to 65535 (got {entry:?})"
                ))
            };
            let entry = entry.trim();
            if entry.is_empty() {
                return Err(bad());
            }
            if entry.starts_with('/') {
                return Ok((host(entry), None));
            }
            let (name, port) = if let Some(rest) = entry.strip_prefix('[') {
                let (name, after) = rest.split_once(']').ok_or_else(bad)?;
                match after {
                    "" => (name, None),
                    _ => (name, Some(after.strip_prefix(':').ok_or_else(bad)?)),
                }
            } else {
                match entry.split_once(':') {
                    // Two colons or more: an IPv6 address without a port.
                    Some((_, rest)) if rest.contains(':') => (entry, None),
                    Some((name, port)) => (name, Some(port)),
                    None => (entry, None),
                }
            };
            let port = match port {
                Some(p) => Some(p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(bad)?),
                None => None,
            };
            if name.is_empty() || name.contains(',') {
                return Err(bad());
            }
            Ok((host(name), port))
        })
        .collect()
}
