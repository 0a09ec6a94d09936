//! The pool defaults of each environment, chosen by `NODE_ENV` as the project's specification
//! gives them: a development machine keeps a few connections warm and notices a missing database
//! within half a minute; production keeps more warm, allows more, and waits longer for a
//! connection (a database failing over) before giving up. Explicit options and `DB_*` variables
//! still win; `NODE_ENV` unset (or anything but `production`) is development.

/// One environment's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    /// `development` or `production`, as statistics and `String(manager)` show it.
    pub name: &'static str,
    /// Connections kept open even when idle.
    pub min: u64,
    /// Largest number of connections.
    pub max: u64,
    /// How long to wait for a connection, in ms.
    pub connection_timeout_millis: u64,
    /// Idle connections above `min` close after this many ms.
    pub idle_timeout_millis: u64,
}

/// `NODE_ENV` unset or not `production`.
pub const DEVELOPMENT: Profile = Profile {
    name: "development",
    min: 2,
    max: 10,
    connection_timeout_millis: 30_000,
    idle_timeout_millis: 10_000,
};

/// `NODE_ENV=production`.
pub const PRODUCTION: Profile = Profile {
    name: "production",
    min: 5,
    max: 20,
    connection_timeout_millis: 60_000,
    idle_timeout_millis: 300_000,
};

/// The profile for the value of `NODE_ENV`.
pub fn of(node_env: Option<&str>) -> Profile {
    match node_env.map(str::trim) {
        Some("production") => PRODUCTION,
        _ => DEVELOPMENT,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_only_when_it_says_so() {
        assert_eq!(of(Some("production")), PRODUCTION);
        for other in [
            None,
            Some(""),
            Some("development"),
            Some("test"),
            Some("staging"),
        ] {
            assert_eq!(of(other), DEVELOPMENT);
        }
    }
}
