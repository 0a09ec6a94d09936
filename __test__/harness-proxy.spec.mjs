// The harness's fault proxy (issue 24), mode by mode, with node-postgres as the client and a real
// server behind it: pass-through, delay, black hole, freeze, reset, refuse, and close leaving
// nothing open. Every wait is bounded.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { connect } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import pg from 'pg'
import { startCluster } from './harness/cluster.mjs'
import { startProxy } from './harness/proxy.mjs'
import { within } from './helpers.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

let cluster
before(async () => { cluster = await startCluster() })
after(async () => { await cluster?.stop() })

/** Whether `promise` settles (either way) within `ms`. */
async function settlesWithin(promise, ms) {
  let settled = false
  promise.then(() => { settled = true }, () => { settled = true })
  await sleep(ms)
  return settled
}

/** The error `promise` rejects with within `ms`; fails if it resolves. */
const rejection = (promise, ms, what) =>
  within(promise.then(() => assert.fail(`${what}: expected a failure`), (e) => e), ms, what)

/** A node-postgres client for the proxy, not connected yet. */
function pgClient(proxy) {
  const client = new pg.Client({
    host: proxy.host, port: proxy.port, user: cluster.user, password: cluster.password,
    database: cluster.database, connectionTimeoutMillis: 5000,
  })
  client.on('error', () => {}) // a connection the proxy ends while idle is reported here
  return client
}

async function connected(proxy) {
  const client = pgClient(proxy)
  await within(client.connect(), 5000, 'connecting through the proxy')
  return client
}

/** Runs fn(proxy) with a proxy to the cluster; always closes it, which ends its connections. */
async function withProxy(fn) {
  const proxy = await startProxy({ port: cluster.port })
  try {
    return await fn(proxy)
  } finally {
    await within(proxy.close(), 2000, 'proxy.close()')
  }
}

/** ESTABLISHED server-side sockets of the cluster's port, from /proc/net/tcp (Linux). */
function serverSockets() {
  const port = cluster.port.toString(16).toUpperCase().padStart(4, '0')
  return readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f[1]?.endsWith(`:${port}`) && f[3] === '01').length
}

/** The send (tx) and receive (rx) queues of the loopback socket localPort → remotePort, from /proc/net/tcp. */
function tcpQueues(localPort, remotePort) {
  const hex = (port) => `:${port.toString(16).toUpperCase().padStart(4, '0')}`
  const line = readFileSync('/proc/net/tcp', 'utf8').split('\n').map((l) => l.trim().split(/\s+/))
    .find((f) => f[1]?.endsWith(hex(localPort)) && f[2]?.endsWith(hex(remotePort)))
  assert.ok(line, `no socket ${localPort} → ${remotePort} in /proc/net/tcp`)
  const [tx, rx] = line[4].split(':').map((n) => parseInt(n, 16))
  return { tx, rx }
}

/** `promise`, marked handled: a test that fails early must not also report an unhandled rejection. */
function handled(promise) {
  promise.catch(() => {})
  return promise
}

async function eventually(condition, ms = 2000) {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) return false
    await sleep(10)
  }
  return true
}

test('pass() forwards queries both ways, large ones intact, and counts connections', () => withProxy(async (proxy) => {
  assert.equal(proxy.mode, 'pass')
  assert.equal(proxy.host, '127.0.0.1')
  assert.notEqual(proxy.port, cluster.port)
  const client = await connected(proxy)
  const big = 'x'.repeat(4 << 20) // several socket buffers each way, so backpressure is exercised
  const r = await within(client.query('SELECT $1::text AS t, 42 AS n', [big]), 5000, 'a query through the proxy')
  assert.equal(r.rows[0].n, 42)
  assert.equal(r.rows[0].t, big)
  assert.equal(proxy.connections, 1)
  assert.equal(proxy.accepted, 1)
  await within(client.end(), 2000, 'client.end()')
  assert.ok(await eventually(() => proxy.connections === 0), 'the connection is gone once the client ends it')
  assert.equal(proxy.accepted, 1)
}))

test('delay(ms) delays each direction by ms, so a query takes at least 2 × ms; pass() ends it', () => withProxy(async (proxy) => {
  const client = await connected(proxy)
  // 500 ms, so that a query after pass() (a few ms, more on a loaded machine) is told from a
  // delayed one (1 s) with room to spare.
  proxy.delay(500)
  assert.equal(proxy.mode, 'delay')
  let started = Date.now()
  const r = await within(client.query('SELECT 1 AS one'), 5000, 'a delayed query')
  const elapsed = Date.now() - started
  assert.deepEqual(r.rows, [{ one: 1 }])
  assert.ok(elapsed >= 1000, `the query took ${elapsed} ms, at least 500 ms each way`)
  await proxy.pass()
  started = Date.now()
  await within(client.query('SELECT 1'), 3000, 'a query after pass()')
  assert.ok(Date.now() - started < 500, `no delay after pass(): ${Date.now() - started} ms`)
  await client.end()
}))

test('blackhole() holds queries and new connections without an answer; reset() fails them', () => withProxy(async (proxy) => {
  const client = await connected(proxy)
  const sockets = serverSockets()
  proxy.blackhole()
  const query = handled(client.query('SELECT 1'))
  const late = pgClient(proxy)
  const lateConnect = handled(late.connect())
  assert.equal(await settlesWithin(query, 500), false, 'the query has no answer after 500 ms')
  assert.equal(await settlesWithin(lateConnect, 0), false, 'a new connection has no answer either')
  assert.equal(proxy.accepted, 2, 'the new connection was accepted (the handshake completed)')
  assert.equal(proxy.connections, 2)
  assert.equal(serverSockets(), sockets, 'nothing reached the server for the new connection')
  proxy.reset()
  const error = await rejection(query, 2000, 'the black-holed query after reset()')
  assert.equal(error.code, 'ECONNRESET')
  await rejection(lateConnect, 2000, 'the black-holed connect after reset()')
  // After pass(), new connections work again.
  await proxy.pass()
  const again = await connected(proxy)
  assert.deepEqual((await within(again.query('SELECT 2 AS two'), 2000, 'a query after pass()')).rows, [{ two: 2 }])
  await again.end()
}))

test('freeze() stops reading, so a large write stays unacknowledged; pass() then delivers everything', (t) => withProxy(async (proxy) => {
  const client = await connected(proxy)
  const other = await connected(proxy) // node-postgres sends one query at a time per connection
  proxy.freeze()
  const small = handled(other.query('SELECT 1 AS one'))
  const late = pgClient(proxy)
  const lateConnect = handled(late.connect())
  // Larger than the client's send buffer and the proxy's receive buffer at their kernel maxima
  // (net.ipv4.tcp_wmem, tcp_rmem), so the proxy's window fills.
  const max = (name) => Number(readFileSync(`/proc/sys/net/ipv4/${name}`, 'utf8').trim().split(/\s+/)[2])
  const size = max('tcp_wmem') + max('tcp_rmem') + (1 << 20)
  const big = handled(client.query('SELECT length($1::text) AS n', ['y'.repeat(size)]))
  assert.equal(await settlesWithin(Promise.race([small, lateConnect, big]), 500), false, 'nothing is answered while frozen')
  // On loopback, bytes still in the client's kernel after 500 ms are bytes the proxy's kernel
  // has not acknowledged: its window is full.
  const stream = client.connection.stream
  const sent = tcpQueues(stream.localPort, proxy.port)
  const received = tcpQueues(proxy.port, stream.localPort)
  t.diagnostic(`client: ${sent.tx} bytes not acknowledged; proxy's kernel: ${received.rx} bytes acknowledged, not read`)
  assert.ok(sent.tx > 0, 'the client has unacknowledged bytes')
  assert.ok(received.rx > 0, "the proxy's kernel holds what it acknowledged")
  await proxy.pass()
  // Unlike a black hole, nothing was lost: the queued bytes arrive in order.
  assert.deepEqual((await within(small, 5000, 'the frozen small query after pass()')).rows, [{ one: 1 }])
  assert.deepEqual((await within(big, 10000, 'the frozen large query after pass()')).rows, [{ n: size }])
  await within(lateConnect, 5000, 'the connection accepted while frozen, after pass()')
  assert.deepEqual((await within(late.query('SELECT 3 AS three'), 2000, 'a query on it')).rows, [{ three: 3 }])
  await Promise.all([client.end(), other.end(), late.end()])
}))

test('reset() fails an in-flight query with ECONNRESET and resets the server side; later connections work', () => withProxy(async (proxy) => {
  const client = await connected(proxy)
  const sockets = serverSockets()
  const query = handled(client.query('SELECT pg_sleep(5)'))
  await sleep(100)
  const started = Date.now()
  proxy.reset()
  const error = await rejection(query, 4000, 'the in-flight query after reset()')
  assert.equal(error.code, 'ECONNRESET')
  // At once: with slack for a loaded machine, and far from the statement's 5 s.
  assert.ok(Date.now() - started < 2000, `it fails at once, not after ${Date.now() - started} ms`)
  assert.ok(await eventually(() => serverSockets() === sockets - 1), "the server's end of the connection is reset too")
  assert.ok(await eventually(() => proxy.connections === 0))
  const again = await connected(proxy)
  assert.deepEqual((await within(again.query('SELECT 4 AS four'), 2000, 'a query after reset()')).rows, [{ four: 4 }])
  await again.end()
}))

test('refuse() refuses new connections with ECONNREFUSED and keeps existing ones; pass() listens again on the same port', () => withProxy(async (proxy) => {
  const client = await connected(proxy)
  const port = proxy.port
  await proxy.refuse()
  assert.equal(proxy.listening, false)
  const error = await rejection(pgClient(proxy).connect(), 2000, 'connecting while refused')
  assert.equal(error.code, 'ECONNREFUSED')
  assert.deepEqual((await within(client.query('SELECT 5 AS five'), 2000, 'a query on an existing connection')).rows, [{ five: 5 }])
  await proxy.pass()
  assert.equal(proxy.port, port)
  const again = await connected(proxy)
  assert.deepEqual((await within(again.query('SELECT 6 AS six'), 2000, 'a query after pass()')).rows, [{ six: 6 }])
  await Promise.all([client.end(), again.end()])
}))

test('close() ends every connection in every mode and leaves nothing that keeps the process alive', async () => {
  // In a child process, which must then exit by itself: a leftover socket, server or timer
  // (the 60 s delay below) would keep it running.
  const program = `
    import { connect } from 'node:net'
    import pg from ${JSON.stringify(pathToFileURL(createRequire(import.meta.url).resolve('pg')).href)}
    import { startProxy } from ${JSON.stringify(pathToFileURL(join(here, 'harness', 'proxy.mjs')).href)}
    const port = ${cluster.port}
    const delayed = await startProxy({ port })
    const client = new pg.Client({ host: delayed.host, port: delayed.port, user: ${JSON.stringify(cluster.user)},
      password: ${JSON.stringify(cluster.password)}, database: 'postgres' })
    client.on('error', () => {})
    await client.connect()
    delayed.delay(60000)
    const query = client.query('SELECT 1').then(() => 'answered', (e) => 'failed')
    const frozen = await startProxy({ port })
    frozen.freeze()
    const raw = connect(frozen.port, '127.0.0.1').on('error', () => {})
    await new Promise((resolve) => raw.once('connect', resolve))
    const holed = await startProxy({ port })
    holed.blackhole()
    const raw2 = connect(holed.port, '127.0.0.1').on('error', () => {})
    await new Promise((resolve) => raw2.once('connect', resolve))
    const refused = await startProxy({ port })
    await refused.refuse()
    while (frozen.accepted + holed.accepted < 2) await new Promise((resolve) => setTimeout(resolve, 5))
    await Promise.all([delayed.close(), frozen.close(), holed.close(), refused.close()])
    console.log(JSON.stringify({ query: await query, open: delayed.connections + frozen.connections + holed.connections }))
  `
  const child = spawn(process.execPath, ['--input-type=module', '-e', program], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.on('data', (d) => { out += d })
  child.stderr.on('data', (d) => { err += d })
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  const ended = await within(exited, 5000, 'the child process exiting by itself').catch((e) => {
    child.kill('SIGKILL')
    throw new Error(`${e.message}; it printed: ${out}${err}`)
  })
  assert.deepEqual(ended, { code: 0, signal: null }, err)
  assert.deepEqual(JSON.parse(out), { query: 'failed', open: 0 })
})

test('a raw connection: order holds when the delay changes, and the reply and FIN come back', () => withProxy(async (proxy) => {
  // A startup packet for protocol 0.0 in two chunks: the first held 300 ms, the second not at
  // all. Reordered, the server would read a length of 0 and say so; in order, it refuses the
  // protocol with an ErrorResponse and closes.
  const socket = connect(proxy.port, proxy.host)
  socket.on('error', () => {})
  let reply = ''
  socket.on('data', (d) => { reply += d })
  const closed = new Promise((resolve) => socket.once('close', resolve))
  proxy.delay(300)
  const started = Date.now()
  socket.write(Buffer.from([0, 0, 0, 8]))
  assert.ok(await eventually(() => proxy.connections === 1))
  await sleep(50) // the proxy reads the first chunk under delay(300)
  proxy.delay(0)
  socket.end(Buffer.from([0, 0, 0, 0])) // then FIN
  await within(closed, 2000, 'the server closing the connection')
  assert.ok(Date.now() - started >= 300)
  assert.match(reply, /^E.*unsupported frontend protocol 0\.0/s, "the server's ErrorResponse came through")
  assert.ok(await eventually(() => proxy.connections === 0), 'the proxy drops the connection')
}))
