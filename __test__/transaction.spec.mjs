// Acceptance (issue 4, points 1 and 8): executeTransaction commits what a callback that returns
// wrote and rolls back what one that throws wrote, rejecting with the thrown object itself; its
// options reach the server; the list form is all or nothing.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DatabaseManager, DatabaseError, uniqueName, observer, withManager } from './helpers.mjs'

const applicationName = uniqueName('transaction')
const db = new DatabaseManager({ max: 2, connectionTimeoutMillis: 5000, applicationName })

test.before(() => db.query('DROP TABLE IF EXISTS tx_rows; CREATE TABLE tx_rows (id int PRIMARY KEY, note text)'))
test.after(async () => {
  await db.query('DROP TABLE tx_rows')
  await db.close()
})

const count = async () => (await db.query('SELECT count(*)::int AS n FROM tx_rows')).rows[0].n

test('a callback that returns commits, and executeTransaction resolves to its value', async () => {
  const before = await count()
  const value = await db.executeTransaction(async (client) => {
    await client.query('INSERT INTO tx_rows VALUES ($1, $2)', [1, 'kept'])
    await client.query('INSERT INTO tx_rows VALUES ($1, $2)', [2, 'kept'])
    return { inserted: 2 }
  })
  assert.deepEqual(value, { inserted: 2 })
  assert.equal(await count(), before + 2)
})

test('a callback that throws rolls back, and the rejection is the thrown object itself', async () => {
  const before = await count()
  const thrown = new Error('changed my mind')
  const err = await db.executeTransaction(async (client) => {
    await client.query('INSERT INTO tx_rows VALUES ($1, $2)', [10, 'gone'])
    throw thrown
  }).catch((e) => e)
  assert.equal(err, thrown)
  assert.equal(await count(), before)
})

test('a server error inside rolls back and rejects with that DatabaseError', async () => {
  const before = await count()
  let failed
  const err = await db.executeTransaction(async (client) => {
    await client.query('INSERT INTO tx_rows VALUES ($1, $2)', [20, 'gone'])
    failed = client.query('INSERT INTO tx_rows VALUES ($1, $2)', [20, 'duplicate'])
    await failed
  }).catch((e) => e)
  assert.ok(err instanceof DatabaseError)
  assert.equal(err.code, '23505')
  assert.equal(err, await failed.catch((e) => e))
  assert.match(err.stack.split('\n')[1], /transaction\.spec\.mjs/, 'the stack starts at the line that awaited the query')
  assert.equal(await count(), before)
})

test('a failing COMMIT rolls back and rejects with its error', async () => {
  await db.query('DROP TABLE IF EXISTS tx_deferred; CREATE TABLE tx_deferred (id int UNIQUE DEFERRABLE INITIALLY DEFERRED)')
  const err = await db.executeTransaction(async (client) => {
    await client.query('INSERT INTO tx_deferred VALUES (1), (1)')
  }).catch((e) => e)
  assert.equal(err.code, '23505')
  assert.match(err.stack.split('\n')[1], /transaction\.spec\.mjs/, 'the stack starts at the line that awaited executeTransaction')
  assert.equal((await db.query('SELECT count(*)::int AS n FROM tx_deferred')).rows[0].n, 0)
  await db.query('DROP TABLE tx_deferred')
})

test('the transaction that gets a connection right behind a failing COMMIT runs clean on it', async () => {
  await withManager({ max: 1, connectionTimeoutMillis: 5000 }, async (one) => {
    await one.query('DROP TABLE IF EXISTS tx_behind; CREATE TABLE tx_behind (id int UNIQUE DEFERRABLE INITIALLY DEFERRED)')
    // The second waits for the only connection, which goes to it once the first's COMMIT is
    // written, before that COMMIT fails.
    const [first, second] = await Promise.allSettled([
      one.executeTransaction((client) => client.query('INSERT INTO tx_behind VALUES (1), (1)')),
      one.executeTransaction(async (client) => {
        await client.query('INSERT INTO tx_behind VALUES (2)')
        return (await client.query("SELECT current_setting('transaction_isolation') AS level, count(*)::int AS n FROM tx_behind")).rows[0]
      }),
    ])
    assert.equal(first.reason?.code, '23505')
    assert.deepEqual(second.value, { level: 'read committed', n: 1 })
    assert.deepEqual((await one.query('SELECT array_agg(id) AS ids FROM tx_behind')).rows, [{ ids: [2] }])
    const stats = one.getPoolStatistics()
    assert.equal(stats.totalCount, 1)
    assert.equal(stats.idleCount, 1)
    await one.query('DROP TABLE tx_behind')
  })
})

test('each isolation level, readOnly and deferrable reach the server', async () => {
  const show = (client) => client.query(
    'SELECT current_setting($1) AS isolation, current_setting($2) AS read_only, current_setting($3) AS deferrable',
    ['transaction_isolation', 'transaction_read_only', 'transaction_deferrable'])
  const cases = [
    [{}, ['read committed', 'off', 'off']],
    [{ isolationLevel: 'read committed' }, ['read committed', 'off', 'off']],
    [{ isolationLevel: 'repeatable read' }, ['repeatable read', 'off', 'off']],
    [{ isolationLevel: 'serializable' }, ['serializable', 'off', 'off']],
    [{ readOnly: true }, ['read committed', 'on', 'off']],
    [{ isolationLevel: 'serializable', readOnly: true, deferrable: true }, ['serializable', 'on', 'on']],
    [{ readOnly: false, deferrable: false }, ['read committed', 'off', 'off']],
  ]
  for (const [options, expected] of cases) {
    const r = await db.executeTransaction(show, options)
    assert.deepEqual(Object.values(r.rows[0]), expected, JSON.stringify(options))
  }
})

test('a write inside a readOnly transaction fails with 25006', async () => {
  const err = await db.executeTransaction((client) => client.query('INSERT INTO tx_rows VALUES (30, $1)', ['x']), { readOnly: true }).catch((e) => e)
  assert.equal(err.code, '25006')
})

test('the list form runs every query in one transaction and resolves to their results', async () => {
  const results = await db.executeTransaction([
    { text: 'INSERT INTO tx_rows VALUES ($1, $2)', values: [40, 'a'] },
    { text: 'INSERT INTO tx_rows VALUES ($1, $2) RETURNING id', values: [41, 'b'] },
    'SELECT count(*)::int AS n FROM tx_rows WHERE id >= 40',
  ])
  assert.deepEqual(results.map((r) => r.command), ['INSERT', 'INSERT', 'SELECT'])
  assert.deepEqual(results[1].rows, [{ id: 41 }])
  assert.deepEqual(results[2].rows, [{ n: 2 }])
})

test('the list form with a failing third query applies none and rejects with its error', async () => {
  const before = await count()
  const err = await db.executeTransaction([
    { text: 'INSERT INTO tx_rows VALUES ($1, $2)', values: [50, 'a'] },
    { text: 'INSERT INTO tx_rows VALUES ($1, $2)', values: [51, 'b'] },
    { text: 'INSERT INTO tx_rows VALUES ($1, $2)', values: [50, 'duplicate'] },
  ]).catch((e) => e)
  assert.ok(err instanceof DatabaseError)
  assert.equal(err.code, '23505')
  assert.equal(err.constraint, 'tx_rows_pkey')
  assert.equal(await count(), before)
  assert.equal((await db.query('SELECT count(*)::int AS n FROM tx_rows WHERE id IN (50, 51)')).rows[0].n, 0)
})

test('retries re-run the callback on serialization failure and stop after `retries`', async () => {
  let calls = 0
  const serializationFailure = Object.assign(new Error('could not serialize'), { code: '40001' })
  const value = await db.executeTransaction(async () => {
    calls += 1
    if (calls < 3) throw serializationFailure
    return calls
  }, { retries: 2 })
  assert.equal(value, 3)
  calls = 0
  const err = await db.executeTransaction(async () => {
    calls += 1
    throw serializationFailure
  }, { retries: 1 }).catch((e) => e)
  assert.equal(err, serializationFailure)
  assert.equal(calls, 2)
  calls = 0
  await db.executeTransaction(async () => {
    calls += 1
    throw new Error('not retryable')
  }, { retries: 5 }).catch(() => {})
  assert.equal(calls, 1)
})

test('bad arguments are INVALID_ARGUMENT before anything runs', async () => {
  const cases = [
    [[undefined], /needs a callback/],
    [['SELECT 1'], /needs a callback \(client\) => … or a list of queries \(got string\)/],
    [[() => {}, { isolationLevel: 'chaos' }], /`isolationLevel` must be 'read committed', 'repeatable read' or 'serializable' \(got "chaos"\)/],
    [[() => {}, { readOnly: 'yes' }], /`readOnly` must be true or false/],
    [[() => {}, { retries: -1 }], /`retries` must be an integer ≥ 0 \(got -1\)/],
    [[() => {}, { timeoutMillis: 1.5 }], /`timeoutMillis` must be a whole number of milliseconds/],
    [[() => {}, { isolation: 'serializable' }], /unknown executeTransaction option `isolation`/],
    [[[{ text: 'SELECT 1' }, 42]], /list item \[1\] must be \{ text, values \} or a string \(got number\)/],
  ]
  for (const [args, pattern] of cases) {
    const err = await db.executeTransaction(...args).catch((e) => e)
    assert.ok(err instanceof DatabaseError, String(err))
    assert.equal(err.code, 'INVALID_ARGUMENT')
    assert.match(err.message, pattern)
  }
})

test('every connection is back in the pool, idle and outside a transaction', async () => {
  const client = await observer()
  try {
    const r = await client.query('SELECT state FROM pg_stat_activity WHERE application_name = $1', [applicationName])
    assert.ok(r.rows.length >= 1)
    assert.ok(r.rows.every((row) => row.state === 'idle'), JSON.stringify(r.rows))
  } finally {
    await client.end()
  }
})
