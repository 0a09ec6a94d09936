'use strict'
// pg-rust-pool: a PostgreSQL connection pool for Node.js with a Rust engine.
const { DatabaseManager } = require('./lib/manager')
const { DatabaseError } = require('./lib/errors')
const { healthHandlers } = require('./lib/health')
const { LeakWarning } = require('./lib/leak')

module.exports = { DatabaseManager, DatabaseError, LeakWarning, healthHandlers }
