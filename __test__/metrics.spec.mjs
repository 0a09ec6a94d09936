// metrics(): Prometheus text that a parser accepts, each line in the exposition format, every
// counter equal to getPoolStatistics(), histograms for acquire wait and query duration, and a
// `pool` label when the manager has a name.
//
// parse-prometheus-text-format (a port of the Prometheus Python client's parser) reads the
// families; it is lenient (it returns [] for garbage) and drops the labels, _sum and _count of a
// labelled histogram, so each line is also checked against the format's grammar here.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { withManager } from './helpers.mjs'

const parse = createRequire(import.meta.url)('parse-prometheus-text-format')

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*'
const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`
const VALUE = '(?:[-+]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][-+]?\\d+)?|[-+]Inf|NaN)'
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(${LABEL}(?:,${LABEL})*)\\})? (${VALUE})$`)
const HELP = new RegExp(`^# HELP (${NAME}) .+$`)
const TYPE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`)

/** Checks every line of `text` against the 0.0.4 grammar; returns { family: type }. */
function strictCheck(text) {
  assert.ok(text.endsWith('\n'), 'ends with a newline')
  const types = {}
  for (const line of text.slice(0, -1).split('\n')) {
    let m
    if ((m = line.match(HELP))) continue
    if ((m = line.match(TYPE))) {
      assert.ok(!(m[1] in types), `${m[1]} declared twice`)
      types[m[1]] = m[2]
      continue
    }
    m = line.match(SAMPLE)
    assert.ok(m, `not a valid sample line: ${JSON.stringify(line)}`)
    const family = Object.keys(types).find((f) => m[1] === f || (types[f] === 'histogram' && [`${f}_bucket`, `${f}_sum`, `${f}_count`].includes(m[1])))
    assert.ok(family, `${m[1]} has no # TYPE before it`)
    assert.ok(m[1].startsWith('pg_rust_pool_'), m[1])
  }
  for (const [family, type] of Object.entries(types)) {
    assert.equal(type === 'counter', family.endsWith('_total'), `${family} (${type}): counters, and only counters, end in _total`)
  }
  return types
}

function families(text) {
  return Object.fromEntries(parse(text).map((f) => [f.name, f]))
}

const single = (f) => Number(f.metrics[0].value)

test('the scrape parses, follows the format, and its counters equal getPoolStatistics()', async () => {
  await withManager({ max: 3 }, async (db) => {
    await Promise.all(Array.from({ length: 40 }, (_, i) => db.query('SELECT $1::int', [i])))
    await Promise.allSettled([db.query('SELECT 1/0'), db.query('SELEKT')])
    const text = db.metrics()
    const stats = db.getPoolStatistics()
    const types = strictCheck(text)
    assert.deepEqual(types, {
      pg_rust_pool_connections: 'gauge',
      pg_rust_pool_connections_max: 'gauge',
      pg_rust_pool_connections_min: 'gauge',
      pg_rust_pool_waiting_requests: 'gauge',
      pg_rust_pool_circuit_open: 'gauge',
      pg_rust_pool_listen_connected: 'gauge',
      pg_rust_pool_listen_channels: 'gauge',
      pg_rust_pool_queries_total: 'counter',
      pg_rust_pool_transactions_total: 'counter',
      pg_rust_pool_errors_total: 'counter',
      pg_rust_pool_pool_exhausted_total: 'counter',
      pg_rust_pool_connections_created_total: 'counter',
      pg_rust_pool_connections_removed_total: 'counter',
      pg_rust_pool_circuit_openings_total: 'counter',
      pg_rust_pool_listen_reconnects_total: 'counter',
      pg_rust_pool_notifications_received_total: 'counter',
      pg_rust_pool_acquire_duration_seconds: 'histogram',
      pg_rust_pool_query_duration_seconds: 'histogram',
    })
    const f = families(text)
    assert.equal(Object.keys(f).length, 18, 'the parser read every family')
    assert.ok(Object.values(f).every((family) => family.help.length > 0))
    assert.equal(single(f.pg_rust_pool_queries_total), stats.queriesExecuted)
    assert.equal(stats.queriesExecuted, 42)
    assert.equal(single(f.pg_rust_pool_errors_total), stats.errors)
    assert.equal(stats.errors, 2)
    assert.equal(single(f.pg_rust_pool_transactions_total), stats.transactionsExecuted)
    assert.equal(single(f.pg_rust_pool_pool_exhausted_total), stats.poolExhaustedCount)
    assert.equal(single(f.pg_rust_pool_connections_created_total), stats.connectionsCreated)
    assert.equal(single(f.pg_rust_pool_connections_removed_total), stats.connectionsRemoved)
    assert.equal(single(f.pg_rust_pool_connections_max), 3)
    assert.equal(single(f.pg_rust_pool_waiting_requests), stats.waitingRequests)
    const byState = Object.fromEntries(f.pg_rust_pool_connections.metrics.map((m) => [m.labels.state, Number(m.value)]))
    assert.deepEqual(byState, { active: stats.activeConnections, idle: stats.idleConnections })

    for (const name of ['pg_rust_pool_acquire_duration_seconds', 'pg_rust_pool_query_duration_seconds']) {
      const h = f[name].metrics[0]
      assert.equal(Number(h.count), 42, `${name}: one observation per query`)
      assert.equal(Number(h.buckets['+Inf']), 42)
      // Sorted by bound: the parser returns buckets as an object, whose integer-like keys come first.
      const bounds = Object.keys(h.buckets).sort((a, b) => Number(a.replace('+Inf', 'Infinity')) - Number(b.replace('+Inf', 'Infinity')))
      assert.deepEqual(bounds, ['0.0001', '0.0005', '0.001', '0.0025', '0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '+Inf'])
      const counts = bounds.map((b) => Number(h.buckets[b]))
      assert.deepEqual(counts, [...counts].sort((a, b) => a - b), `${name}: buckets are cumulative`)
      assert.ok(Number(h.sum) > 0)
    }
  })
})

test('a named manager labels every sample with pool', async () => {
  await withManager({ name: 'orders "eu"' }, async (db) => {
    await db.query('SELECT 1')
    const text = db.metrics()
    strictCheck(text)
    const samples = text.split('\n').filter((l) => l && !l.startsWith('#'))
    assert.ok(samples.every((l) => l.includes('{pool="orders \\"eu\\""')), text)
    for (const family of parse(text).filter((f) => f.type !== 'HISTOGRAM')) {
      for (const m of family.metrics) assert.equal(m.labels?.pool, 'orders "eu"', family.name)
    }
    assert.ok(samples.includes('pg_rust_pool_query_duration_seconds_count{pool="orders \\"eu\\""} 1'), text)
    assert.equal(families(text).pg_rust_pool_queries_total.metrics[0].value, '1')
  })
})
