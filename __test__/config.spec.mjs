// Configuration: every route to the server (options, connectionString, DATABASE_URL, DB_*, PG*, a
// unix socket) really connects the way it says, and bad configuration fails with INVALID_CONFIG
// and a message that names the option and never the password.
//
// The native side reads the environment when a DatabaseManager is constructed, so each test sets
// `process.env` first (through `withEnv`, which restores it afterwards). Lower-precedence sources
// are set to values that would fail, so a test passes only through the route it names.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { inspect } from 'node:util'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { DatabaseManager } = require('..')

const PORT = Number(process.env.PGPORT)
const SOCKET_DIR = process.env.PGRP_TEST_SOCKET_DIR
const ROLE = 'pgrp_config_user'
// Characters that must be percent-encoded in a URL.
const PASSWORD = 'Cfg-p@ss:w/rd%?#'
const DATABASE = 'pgrp_config_db'
const enc = encodeURIComponent
const GOOD_URL = `postgresql://${enc(ROLE)}:${enc(PASSWORD)}@127.0.0.1:${PORT}/${DATABASE}`

// Every variable the native resolver reads.
const VARS = [
  'DATABASE_URL', 'DB_HOST', 'DB_PORT', 'DB_NAME', 'DB_USER', 'DB_PASSWORD', 'DB_APPLICATION_NAME',
  'DB_POOL_MAX', 'DB_POOL_MIN', 'DB_TIMEOUT', 'DB_STATEMENT_TIMEOUT',
  'PGHOST', 'PGPORT', 'PGDATABASE', 'PGUSER', 'PGPASSWORD', 'PGAPPNAME', 'USER',
]
// Values that cannot connect (nothing listens on port 1), for the sources that must not be used.
const WRONG_URL = 'postgres://wrong_user:wrong-pw@127.0.0.1:1/wrong_db?application_name=wrong'
const WRONG_DB = { DB_HOST: '127.0.0.1', DB_PORT: '1', DB_NAME: 'wrong_db', DB_USER: 'wrong_user', DB_PASSWORD: 'wrong-pw', DB_APPLICATION_NAME: 'wrong' }
const WRONG_PG = { PGHOST: '127.0.0.1', PGPORT: '1', PGDATABASE: 'wrong_db', PGUSER: 'wrong_user', PGPASSWORD: 'wrong-pw', PGAPPNAME: 'wrong' }
// The harness's superuser connection.
const SUPERUSER = Object.fromEntries(['PGHOST', 'PGPORT', 'PGUSER', 'PGPASSWORD', 'PGDATABASE'].map((k) => [k, process.env[k]]))

/** Runs `fn` with exactly `vars` among VARS set in process.env, then restores the environment. */
async function withEnv(vars, fn) {
  const saved = Object.fromEntries(VARS.map((k) => [k, process.env[k]]))
  for (const k of VARS) delete process.env[k]
  Object.assign(process.env, vars)
  try {
    return await fn()
  } finally {
    for (const k of VARS) {
      if (saved[k] === undefined) delete process.env[k]
      else process.env[k] = saved[k]
    }
  }
}

/** Constructs a DatabaseManager with `env` as the environment, runs `fn(db)`, closes it. */
async function using(env, options, fn) {
  const db = await withEnv(env, () => new DatabaseManager(options))
  try {
    return await fn(db)
  } finally {
    await db.close()
  }
}

/** Where a connection landed. */
async function whoami(db) {
  const { rows } = await db.query(`SELECT current_database() AS database, current_user AS "user",
    inet_server_port() AS port, host(inet_server_addr()) AS addr, current_setting('application_name') AS app`)
  return rows[0]
}

/** The INVALID_CONFIG error `new DatabaseManager(options)` throws under `env`. */
function configError(env, options) {
  let error
  withEnv(env, () => {
    try {
      new DatabaseManager(options)
    } catch (e) {
      error = e
    }
  })
  assert.ok(error, 'the constructor should throw')
  assert.equal(error.code, 'INVALID_CONFIG', error.message)
  return error
}

function assertNoSecret(text, secret) {
  assert.ok(!text.includes(secret), `leaks the password: ${text}`)
}

before(async () => {
  await using(SUPERUSER, {}, async (db) => {
    await db.query(`DROP DATABASE IF EXISTS ${DATABASE}`)
    await db.query(`DROP ROLE IF EXISTS ${ROLE}`)
    await db.query(`CREATE ROLE ${ROLE} LOGIN PASSWORD '${PASSWORD}'`)
    await db.query(`CREATE DATABASE ${DATABASE} OWNER ${ROLE}`)
  })
})

after(async () => {
  await using(SUPERUSER, {}, async (db) => {
    await db.query(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`)
    await db.query(`DROP ROLE IF EXISTS ${ROLE}`)
  })
})

const expected = (app) => ({ database: DATABASE, user: ROLE, port: PORT, addr: '127.0.0.1', app })

test('explicit options connect, over a connection string and the environment', async () => {
  const options = { host: '127.0.0.1', port: PORT, user: ROLE, password: PASSWORD, database: DATABASE, applicationName: 'via-options' }
  await using({ DATABASE_URL: WRONG_URL, ...WRONG_DB, ...WRONG_PG }, options, async (db) => {
    assert.deepEqual(await whoami(db), expected('via-options'))
  })
  // Options also beat a connection string's values, field by field.
  await using({}, { connectionString: WRONG_URL, ...options }, async (db) => {
    assert.deepEqual(await whoami(db), expected('via-options'))
  })
})

test('connectionString connects (URL with percent-encoded password, key=value), over DATABASE_URL and the environment', async () => {
  await using({ DATABASE_URL: WRONG_URL, ...WRONG_DB, ...WRONG_PG },
    { connectionString: `${GOOD_URL}?application_name=via-connection-string` }, async (db) => {
      assert.deepEqual(await whoami(db), expected('via-connection-string'))
    })
  // `?port=` replaces the host part's (implicit 5432) port, as in libpq; key=value strings work.
  for (const connectionString of [
    `postgres://${enc(ROLE)}:${enc(PASSWORD)}@127.0.0.1/${DATABASE}?port=${PORT}&application_name=via-query-port`,
    `host=127.0.0.1 port=${PORT} user=${ROLE} password='${PASSWORD}' dbname=${DATABASE} application_name=via-query-port`,
  ]) {
    await using({ ...WRONG_DB, ...WRONG_PG }, { connectionString }, async (db) => {
      assert.deepEqual(await whoami(db), expected('via-query-port'))
    })
  }
})

test('DATABASE_URL connects, over DB_* and PG*', async () => {
  await using({ DATABASE_URL: `${GOOD_URL}?application_name=via-database-url`, ...WRONG_DB, ...WRONG_PG }, {}, async (db) => {
    assert.deepEqual(await whoami(db), expected('via-database-url'))
  })
})

test('DB_* variables connect, over PG*', async () => {
  const env = {
    ...WRONG_PG, DB_HOST: '127.0.0.1', DB_PORT: String(PORT), DB_NAME: DATABASE, DB_USER: ROLE,
    DB_PASSWORD: PASSWORD, DB_APPLICATION_NAME: 'via-db-env',
  }
  await using(env, {}, async (db) => {
    assert.deepEqual(await whoami(db), expected('via-db-env'))
  })
})

test('libpq PG* variables connect', async () => {
  const env = {
    PGHOST: '127.0.0.1', PGPORT: String(PORT), PGDATABASE: DATABASE, PGUSER: ROLE, PGPASSWORD: PASSWORD,
    PGAPPNAME: 'via-pg-env',
  }
  await using(env, {}, async (db) => {
    assert.deepEqual(await whoami(db), expected('via-pg-env'))
  })
})

test('a unix-socket directory connects as host, ?host=, a %2F-encoded URL host and DB_HOST', async () => {
  // PGAPPNAME is left out so that every route shows the default application name.
  const { PGAPPNAME, ...wrongPg } = WRONG_PG
  const routes = [
    [{}, { host: SOCKET_DIR, port: PORT, user: 'postgres', database: DATABASE }],
    [{}, { connectionString: `postgres://postgres@/${DATABASE}?host=${enc(SOCKET_DIR)}&port=${PORT}` }],
    [{}, { connectionString: `postgresql://postgres@${enc(SOCKET_DIR)}:${PORT}/${DATABASE}` }],
    [{ DB_HOST: SOCKET_DIR, DB_PORT: String(PORT), DB_USER: 'postgres', DB_NAME: DATABASE, ...wrongPg }, {}],
  ]
  for (const [env, options] of routes) {
    await using(env, options, async (db) => {
      // A socket connection has no server address or TCP port (the port picked the socket file).
      assert.deepEqual(await whoami(db), { database: DATABASE, user: 'postgres', port: null, addr: null, app: 'pg-rust-pool' })
      assert.equal(String(db), `DatabaseManager(postgres@${SOCKET_DIR}:${PORT}/${DATABASE} sslmode=prefer profile=development)`)
    })
  }
})

test('a type error in an option is INVALID_CONFIG naming the option', () => {
  assert.match(configError({}, { max: '10' }).message, /^`max` must be a number \(got "10"\)/)
  assert.match(configError({}, { host: 5432 }).message, /^`host` must be a string/)
  assert.match(configError({}, { statementCache: 'yes' }).message, /^`statementCache` must be true or false/)
  assert.match(configError({}, { pipelineQuickQueries: 1 }).message, /^`pipelineQuickQueries` must be true or false/)
  assert.match(configError({}, { nope: 1 }).message, /^unknown option `nope`/)
  const e = configError({}, { password: 1234567 })
  assert.match(e.message, /^`password` must be a string \(got number\)/)
  assertNoSecret(e.message, '1234567')
})

test('a bad value in an option or variable is INVALID_CONFIG naming it', () => {
  assert.equal(configError({}, { max: 0 }).message, '`max` must be an integer ≥ 1 (got 0)')
  assert.equal(configError({}, { port: 70000 }).message, '`port` must be an integer from 1 to 65535 (got 70000)')
  assert.equal(configError({}, { min: 3, max: 2 }).message,
    '`min` (3) must not be greater than `max` (2): lower `min` or raise `max`')
  assert.equal(configError({}, { statementTimeout: -1 }).message,
    '`statementTimeout` must be a whole number of milliseconds from 0 to 2147483647 (got -1)')
  assert.equal(configError({}, { host: '' }).message, '`host` must not be empty: leave it out to use the next source')
  assert.equal(configError({ DB_POOL_MAX: 'ten' }, {}).message, 'DB_POOL_MAX must be an integer ≥ 1 (got "ten")')
  assert.equal(configError({ PGPORT: '0' }, {}).message, 'PGPORT must be an integer from 1 to 65535 (got "0")')
})

test('a malformed connection string is INVALID_CONFIG and never quoted', () => {
  const secret = 'Leak-Me-Not-9'
  for (const [env, options, message] of [
    [{}, { connectionString: `postgres://u:${secret}@h:port/db` }, '`connectionString` has an invalid value for `port`'],
    [{}, { connectionString: `postgres://u:${secret}@h/db?sslmode=sometimes` }, 'the sslmode in `connectionString` must be disable, allow, prefer, require, verify-ca or verify-full'],
    [{}, { connectionString: `postgres://u:p@${secret}@h/db` }, '`connectionString` has an `@` in its host'],
    [{}, { connectionString: `mysql://u:${secret}@h/db` }, '`connectionString` must start with postgres:// or postgresql://'],
    [{}, { connectionString: `host=h password='${secret}` }, '`connectionString` is not a valid connection string'],
    [{ DATABASE_URL: `postgres://u:${secret}@h:port/db` }, {}, 'DATABASE_URL has an invalid value for `port`'],
  ]) {
    const e = configError(env, options)
    assert.ok(e.message.startsWith(message), e.message)
    for (const text of [e.message, e.stack, String(e), inspect(e)]) assertNoSecret(text, secret)
  }
})

test('a wrong password is the server\'s 28P01, without the password', async () => {
  const secret = 'Wrong-Secret-7'
  await using({}, { host: '127.0.0.1', port: PORT, user: ROLE, password: secret, database: DATABASE }, async (db) => {
    const e = await db.query('SELECT 1').catch((e) => e)
    assert.equal(e.code, '28P01', e.message)
    for (const text of [e.message, e.stack, inspect(e)]) assertNoSecret(text, secret)
  })
})

test('String(db) and util.inspect(db) show where it connects, never the password', async () => {
  const described = `DatabaseManager(${ROLE}@127.0.0.1:${PORT}/${DATABASE} sslmode=prefer profile=development)`
  for (const [env, options] of [
    [{}, { host: '127.0.0.1', port: PORT, user: ROLE, password: PASSWORD, database: DATABASE }],
    [{}, { connectionString: GOOD_URL }],
    [{ DATABASE_URL: GOOD_URL }, {}],
    [{ PGHOST: '127.0.0.1', PGPORT: String(PORT), PGUSER: ROLE, PGDATABASE: DATABASE, PGPASSWORD: PASSWORD }, {}],
  ]) {
    await using(env, options, async (db) => {
      assert.equal(String(db), described)
      assert.equal(inspect(db), described)
      for (const text of [String(db), inspect(db), inspect(db, { showHidden: true, depth: 10 }), `${db}`]) {
        assertNoSecret(text, PASSWORD)
        assertNoSecret(text, enc(PASSWORD))
      }
    })
  }
})

test('statementTimeout reaches the server and cancels a slow statement with 57014', async () => {
  await using(SUPERUSER, { statementTimeout: 100 }, async (db) => {
    const e = await db.query('SELECT pg_sleep(1)').catch((e) => e)
    assert.equal(e.code, '57014', e.message)
    assert.equal((await db.query('SHOW statement_timeout')).rows[0].statement_timeout, '100ms')
  })
})

test('DB_STATEMENT_TIMEOUT sets the statement timeout, and a URL\'s options reach the server', async () => {
  await using({ ...SUPERUSER, DB_STATEMENT_TIMEOUT: '250' }, {}, async (db) => {
    assert.equal((await db.query('SHOW statement_timeout')).rows[0].statement_timeout, '250ms')
  })
  const url = `${GOOD_URL}?options=${enc('-c statement_timeout=5000 -c search_path=pgrp_test')}`
  // The option wins over the URL's setting, which wins over DB_STATEMENT_TIMEOUT.
  await using({ DB_STATEMENT_TIMEOUT: '250' }, { connectionString: url, statementTimeout: 100 }, async (db) => {
    const { rows } = await db.query("SELECT current_setting('statement_timeout') AS t, current_setting('search_path') AS p")
    assert.deepEqual(rows[0], { t: '100ms', p: 'pgrp_test' })
  })
  await using({ DB_STATEMENT_TIMEOUT: '250' }, { connectionString: url }, async (db) => {
    assert.equal((await db.query('SHOW statement_timeout')).rows[0].statement_timeout, '5s')
  })
})

test('applicationName is visible in pg_stat_activity, and defaults to pg-rust-pool', async () => {
  const sql = 'SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()'
  await using(SUPERUSER, { applicationName: 'config-spec' }, async (db) => {
    assert.equal((await db.query(sql)).rows[0].application_name, 'config-spec')
  })
  await using(SUPERUSER, {}, async (db) => {
    assert.equal((await db.query(sql)).rows[0].application_name, 'pg-rust-pool')
  })
})

test('max, min and connectionTimeoutMillis from DB_POOL_* and DB_TIMEOUT are accepted', async () => {
  await using({ ...SUPERUSER, DB_POOL_MAX: '3', DB_POOL_MIN: '1', DB_TIMEOUT: '5000' }, {}, async (db) => {
    assert.equal((await db.query('SELECT 1 AS one')).rows[0].one, 1)
  })
  // A min above the default max is refused with both names.
  assert.equal(configError({ DB_POOL_MIN: '11' }, {}).message,
    'DB_POOL_MIN (11) must not be greater than the default `max` (10): lower `min` or raise `max`')
})
