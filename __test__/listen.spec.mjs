// LISTEN/NOTIFY (issue 26, acceptance 3): one connection outside `max` carries every channel;
// notifications arrive in order and none is lost under load; after pg_terminate_backend and after
// a server restart the channels are listened again within 2 s of the server being reachable, the
// `listen` event says so, and later notifications arrive. Also: unlisten, channel names that
// need quoting, bad names, a throwing callback, close(), and the process held while listening.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import pg from 'pg'
import { startCluster, freePort } from './harness/cluster.mjs'
import { waitForLine } from './harness/processes.mjs'
import {
  DatabaseManager, observer, backends, backendPids, uniqueName, eventually, until, rejectsWith, runFixture, within, sleep,
} from './helpers.mjs'

/** Collects the notifications of `channel` on `db`; `unlisten` stops it. */
async function collect(db, channel) {
  const seen = []
  const unlisten = await db.listen(channel, (n) => seen.push(n))
  return { seen, unlisten }
}

/** The next `listen` event of `db` with `reconnected: true`, and when it came. */
function nextReconnect(db) {
  return new Promise((resolve) => {
    const on = (info) => {
      if (!info.reconnected) return
      db.off('listen', on)
      resolve({ info, at: performance.now() })
    }
    db.on('listen', on)
  })
}

test('10,000 notifications from another connection arrive in order, none lost, while the pool serves queries', async (t) => {
  const applicationName = uniqueName('listen-burst')
  const db = new DatabaseManager({ max: 4, applicationName })
  const sender = await observer()
  try {
    const { seen } = await collect(db, 'burst')
    const stats = db.getPoolStatistics()
    assert.equal(stats.totalCount, 0, 'the LISTEN connection is outside the pool')
    assert.deepEqual(stats.listen, { connected: true, channels: 1, reconnects: 0, notifications: 0 })
    const started = performance.now()
    // 100 transactions of 100 notifications each, from a plain pg connection.
    const sending = (async () => {
      for (let from = 1; from <= 10000; from += 100) {
        await sender.query("SELECT pg_notify('burst', i::text) FROM generate_series($1::int, $1::int + 99) i", [from])
      }
    })()
    // Meanwhile the pool runs queries of its own.
    const querying = (async () => {
      let n = 0
      while (seen.length < 10000 && n < 5000) {
        const batch = await Promise.all(Array.from({ length: 8 }, (_, i) => db.query('SELECT $1::int AS i', [n + i])))
        batch.forEach((r, i) => assert.equal(r.rows[0].i, n + i))
        n += 8
      }
      return n
    })()
    await sending
    await until(() => seen.length >= 10000, { timeoutMs: 10000, what: '10,000 notifications arriving' })
    const queries = await querying
    t.diagnostic(`10,000 notifications in ${Math.round(performance.now() - started)} ms, ${queries} pool queries meanwhile`)
    assert.ok(queries > 0)
    assert.equal(seen.length, 10000, 'none twice')
    const pid = (await backendPids(sender, `${applicationName} (listen)`))[0]
    seen.forEach((n, i) => {
      if (n.payload !== String(i + 1)) assert.fail(`notification ${i} is ${n.payload}, expected ${i + 1}`)
      assert.equal(n.channel, 'burst')
      assert.equal(n.processId, sender.processID)
    })
    assert.ok(pid > 0, 'the LISTEN connection is named after the manager')
    assert.equal(db.getPoolStatistics().listen.notifications, 10000)
    assert.match(db.metrics(), /^pg_rust_pool_notifications_received_total 10000$/m)
    assert.match(db.metrics(), /^pg_rust_pool_listen_connected 1$/m)
  } finally {
    await db.close()
    await sender.end()
  }
})

test('after pg_terminate_backend of the LISTEN connection: error, then listen { reconnected } within 2 s, then notifications again', async (t) => {
  const db = new DatabaseManager({ applicationName: uniqueName('listen-kill') })
  const client = await observer()
  const errors = []
  db.on('error', (error, info) => errors.push([error, info]))
  const opened = once(db, 'listen')
  try {
    const { seen } = await collect(db, 'kill')
    const [first] = await opened
    assert.equal(first.reconnected, false)
    assert.deepEqual(first.channels, ['kill'])
    const { seen: other } = await collect(db, 'Other')
    const reconnect = nextReconnect(db)
    const killed = performance.now()
    await client.query('SELECT pg_terminate_backend($1)', [first.pid])
    const { info, at } = await within(reconnect, 5000, 'the reconnect')
    t.diagnostic(`listening again ${Math.round(at - killed)} ms after pg_terminate_backend`)
    assert.ok(at - killed < 2000, `${Math.round(at - killed)} ms`)
    assert.notEqual(info.pid, first.pid)
    assert.deepEqual(info.channels.sort(), ['Other', 'kill'])
    assert.equal(errors.length, 1)
    assert.equal(errors[0][0].code, '57P01')
    assert.deepEqual(errors[0][1], { pid: first.pid, listen: true })
    await db.notify('kill', 'after')
    await db.notify('Other', 'after')
    await until(() => seen.length === 1 && other.length === 1, { what: 'notifications after the reconnect' })
    assert.equal(seen[0].payload, 'after')
    const { listen } = db.getPoolStatistics()
    assert.deepEqual(listen, { connected: true, channels: 2, reconnects: 1, notifications: 2 })
  } finally {
    await db.close()
    await client.end()
  }
})

test('after a server restart the channels are listened again within 2 s of the server being reachable', async (t) => {
  const cluster = await startCluster()
  const db = new DatabaseManager({ connectionString: cluster.url, applicationName: uniqueName('listen-restart') })
  const errors = []
  db.on('error', (error) => errors.push(error))
  try {
    const { seen } = await collect(db, 'restart')
    const reconnect = nextReconnect(db)
    await cluster.stopServer()
    const stopped = performance.now()
    await sleep(300)
    await cluster.start() // resolves once pg_isready says the server accepts connections
    const reachable = performance.now()
    const { at } = await within(reconnect, 5000, 'the reconnect')
    t.diagnostic(`down ${Math.round(reachable - stopped)} ms; listening again ${Math.round(at - reachable)} ms after the server was reachable`)
    assert.ok(at - reachable < 2000, `${Math.round(at - reachable)} ms`)
    assert.ok(errors.length >= 1, 'the loss was reported')
    const sender = new pg.Client({ connectionString: cluster.url })
    await sender.connect()
    try {
      await sender.query("SELECT pg_notify('restart', 'back')")
    } finally {
      await sender.end()
    }
    await until(() => seen.length === 1, { what: 'a notification after the restart' })
    assert.equal(seen[0].payload, 'back')
    assert.equal(db.getPoolStatistics().listen.reconnects, 1)
  } finally {
    await db.close()
    await cluster.stop()
  }
})

test('callbacks on one channel share one LISTEN; unlisten stops delivery, and the last one UNLISTENs on the server', async () => {
  const db = new DatabaseManager({ applicationName: uniqueName('listen-unlisten') })
  try {
    const a = await collect(db, 'shared')
    const b = await collect(db, 'shared')
    const barrier = await collect(db, 'barrier')
    assert.equal(db.getPoolStatistics().listen.channels, 2)
    await db.notify('shared', '1')
    await until(() => a.seen.length === 1 && b.seen.length === 1, { what: 'both callbacks called' })
    await a.unlisten()
    await a.unlisten() // a second call does nothing
    await db.notify('shared', '2')
    await until(() => b.seen.length === 2, { what: 'the other callback still called' })
    assert.equal(a.seen.length, 1)
    await b.unlisten()
    assert.equal(db.getPoolStatistics().listen.channels, 1)
    const received = db.getPoolStatistics().listen.notifications
    // Sent in this order, so had 'shared' still been listened its notification would come first.
    await db.notify('shared', '3')
    await db.notify('barrier', 'done')
    await until(() => barrier.seen.length === 1, { what: 'the barrier' })
    assert.equal(db.getPoolStatistics().listen.notifications, received + 1, 'the server sent nothing more on the channel')
    assert.equal(b.seen.length, 2)
    // Listened again after the UNLISTEN, it delivers again.
    const c = await collect(db, 'shared')
    await db.notify('shared', '4')
    await until(() => c.seen.length === 1, { what: 'the channel listened again' })
  } finally {
    await db.close()
  }
})

test('channel names keep case, spaces and quotes; bad names and arguments are INVALID_ARGUMENT', async () => {
  const db = new DatabaseManager({ applicationName: uniqueName('listen-names') })
  const client = await observer()
  try {
    const names = ['MixedCase', 'two words', 'say "hi"', 'semi; colon -- x', 'café ✓', 'x'.repeat(63)]
    const collected = await Promise.all(names.map((name) => collect(db, name)))
    for (const name of names) await db.notify(name, `to ${name}`)
    // As SQL too: NOTIFY with the same identifier, quoted by pg.
    await client.query(`NOTIFY ${pg.escapeIdentifier('say "hi"')}, 'from NOTIFY'`)
    await until(() => collected.every(({ seen }, i) => seen.length === (names[i] === 'say "hi"' ? 2 : 1)), { what: 'every channel served' })
    collected.forEach(({ seen }, i) => assert.deepEqual(seen[0], { channel: names[i], payload: `to ${names[i]}`, processId: seen[0].processId }))
    assert.equal(db.getPoolStatistics().listen.channels, names.length)
    // A lower-case name is another channel than its mixed-case twin.
    const lower = await collect(db, 'mixedcase')
    await db.notify('MixedCase', 'again')
    await until(() => collected[0].seen.length === 2, { what: 'the mixed-case channel' })
    assert.equal(lower.seen.length, 0)

    for (const bad of ['', 'a\0b', 'x'.repeat(64), 'é'.repeat(32)]) {
      await rejectsWith(db.listen(bad, () => {}), 'INVALID_ARGUMENT', /`channel`/)
      await rejectsWith(db.notify(bad, 'x'), 'INVALID_ARGUMENT', /`channel`/)
    }
    await rejectsWith(db.listen(42, () => {}), 'INVALID_ARGUMENT', /channel must be a string/)
    await rejectsWith(db.listen('ok', 'not a function'), 'INVALID_ARGUMENT', /onNotification must be a function/)
    await rejectsWith(db.notify('ok', 42), 'INVALID_ARGUMENT', /payload must be a string/)
    // A payload the server refuses (over 8000 bytes) is the server's error.
    await rejectsWith(db.notify('ok', 'x'.repeat(9000)), '22023', /payload string too long/)
    assert.equal(db.getPoolStatistics().listen.channels, names.length + 1, 'failed calls listen on nothing')
  } finally {
    await db.close()
    await client.end()
  }
})

test('a callback that throws or rejects goes to `error` (or a warning without a listener); delivery goes on', async (t) => {
  const db = new DatabaseManager({ applicationName: uniqueName('listen-throw') })
  const warnings = []
  const onWarning = (w) => warnings.push(w)
  process.on('warning', onWarning)
  t.after(() => process.off('warning', onWarning))
  try {
    const seen = []
    await db.listen('throws', (n) => {
      seen.push(n.payload)
      throw new Error(`callback threw on ${n.payload}`)
    })
    await db.listen('rejects', async (n) => {
      seen.push(n.payload)
      throw new Error(`callback rejected on ${n.payload}`)
    })
    // Without an error listener: a process warning, no crash.
    await db.notify('throws', 'one')
    await until(() => warnings.some((w) => /callback threw on one/.test(w.message)), { what: 'the warning' })
    const errors = []
    db.on('error', (error, info) => errors.push([error, info]))
    await db.notify('throws', 'two')
    await db.notify('rejects', 'three')
    await until(() => errors.length === 2, { what: 'two error events' })
    const [[thrown, info], [rejected]] = errors
    assert.equal(thrown.code, 'NOTIFICATION_CALLBACK_ERROR')
    assert.match(thrown.message, /callback of channel "throws" threw.*callback threw on two/)
    assert.equal(thrown.cause.message, 'callback threw on two')
    assert.equal(info.channel, 'throws')
    assert.equal(info.listen, true)
    assert.ok(info.pid > 0)
    assert.equal(rejected.cause.message, 'callback rejected on three')
    assert.deepEqual(seen, ['one', 'two', 'three'])
    assert.deepEqual((await db.query('SELECT 1 AS one')).rows, [{ one: 1 }])
  } finally {
    await db.close()
  }
})

test('listen() without a reachable server rejects with the connect error and listens on nothing', async () => {
  const db = new DatabaseManager({ host: '127.0.0.1', port: await freePort(), applicationName: uniqueName('listen-down') })
  try {
    await rejectsWith(db.listen('nowhere', () => {}), 'ECONNREFUSED')
    assert.deepEqual(db.getPoolStatistics().listen, { connected: false, channels: 0, reconnects: 0, notifications: 0 })
  } finally {
    await db.close()
  }
})

test('close() ends the LISTEN connection: no backend left; listen() then rejects with POOL_CLOSED', async () => {
  const applicationName = uniqueName('listen-close')
  const db = new DatabaseManager({ applicationName })
  const client = await observer()
  try {
    const { unlisten } = await collect(db, 'closing')
    await db.query('SELECT 1')
    assert.equal(await backends(client, `${applicationName} (listen)`), 1)
    await db.close()
    assert.equal(await backends(client, `${applicationName} (listen)`), 0, 'gone when close() resolves')
    assert.equal(await backends(client, applicationName), 0)
    assert.deepEqual(db.getPoolStatistics().listen, { connected: false, channels: 0, reconnects: 0, notifications: 0 })
    await rejectsWith(db.listen('closing', () => {}), 'POOL_CLOSED')
    await rejectsWith(db.notify('closing', 'x'), 'POOL_CLOSED')
    await unlisten() // nothing left to stop: resolves
  } finally {
    await db.close()
    await client.end()
  }
})

test('a process that listens stays alive for its notifications, and exits by itself once it unlistens', async () => {
  const applicationName = uniqueName('listen-hold')
  const run = runFixture('listen-without-close.mjs', {
    FIXTURE_OPTIONS: JSON.stringify({ applicationName }),
    FIXTURE_CHANNEL: 'hold',
  })
  const client = await observer()
  try {
    await waitForLine(run.child.stdout, /^listening$/, { timeoutMs: 15000 })
    // Long enough for a process nothing holds to have exited.
    await sleep(300)
    assert.equal(run.child.exitCode, null, `still running; stderr: ${run.stderr()}`)
    await client.query("SELECT pg_notify('hold', 'work')")
    await waitForLine(run.child.stdout, /^got work$/, { timeoutMs: 5000 })
    const { code, signal } = await within(run.exited, 5000, 'the child exiting by itself')
    assert.equal(signal, null, `stderr: ${run.stderr()}`)
    assert.equal(code, 0, `stderr: ${run.stderr()}`)
    assert.ok(await eventually(async () => (await backends(client, `${applicationName} (listen)`)) === 0), 'its connection went with it')
  } finally {
    run.child.kill('SIGKILL')
    await client.end()
  }
})
