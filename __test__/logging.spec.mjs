// Logging: LOG_LEVEL=trace shows the whole life of a query (connect, query, error, close) with
// durations and never the password or a parameter value; slowQueryMillis logs a slow query once
// at warn; the logger option receives (level, message, fields); managers keep their own levels.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DatabaseManager, until } from './helpers.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const PARAMETER = 'parameter-value-7f3a'

/** Runs `body` in a child process with a `db` manager on the test server; resolves with its stderr. */
function child(env, options, body) {
  const script = `
    const { DatabaseManager } = require(${JSON.stringify(root)})
    const db = new DatabaseManager({ connectionString: process.env.PGRP_TEST_URL, ...${JSON.stringify(options)} })
    ;(async () => { ${body} })().catch((e) => { console.log('FAILED', e); process.exitCode = 1 })
  `
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['-e', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    p.stdout.on('data', (d) => { stdout += d })
    p.stderr.on('data', (d) => { stderr += d })
    p.on('error', reject)
    p.on('exit', (code) => (code === 0 ? resolve(stderr) : reject(new Error(`exit ${code}\n${stdout}\n${stderr}`))))
  })
}

const lines = (text, pattern) => text.split('\n').filter((l) => pattern.test(l))

test('LOG_LEVEL=trace: connect, query, error and close with durations, no password, no parameter value', async () => {
  const password = process.env.PGPASSWORD
  assert.ok(process.env.PGRP_TEST_URL.includes(password), 'the connection string carries the password')
  const stderr = await child({ LOG_LEVEL: 'trace' }, {}, `
    await db.query('SELECT $1::text AS v', [${JSON.stringify(PARAMETER)}])
    await db.query('SELEKT 1').catch(() => {})
    await db.query('SELECT $1::int', [${JSON.stringify(PARAMETER)}]).catch(() => {})
    await db.close()
  `)
  assert.equal(lines(stderr, /INFO pg_rust_pool: connection opened .*pid=\d+ duration_ms=[\d.]+/).length, 1, stderr)
  assert.equal(lines(stderr, /TRACE pg_rust_pool: connection acquired .*wait_ms=[\d.]+/).length, 3, stderr)
  assert.equal(lines(stderr, /TRACE pg_rust_pool: connection released/).length, 3, stderr)
  assert.equal(lines(stderr, /DEBUG pg_rust_pool: query sql="SELECT \$1::text AS v" duration_ms=[\d.]+ rows=1 params=1$/).length, 1, stderr)
  assert.equal(lines(stderr, /DEBUG pg_rust_pool: query failed sql="SELEKT 1" duration_ms=[\d.]+ code="42601"/).length, 1, stderr)
  assert.equal(lines(stderr, /DEBUG pg_rust_pool: query failed sql="SELECT \$1::int" duration_ms=[\d.]+ code="22P02"/).length, 1, stderr)
  assert.equal(lines(stderr, /INFO pg_rust_pool: connection closed .*reason="closed"/).length, 1, stderr)
  assert.ok(!stderr.includes(password), 'the password appears nowhere')
  assert.ok(!stderr.includes(PARAMETER), 'no parameter value, not even quoted in the 22P02 message')
})

test('logParameters: true shows parameter values (and still never the password)', async () => {
  const stderr = await child({ LOG_LEVEL: 'debug' }, { logParameters: true }, `
    await db.query('SELECT $1::text, $2::text', [${JSON.stringify(PARAMETER)}, process.env.PGPASSWORD])
    await db.close()
  `)
  assert.equal(lines(stderr, new RegExp(`query .*parameters="\\[\\\\"${PARAMETER}\\\\", \\\\"\\*\\*\\*\\\\"\\]"`)).length, 1, stderr)
  assert.ok(!stderr.includes(process.env.PGPASSWORD))
})

test('slowQueryMillis: 50 logs SELECT pg_sleep(0.1) exactly once, at warn', async () => {
  const stderr = await child({ LOG_LEVEL: '' }, { slowQueryMillis: 50 }, `
    await db.query('SELECT pg_sleep(0.1)')
    await db.query('SELECT 1')
    await db.close()
  `)
  const slow = lines(stderr, /pg_sleep/)
  assert.equal(slow.length, 1, stderr)
  assert.match(slow[0], /^\S+Z\s+WARN pg_rust_pool: slow query sql="SELECT pg_sleep\(0\.1\)" duration_ms=(\d+\.?\d*) rows=1/)
  assert.ok(Number(slow[0].match(/duration_ms=([\d.]+)/)[1]) >= 100)
  assert.equal(stderr.trim().split('\n').length, 1, `nothing else at the default level (warn):\n${stderr}`)

  // At debug too, the slow query is one line, at warn.
  const records = []
  const db = new DatabaseManager({ logLevel: 'debug', slowQueryMillis: 50, logger: (...r) => records.push(r) })
  await db.query('SELECT pg_sleep(0.1)')
  await db.close()
  // Records reach the logger asynchronously; the manager's last one is its connection closing.
  await until(() => records.some(([, message]) => message === 'connection closed'), { what: 'the last log record' })
  const mentions = records.filter(([, , fields]) => JSON.stringify(fields).includes('pg_sleep'))
  assert.equal(mentions.length, 1)
  assert.equal(mentions[0][0], 'warn')
  assert.equal(mentions[0][1], 'slow query')
  assert.equal(mentions[0][2].sql, 'SELECT pg_sleep(0.1)')
  assert.ok(mentions[0][2].duration_ms >= 100)
})

test('the logger option gets (level, message, fields), and each manager keeps its own level', async () => {
  const quiet = []
  const loud = []
  const a = new DatabaseManager({ name: 'quiet', logLevel: 'error', logger: (...r) => quiet.push(r) })
  const b = new DatabaseManager({ name: 'loud', logLevel: 'debug', logger: (...r) => loud.push(r) })
  const thrower = new DatabaseManager({ logLevel: 'debug', logger: () => { throw new Error('logger bug') } })
  try {
    await a.query('SELECT 1')
    await b.query('SELECT 2 AS two')
    await thrower.query('SELECT 3') // a throwing logger is reported as a warning; the query succeeds
  } finally {
    await Promise.all([a.close(), b.close(), thrower.close()])
  }
  // Records reach the logger asynchronously; the loud manager's last one is its connection closing.
  await until(() => loud.some(([, message]) => message === 'connection closed'), { what: 'the loud manager\'s last log record' })
  assert.deepEqual(quiet, [])
  const query = loud.find(([, message]) => message === 'query')
  assert.ok(query, JSON.stringify(loud))
  const [level, , fields] = query
  assert.equal(level, 'debug')
  assert.deepEqual(Object.keys(fields).sort(), ['duration_ms', 'params', 'pool', 'rows', 'sql'])
  assert.deepEqual([fields.pool, fields.sql, fields.rows, fields.params], ['loud', 'SELECT 2 AS two', 1, 0])
  assert.ok(loud.some(([l, m, f]) => l === 'info' && m === 'connection opened' && f.pid > 0))
  assert.ok(loud.some(([l, m, f]) => l === 'info' && m === 'connection closed' && f.reason === 'closed'))
})

test('logLevel and logger are checked', () => {
  assert.throws(() => new DatabaseManager({ logLevel: 'loud' }), { code: 'INVALID_CONFIG', message: /`logLevel` must be 'error', 'warn', 'info', 'debug', 'trace' or 'off'/ })
  assert.throws(() => new DatabaseManager({ logger: 'console' }), { code: 'INVALID_CONFIG', message: /`logger` must be a function/ })
  assert.throws(() => new DatabaseManager({ slowQueryMillis: -5 }), { code: 'INVALID_CONFIG', message: /`slowQueryMillis` must be/ })
})
