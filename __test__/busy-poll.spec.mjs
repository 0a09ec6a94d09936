// busyPollMicros: while lone queries run one after another, the engine's thread polls instead of
// sleeping between them, and it stops polling once they stop. What is observed is the engine
// thread's own scheduler counters (/proc/self/task), never a speed.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { withManager, sleep, refusesConfig } from './helpers.mjs'

/** The engine's thread: the one tokio worker, named pg-rust-pool. */
function engineThread() {
  const tasks = readdirSync('/proc/self/task')
  const found = tasks.filter((tid) => readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() === 'pg-rust-pool')
  assert.equal(found.length, 1, `one engine thread among ${tasks.length}`)
  return found[0]
}

/** The engine thread's CPU time in clock ticks and its voluntary context switches (sleeps). */
function engineCounters() {
  const tid = engineThread()
  // Fields after the command name, which is in parentheses: utime and stime are the 12th and 13th.
  const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const status = readFileSync(`/proc/self/task/${tid}/status`, 'utf8')
  return {
    ticks: Number(fields[11]) + Number(fields[12]),
    sleeps: Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)[1]),
  }
}

/** Voluntary switches of the engine's thread per query, over `n` queries made one at a time. */
async function sleepsPerQuery(db, n) {
  for (let i = 0; i < 50; i++) await db.query('SELECT $1::int AS x', [i])
  const before = engineCounters().sleeps
  for (let i = 0; i < n; i++) {
    const r = await db.query('SELECT $1::int AS x', [i])
    assert.equal(r.rows[0].x, i)
  }
  return (engineCounters().sleeps - before) / n
}

test('between lone queries the engine polls instead of sleeping; with busyPollMicros: 0 it sleeps', async (t) => {
  // The widest window, so that a loaded machine's pauses between queries stay inside it.
  const polled = await withManager({ max: 1, busyPollMicros: 10000 }, (db) => sleepsPerQuery(db, 500))
  await sleep(50)
  const slept = await withManager({ max: 1, busyPollMicros: 0 }, (db) => sleepsPerQuery(db, 500))
  t.diagnostic(`sleeps a query: ${polled} polling, ${slept} not`)
  // Without polling the engine sleeps once for the call and once for the server's answer: about
  // 1.8 times a query. A loaded machine brings that down to about 1 (the thread, preempted, finds
  // its next piece of work already there when it runs again): half a sleep a query is the floor.
  assert.ok(slept >= 0.5, `without polling the engine slept ${slept} times a query`)
  assert.ok(polled < slept / 4, `polling, the engine slept ${polled} times a query (${slept} without)`)
})

test('the engine stops polling a window after the last query, and an idle pool costs it no CPU', async (t) => {
  await withManager({ max: 2 }, async (db) => {
    for (let i = 0; i < 300; i++) await db.query('SELECT $1::int AS x', [i])
    await Promise.all(Array.from({ length: 20 }, (_, i) => db.query('SELECT $1::int AS x', [i])))
    await sleep(20)
    const before = engineCounters().ticks
    await sleep(500)
    const used = engineCounters().ticks - before
    t.diagnostic(`${used} ticks in 500 ms idle`)
    // A thread that kept polling would use all 50 ticks of these 500 ms.
    assert.ok(used <= 5, `the idle engine used ${used} ticks of CPU in 500 ms`)
  })
})

test('busyPollMicros takes a whole number of microseconds up to 10000', () => {
  refusesConfig({ busyPollMicros: -1 }, /^`busyPollMicros` must be a whole number of microseconds from 0 to 10000 \(got -1\)$/)
  refusesConfig({ busyPollMicros: 20000 }, /^`busyPollMicros` must be a whole number of microseconds from 0 to 10000 \(got 20000\)$/)
  refusesConfig({ busyPollMicros: '100' }, /^`busyPollMicros` must be a number \(got "100"\)$/)
})
