// COPY (issue 26): copyFrom(sql) is a Writable of COPY … FROM STDIN's data and copyTo(sql) a
// Readable of COPY … TO STDOUT's, on the manager (a connection of their own for their length) and
// on clients (in their turn, inside transactions too). Data in CSV, text and binary loads and
// comes back byte for byte as pg-copy-streams gives it; a bad row rejects with the server's
// SQLSTATE and its line, leaving nothing loaded; a destroyed stream fails the COPY on the server
// and leaves the connection clean; memory stays bounded by the streams' buffers both ways.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { pipeline } from 'node:stream/promises'
import { Readable, Writable } from 'node:stream'
import { createRequire } from 'node:module'
import pg from 'pg'
import { DatabaseManager, DatabaseError, observer, rejectsWith, uniqueName, until } from './helpers.mjs'

const require = createRequire(import.meta.url)
const { from: pgCopyFrom, to: pgCopyTo } = require('pg-copy-streams')

const applicationName = uniqueName('copy')
const db = new DatabaseManager({ max: 3, applicationName })
const look = await observer()
const theirs = new pg.Client()
await theirs.connect()

test.after(async () => {
  await db.close()
  await look.end()
  await theirs.end()
})

/** Everything `readable` gives, as one Buffer. */
async function collect(readable) {
  const chunks = []
  for await (const chunk of readable) chunks.push(chunk)
  return Buffer.concat(chunks)
}

const count = async (table) => (await db.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n

/** The states of this manager's backends in pg_stat_activity. */
async function states() {
  const r = await look.query('SELECT state FROM pg_stat_activity WHERE application_name = $1 ORDER BY pid', [applicationName])
  return r.rows.map((row) => row.state)
}

/** Until every connection of the manager is idle, in the pool and on the server. */
async function allIdle() {
  await until(async () => {
    const s = db.getPoolStatistics()
    const server = await states()
    return s.activeConnections === 0 && server.length === s.totalConnections && server.every((state) => state === 'idle')
  }, { what: 'every connection idle, in the pool and on the server' })
}

const ROWS = `SELECT i AS id, 'name ' || i || CASE WHEN i % 7 = 0 THEN ', with "quotes"' ELSE '' END AS name,
  CASE WHEN i % 5 = 0 THEN NULL ELSE i * 1.5 END::numeric(10,2) AS amount,
  timestamptz '2024-01-01 00:00:00+00' + i * interval '1 hour' AS at, i % 2 = 0 AS even,
  decode(md5(i::text), 'hex') AS digest
  FROM generate_series(1, 2000) AS i`

test.before(async () => {
  await db.query(`DROP TABLE IF EXISTS copy_src, copy_dst, copy_ints, copy_big;
    CREATE TABLE copy_src AS ${ROWS};
    CREATE TABLE copy_dst (LIKE copy_src);
    CREATE TABLE copy_ints (n int NOT NULL);
    CREATE UNLOGGED TABLE copy_big (s text)`)
})

for (const format of ['csv', 'text', 'binary']) {
  test(`${format}: what copyTo gives is what pg-copy-streams gives, and copyFrom loads it back byte for byte`, async () => {
    const out = `COPY copy_src TO STDOUT (FORMAT ${format})`
    const ours = await collect(db.copyTo(out))
    const expected = await collect(theirs.query(pgCopyTo(out)))
    assert.ok(ours.length > 50000, `${ours.length} bytes`)
    assert.ok(ours.equals(expected), `${format}: the same bytes as pg-copy-streams`)
    await db.query('TRUNCATE copy_dst')
    // Fed in uneven pieces, as a file or a socket would.
    const pieces = []
    for (let at = 0; at < ours.length; at += 1000 + (at % 7919)) pieces.push(ours.subarray(at, at + 1000 + (at % 7919)))
    const writable = db.copyFrom(`COPY copy_dst FROM STDIN (FORMAT ${format})`)
    await pipeline(Readable.from(pieces), writable)
    assert.equal(writable.rowCount, 2000)
    const back = await collect(db.copyTo(`COPY copy_dst TO STDOUT (FORMAT ${format})`))
    assert.ok(back.equals(ours), 'copyTo round-trips what copyFrom loaded')
  })
}

test('copyFrom takes strings as well as Buffers, and query() points COPY at the new calls', async () => {
  await db.query('TRUNCATE copy_ints')
  const writable = db.copyFrom('COPY copy_ints FROM STDIN')
  writable.write('1\n2\n')
  writable.write(Buffer.from('3\n'))
  writable.end('4\n')
  await new Promise((resolve, reject) => writable.on('finish', resolve).on('error', reject))
  assert.equal(writable.rowCount, 4)
  assert.equal(await count('copy_ints'), 4)
  await rejectsWith(db.query('COPY copy_ints FROM STDIN'), 'INVALID_ARGUMENT', /copyFrom\(sql\).*copyTo\(sql\)/)
})

test('a malformed row rejects with 22P02 naming its line; nothing is loaded and the connection serves on', async () => {
  await db.query('TRUNCATE copy_ints; INSERT INTO copy_ints VALUES (-1)')
  const rows = Array.from({ length: 1000 }, (_, i) => (i === 41 ? 'abc\n' : `${i}\n`))
  const writable = db.copyFrom('COPY copy_ints FROM STDIN')
  const err = await pipeline(Readable.from(rows), writable).catch((e) => e)
  assert.ok(err instanceof DatabaseError, String(err))
  assert.equal(err.code, '22P02')
  assert.equal(err.copyLine, 42)
  assert.match(err.message, /invalid input syntax for type integer: "abc" \(COPY copy_ints, line 42/)
  assert.match(err.where, /COPY copy_ints, line 42/)
  assert.equal(writable.rowCount, null)
  assert.deepEqual((await db.query('SELECT n FROM copy_ints')).rows, [{ n: -1 }], 'the table is unchanged')
  await allIdle()
  assert.equal(db.getPoolStatistics().connectionsRemoved, 0, 'the connection went back to the pool')
  // On a client: the next query on the same client works.
  const client = await db.getClient()
  try {
    const bad = client.copyFrom('COPY copy_ints FROM STDIN (FORMAT csv)')
    await rejectsWith(pipeline(Readable.from(['1\n', '2\n', 'x\n']), bad), '22P02', /line 3/)
    assert.deepEqual((await client.query('SELECT count(*)::int AS n FROM copy_ints')).rows, [{ n: 1 }])
  } finally {
    await client.release()
  }
})

test('bad statements: the wrong direction, not a COPY, a server-side file', async () => {
  for (const [open, code, pattern] of [
    [() => db.copyFrom('COPY copy_ints TO STDOUT'), 'INVALID_ARGUMENT', /use copyTo\(\)/],
    [() => db.copyTo('COPY copy_ints FROM STDIN'), 'INVALID_ARGUMENT', /use copyFrom\(\)/],
    [() => db.copyTo('SELECT 1'), 'INVALID_ARGUMENT', /got a SELECT statement/],
    [() => db.copyFrom("COPY copy_ints FROM '/etc/passwd'"), 'INVALID_ARGUMENT', /server-side file/],
    [() => db.copyTo('COPY no_such_table TO STDOUT'), '42P01', /no_such_table/],
  ]) {
    const stream = open()
    const failed = new Promise((resolve) => stream.on('error', resolve))
    if (stream instanceof Writable) stream.end('1\n')
    else stream.resume()
    const err = await failed
    assert.equal(err.code, code, err.message)
    assert.match(err.message, pattern)
  }
  assert.throws(() => db.copyFrom(42), (e) => e.code === 'INVALID_ARGUMENT')
  assert.throws(() => db.copyTo('COPY t TO STDOUT', { highWaterMark: 0 }), (e) => e.code === 'INVALID_ARGUMENT')
  await allIdle()
})

/** A Readable of `rows` lines of `'x'.repeat(width)`, made as it is read. */
function lines(rows, width = 1000) {
  const chunk = Buffer.from(`${'x'.repeat(width - 1)}\n`.repeat(64))
  let left = rows / 64
  return new Readable({
    read() {
      this.push(left-- > 0 ? chunk : null)
    },
  })
}

test('destroy() half way sends CopyFail: the COPY fails on the server, nothing stays, the connection is clean', async () => {
  await db.query('TRUNCATE copy_big')
  const writable = db.copyFrom('COPY copy_big FROM STDIN')
  let written = 0
  const source = lines(100000)
  source.on('data', (d) => {
    written += d.length
    if (written > 5e6) writable.destroy(new Error('stopped by the test'))
  })
  const err = await pipeline(source, writable).catch((e) => e)
  assert.equal(err.message, 'stopped by the test')
  assert.equal(await count('copy_big'), 0, 'nothing was loaded')
  await allIdle()
  assert.equal(db.getPoolStatistics().connectionsRemoved, 0)
  // With an AbortSignal, on a client: the client serves on, outside any transaction.
  const client = await db.getClient()
  try {
    const controller = new AbortController()
    const aborted = client.copyFrom('COPY copy_big FROM STDIN', { signal: controller.signal })
    aborted.write('one\n')
    controller.abort()
    const e = await new Promise((resolve) => aborted.on('error', resolve))
    assert.equal(e.name, 'AbortError')
    assert.equal((await client.query('SELECT count(*)::int AS n FROM copy_big')).rows[0].n, 0)
    await rejectsWith(client.query('SAVEPOINT s'), '25P01')
  } finally {
    await client.release()
  }
})

test('inside executeTransaction: the rows are the transaction\'s, and roll back with it', async () => {
  await db.query('TRUNCATE copy_ints')
  const failure = new Error('roll it back')
  const err = await db.executeTransaction(async (client) => {
    await pipeline(Readable.from(['1\n2\n3\n']), client.copyFrom('COPY copy_ints FROM STDIN'))
    assert.equal((await client.query('SELECT count(*)::int AS n FROM copy_ints')).rows[0].n, 3)
    const seen = await collect(client.copyTo('COPY copy_ints TO STDOUT'))
    assert.equal(seen.toString(), '1\n2\n3\n')
    throw failure
  }).catch((e) => e)
  assert.equal(err, failure)
  assert.equal(await count('copy_ints'), 0, 'rolled back')
  // Committed, as the first statement of the transaction (its BEGIN goes first).
  const loaded = await db.executeTransaction(async (client) => {
    const writable = client.copyFrom('COPY copy_ints FROM STDIN')
    await pipeline(Readable.from(['7\n8\n']), writable)
    return writable.rowCount
  })
  assert.equal(loaded, 2)
  assert.equal(await count('copy_ints'), 2)
  // A bad row aborts the transaction, and executeTransaction reports it.
  await rejectsWith(db.executeTransaction(async (client) => {
    await pipeline(Readable.from(['9\nx\n']), client.copyFrom('COPY copy_ints FROM STDIN')).catch(() => {})
  }), '22P02', /line 2/)
  assert.equal(await count('copy_ints'), 2)
  await allIdle()
})

test('a client\'s later queries wait for its COPY, and a deferred BEGIN goes before it', async () => {
  await db.query('TRUNCATE copy_ints')
  const client = await db.getClient()
  try {
    await client.query('BEGIN')
    const writable = client.copyFrom('COPY copy_ints FROM STDIN')
    const counted = client.query('SELECT count(*)::int AS n FROM copy_ints')
    writable.write('1\n')
    setTimeout(() => writable.end('2\n'), 50)
    assert.equal((await counted).rows[0].n, 2, 'the query ran after the COPY')
    await client.query('ROLLBACK')
  } finally {
    await client.release()
  }
  assert.equal(await count('copy_ints'), 0)
})

test('a COPY left open is stopped by release(), by its transaction\'s end, and by its timeout', async () => {
  await db.query('TRUNCATE copy_ints')
  const client = await db.getClient()
  const open = client.copyFrom('COPY copy_ints FROM STDIN')
  open.write('1\n')
  const stopped = new Promise((resolve) => open.on('error', resolve))
  await client.release()
  assert.equal((await stopped).code, 'CLIENT_RELEASED')
  const late = client.copyTo('COPY copy_ints TO STDOUT')
  assert.equal((await new Promise((resolve) => late.on('error', resolve))).code, 'CLIENT_RELEASED', 'after release')
  // The callback returns without awaiting its stream: the transaction rolls back and says why.
  await rejectsWith(db.executeTransaction(async (tx) => {
    const left = tx.copyFrom('COPY copy_ints FROM STDIN')
    left.on('error', () => {})
    left.write('2\n')
  }), 'CLIENT_RELEASED', /callback returned while a COPY/)
  // A stream that never ends, in a transaction with a timeout.
  await rejectsWith(db.executeTransaction(async (tx) => {
    const stuck = tx.copyFrom('COPY copy_ints FROM STDIN')
    stuck.on('error', () => {})
    stuck.write('3\n')
    await new Promise(() => {})
  }, { timeoutMillis: 200 }), 'TRANSACTION_TIMEOUT')
  assert.equal(await count('copy_ints'), 0)
  await allIdle()
  assert.equal(db.getPoolStatistics().connectionsRemoved, 0)
})

/** Runs `work` while sampling this process's RSS; resolves to the peak growth, in MB. */
async function rssGrowth(work) {
  global.gc?.()
  const base = process.memoryUsage.rss()
  let peak = base
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()) }, 5)
  try {
    await work()
  } finally {
    clearInterval(timer)
  }
  peak = Math.max(peak, process.memoryUsage.rss())
  return (peak - base) / 2 ** 20
}

test('memory: loading 128 MB grows RSS by the streams\' buffers, not the data', async () => {
  await db.query('TRUNCATE copy_big')
  const writable = db.copyFrom('COPY copy_big FROM STDIN')
  const growth = await rssGrowth(() => pipeline(lines(128 * 1024), writable))
  assert.equal(writable.rowCount, 128 * 1024)
  assert.ok(growth < 32, `RSS grew by ${growth.toFixed(1)} MB while 128 MB went to the server`)
  await db.query('TRUNCATE copy_big')
})

test('copyTo reads as fast as it is consumed: a paused reader holds a few batches, and destroy() cancels', async () => {
  // 200 MB that the server would send at once.
  const readable = db.copyTo("COPY (SELECT repeat('x', 1000) FROM generate_series(1, 200000)) TO STDOUT", { highWaterMark: 16 * 1024 })
  const growth = await rssGrowth(async () => {
    await new Promise((resolve) => readable.once('readable', resolve))
    // Not read: the stream fills its buffer, the engine a batch or two, and then the server waits.
    await new Promise((resolve) => setTimeout(resolve, 300))
  })
  assert.ok(readable.readableLength <= 256 * 1024, `${readable.readableLength} bytes buffered in the stream`)
  assert.ok(growth < 16, `RSS grew by ${growth.toFixed(1)} MB while the server had 200 MB to send`)
  const [backend] = (await look.query("SELECT state, wait_event FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'COPY (SELECT repeat%'", [applicationName])).rows
  assert.deepEqual(backend, { state: 'active', wait_event: 'ClientWrite' }, 'the server waits for the client to read')
  const closed = new Promise((resolve) => readable.on('close', resolve))
  readable.destroy()
  await closed
  await allIdle()
  assert.equal(db.getPoolStatistics().connectionsRemoved, 0, 'cancelled (57014), the connection stays')
})
