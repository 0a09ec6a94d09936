'use strict'
// `defaults` of pg-rust-pool/pg: node-postgres' keys and values, for code that reads them. A pool
// takes its settings from its config, the connection string and the environment (see the README's
// options); of these only `parseInt8`, which libraries such as TypeORM set, changes anything.

const { types } = require('./types')

const INT4 = 23
const INT4_ARRAY = 1007
const INT8 = 20
const INT8_ARRAY = 1016

const defaults = {
  host: 'localhost',
  user: process.platform === 'win32' ? process.env.USERNAME : process.env.USER,
  database: undefined,
  password: null,
  connectionString: undefined,
  port: 5432,
  rows: 0,
  binary: false,
  max: 10,
  idleTimeoutMillis: 30000,
  client_encoding: '',
  ssl: false,
  application_name: undefined,
  fallback_application_name: undefined,
  options: undefined,
  parseInputDatesAsUTC: false,
  statement_timeout: false,
  lock_timeout: false,
  idle_in_transaction_session_timeout: false,
  query_timeout: false,
  connect_timeout: 0,
  keepalives: 1,
  keepalives_idle: 0,
}

const int8Parsers = [types.getTypeParser(INT8), types.getTypeParser(INT8_ARRAY)]

// `defaults.parseInt8 = true`: int8 and int8[] values as numbers (parsed as int4's are), as in pg.
Object.defineProperty(defaults, 'parseInt8', {
  set(on) {
    types.setTypeParser(INT8, on ? types.getTypeParser(INT4) : int8Parsers[0])
    types.setTypeParser(INT8_ARRAY, on ? types.getTypeParser(INT4_ARRAY) : int8Parsers[1])
  },
})

module.exports = { defaults }
