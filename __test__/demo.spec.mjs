// The demo (`npm run demo`): with no DATABASE_URL it embeds a throwaway PostgreSQL, serves its
// routes (users, notes, the health endpoints, metrics), logs the pool's events, and on SIGINT
// closes everything and exits 0, leaving no server process behind; the same with its routes on
// require('pg-rust-pool/pg') in place of pg (DEMO_MODULE=pg, issue 22). Every timestamp it sends
// has Date#toISOString()'s form (issue 23).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { waitForLine, withChildren, waitUntilGone, isRunning } from './harness/processes.mjs'

const demoServer = join(dirname(fileURLToPath(import.meta.url)), 'demo', 'server.mjs')

/** This environment without any database settings, so that the demo embeds its own server. */
function envWithoutDatabase(module) {
  const env = { ...process.env, PORT: '0', DEMO_MODULE: module }
  for (const key of Object.keys(env)) if (key === 'DATABASE_URL' || /^(PG|DB_)/.test(key)) delete env[key]
  return env
}

async function request(base, method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  })
  const json = res.headers.get('content-type')?.startsWith('application/json')
  return { status: res.status, body: json ? await res.json() : await res.text() }
}

/** Asserts that `text` is a timestamp from the last minute in Date#toISOString()'s form. */
function assertTimestamp(text, where) {
  assert.match(text, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, `${where}: ${text}`)
  assert.equal(new Date(text).toISOString(), text, where)
  assert.ok(Math.abs(Date.parse(text) - Date.now()) < 60000, `${where}: a timestamp from now (${text})`)
}

for (const [module, label] of [['', 'DatabaseManager'], ['pg', 'pg-rust-pool/pg']]) {
  test(`the demo on ${label} embeds PostgreSQL, serves its routes and stops cleanly on SIGINT`, { timeout: 60000 }, async (t) => {
    const demo = spawn(process.execPath, [demoServer], { env: envWithoutDatabase(module), stdio: ['ignore', 'pipe', 'pipe'] })
    t.after(() => demo.kill('SIGKILL')) // a failed assertion must not leave the demo running
    const exited = new Promise((resolve) => demo.once('exit', (code, signal) => resolve({ code, signal })))
    let stdout = ''
    demo.stdout.setEncoding('utf8')
    demo.stdout.on('data', (d) => { stdout += d })
    demo.stderr.resume()

    const [, base] = await waitForLine(demo.stdout, /^listening on (http:\/\/127\.0\.0\.1:\d+)$/, { what: 'the listening line' })
    const embedded = stdout.match(/started an embedded PostgreSQL \(pid (\d+)\) in (\S+)/)
    assert.ok(embedded, `the demo says it embedded a server; it printed:\n${stdout}`)
    const postmaster = Number(embedded[1])
    const dataDir = embedded[2]
    assert.ok(isRunning(postmaster))
    const serverProcesses = withChildren(postmaster)

    const index = await request(base, 'GET', '/')
    assert.equal(index.status, 200)
    assert.ok(index.body.routes.includes('GET /users'))

    const users = await request(base, 'GET', '/users')
    assert.equal(users.status, 200)
    assert.deepEqual(users.body.map((u) => [u.id, u.name, u.email]), [
      [1, 'Ada Lovelace', 'ada@example.com'],
      [2, 'Alan Turing', 'alan@example.com'],
      [3, 'Grace Hopper', 'grace@example.com'],
    ])
    for (const user of users.body) assertTimestamp(user.createdAt, 'GET /users')

    const created = await request(base, 'POST', '/users', { name: 'Edsger Dijkstra', email: 'edsger@example.com' })
    assert.equal(created.status, 201)
    assert.deepEqual({ ...created.body, createdAt: typeof created.body.createdAt },
      { id: 4, name: 'Edsger Dijkstra', email: 'edsger@example.com', createdAt: 'string' })
    assertTimestamp(created.body.createdAt, 'POST /users')

    assert.deepEqual(await request(base, 'GET', '/users/4'), { status: 200, body: created.body })
    assert.deepEqual(await request(base, 'GET', '/users/999'), { status: 404, body: { error: 'no such user', code: 'NOT_FOUND' } })

    const duplicate = await request(base, 'POST', '/users', { name: 'Someone Else', email: 'edsger@example.com' })
    assert.equal(duplicate.status, 500)
    assert.equal(duplicate.body.code, '23505')
    assert.match(duplicate.body.error, /duplicate key value/)

    const time = await request(base, 'GET', '/time')
    assertTimestamp(time.body.now, 'GET /time')

    assert.deepEqual(await request(base, 'GET', '/users/1/notes'), { status: 200, body: [] })
    const note = await request(base, 'POST', '/users/1/notes', { body: 'first program' })
    assert.equal(note.status, 201)
    assert.deepEqual({ ...note.body, createdAt: typeof note.body.createdAt }, { id: 1, userId: 1, body: 'first program', createdAt: 'string' })
    assertTimestamp(note.body.createdAt, 'POST /users/1/notes')
    // The same note, and its time written the same, read back as a list.
    assert.deepEqual(await request(base, 'GET', '/users/1/notes'),
      { status: 200, body: [{ id: 1, body: 'first program', createdAt: note.body.createdAt }] })
    assert.deepEqual(await request(base, 'POST', '/users/999/notes', { body: 'x' }), { status: 404, body: { error: 'no such user', code: 'NOT_FOUND' } })
    assert.equal((await request(base, 'POST', '/users/1/notes', {})).status, 400)

    for (const route of index.body.routes.filter((r) => r.startsWith('GET ') && !r.includes(':'))) {
      assert.equal((await request(base, 'GET', route.slice(4))).status, 200, route)
    }
    const health = await request(base, 'GET', '/health')
    assert.deepEqual([health.body.status, health.body.isReplica], ['healthy', false])
    assert.deepEqual(await request(base, 'GET', '/ready'), { status: 200, body: { status: 'ready', database: 'healthy' } })
    assert.equal((await request(base, 'GET', '/health/database')).body.database, 'postgres')
    assert.equal((await request(base, 'GET', '/live')).body.status, 'alive')
    const status = await request(base, 'GET', '/status')
    assert.ok(status.body.pool.queriesExecuted >= 10, JSON.stringify(status.body))
    assert.equal(status.body.pool.errors, 1, 'the duplicate email')
    const metrics = await request(base, 'GET', '/metrics')
    assert.match(metrics.body, /\npg_rust_pool_errors_total\{pool="demo"\} 1\n/)
    assert.match(stdout, /^pool: connection \d+ opened$/m, 'the demo logs pool events')

    demo.kill('SIGINT')
    let timer
    const late = new Promise((resolve) => { timer = setTimeout(resolve, 15000, 'still running after 15 s') })
    const ended = await Promise.race([exited, late]).finally(() => clearTimeout(timer))
    assert.deepEqual(ended, { code: 0, signal: null })
    assert.match(stdout, /^pool: connection \d+ closed \(closed\)$/m)
    assert.deepEqual(await waitUntilGone(serverProcesses, 1000), [], 'no process of the embedded server remains')
    assert.equal(spawnSync('pgrep', ['-f', dataDir]).status, 1, `no process mentions ${dataDir}`)
    assert.equal(existsSync(dirname(dataDir)), false, 'the embedded cluster directory is removed')
  })
}
