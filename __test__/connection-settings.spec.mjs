// Acceptance (issue 5, point 8): what the pool asks for when it connects is what the server and
// the kernel show: `applicationName` in pg_stat_activity, the `options` server settings in SHOW
// on every connection (and in effect), and TCP keepalive on the client's sockets (`ss -tno`).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { DatabaseManager, observed, backends, refusesConfig, rejectsWith, uniqueName, withManager } from './helpers.mjs'

test('applicationName is the application_name of every backend of the pool', async () => {
  await observed('settings-app', { max: 3 }, async ({ db, client, applicationName }) => {
    const rows = await Promise.all([1, 2, 3].map(() =>
      db.query('SELECT application_name, pg_backend_pid() AS pid, pg_sleep(0.05)::text FROM pg_stat_activity WHERE pid = pg_backend_pid()')))
    assert.equal(new Set(rows.map((r) => r.rows[0].pid)).size, 3, 'three connections')
    for (const r of rows) assert.equal(r.rows[0].application_name, applicationName)
    assert.equal(await backends(client, applicationName), 3, 'pg_stat_activity shows them under that name')
    assert.deepEqual((await db.query('SHOW application_name')).rows, [{ application_name: applicationName }])
  })
})

// A schema name with a space must be quoted in search_path, as in SET; the space, the comma and
// the quotes must reach the server as written (startup options are split at spaces).
const SETTINGS = { search_path: '"a b", public', timezone: 'Asia/Kathmandu', statement_timeout: 1234, idle_in_transaction_session_timeout: 5000 }
// SHOW names its column after the setting's canonical name, and prints times in the largest unit
// that divides them.
const SHOWN = { search_path: '"a b", public', TimeZone: 'Asia/Kathmandu', statement_timeout: '1234ms', idle_in_transaction_session_timeout: '5s' }

test('`options` server settings are set on every connection (SHOW) and in effect', async () => {
  await withManager({ max: 3, options: SETTINGS, applicationName: uniqueName('settings-options') }, async (db) => {
    for (const [name, value] of Object.entries(SHOWN)) {
      assert.deepEqual((await db.query(`SHOW ${name}`)).rows, [{ [name]: value }], `SHOW ${name}`)
    }
    // Every connection of the pool, not just the first.
    const rows = await Promise.all([1, 2, 3].map(() => db.query(
      "SELECT pg_backend_pid() AS pid, current_setting('search_path') AS search_path, current_setting('TimeZone') AS tz, " +
      "current_setting('statement_timeout') AS st, pg_sleep(0.05)::text")))
    assert.equal(new Set(rows.map((r) => r.rows[0].pid)).size, 3, 'three connections')
    for (const { rows: [row] } of rows) assert.deepEqual([row.search_path, row.tz, row.st], ['"a b", public', 'Asia/Kathmandu', '1234ms'])

    // In effect: the time zone shapes timestamptz output, and the statement timeout cancels.
    const tz = await db.query("SELECT to_char('2024-01-01 00:00:00+00'::timestamptz, 'YYYY-MM-DD HH24:MI TZH:TZM') AS local")
    assert.deepEqual(tz.rows, [{ local: '2024-01-01 05:45 +05:45' }])
    await rejectsWith(db.query('SELECT pg_sleep(3)'), '57014', /statement timeout/)
    assert.deepEqual((await db.query('SELECT 1 AS one')).rows, [{ one: 1 }], 'the pool carries on after the cancel')
  })
})

test('a setting the server does not know, or a value it refuses, fails the query with the server\'s error', async () => {
  await withManager({ max: 1, connectionTimeoutMillis: 5000, options: { no_such_setting: 'x' }, applicationName: uniqueName('settings-unknown') }, async (db) => {
    await rejectsWith(db.query('SELECT 1'), '42704', /no_such_setting/)
  })
  await withManager({ max: 1, connectionTimeoutMillis: 5000, options: { timezone: 'Mars/Olympus_Mons' }, applicationName: uniqueName('settings-bad') }, async (db) => {
    await rejectsWith(db.query('SELECT 1'), '22023', /Mars\/Olympus_Mons/)
  })
  // The example search_path 'a b' is not a valid search_path for the server (an unquoted
  // name with a space); that the server quotes it back whole shows the value arrived unsplit.
  await withManager({ max: 1, connectionTimeoutMillis: 5000, options: { search_path: 'a b' }, applicationName: uniqueName('settings-space') }, async (db) => {
    await rejectsWith(db.query('SELECT 1'), '22023', /invalid value for parameter "search_path": "a b"/)
  })
})

test('`options` must be an object of setting names and plain values (INVALID_CONFIG)', () => {
  refusesConfig({ options: { 'search_path; DROP': 'x' } }, /`options` keys must be server setting names/)
  refusesConfig({ options: { search_path: { a: 1 } } }, /`options.search_path` must be a string, number or boolean/)
  refusesConfig({ options: 'search_path=a' }, /`options` must be an object of server settings/)
  refusesConfig({ keepAlive: 'yes' }, /`keepAlive` must be true or false/)
  refusesConfig({ keepAliveInitialDelayMillis: -1 }, /`keepAliveInitialDelayMillis`/)
})

/**
 * The keepalive timer of each of the pool's sockets as `ss -tno` shows it on the client side
 * (seconds until the next probe), or null for a socket without one. The client ports come from
 * pg_stat_activity.
 */
async function keepaliveTimers(client, applicationName) {
  const ports = (await client.query('SELECT client_port FROM pg_stat_activity WHERE application_name = $1', [applicationName])).rows.map((r) => r.client_port)
  assert.ok(ports.length > 0, 'the pool has connections')
  return ports.map((port) => {
    const lines = execFileSync('ss', ['-tnoH', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8' }).trim().split('\n').filter(Boolean)
    assert.equal(lines.length, 1, `one established socket from port ${port}: ${lines}`)
    const timer = lines[0].match(/timer:\(keepalive,(?:(\d+)min)?(?:([\d.]+)sec)?(?:([\d.]+)ms)?/)
    if (!timer) return null
    const [, min = 0, sec = 0, ms = 0] = timer
    return Number(min) * 60 + Number(sec) + Number(ms) / 1000
  })
}

test('keepAlive is on by default: the client sockets carry a keepalive timer', async () => {
  await observed('settings-keepalive', { max: 2 }, async ({ db, client, applicationName }) => {
    await Promise.all([1, 2].map(() => db.query('SELECT pg_sleep(0.05)')))
    const timers = await keepaliveTimers(client, applicationName)
    assert.equal(timers.length, 2)
    for (const t of timers) assert.ok(t !== null && t <= 60, `keepalive timer within the default 60 s delay: ${t}`)
  })
})

test('keepAliveInitialDelayMillis sets the idle time before the first probe', async () => {
  await observed('settings-keepalive-delay', { max: 1, keepAliveInitialDelayMillis: 5000 }, async ({ db, client, applicationName }) => {
    await db.query('SELECT 1')
    const [timer] = await keepaliveTimers(client, applicationName)
    assert.ok(timer !== null && timer <= 5, `keepalive timer within 5 s: ${timer}`)
  })
})

test('keepAlive: false: no keepalive timer on the client sockets', async () => {
  await observed('settings-no-keepalive', { max: 1, keepAlive: false }, async ({ db, client, applicationName }) => {
    await db.query('SELECT 1')
    assert.deepEqual(await keepaliveTimers(client, applicationName), [null])
  })
})

test('without `options`, the server\'s own settings apply', async () => {
  const db = new DatabaseManager({ max: 1, applicationName: uniqueName('settings-none') })
  try {
    const server = (await db.query("SELECT reset_val FROM pg_settings WHERE name = 'TimeZone'")).rows[0].reset_val
    assert.deepEqual((await db.query('SHOW timezone')).rows, [{ TimeZone: server }])
  } finally {
    await db.close()
  }
})
