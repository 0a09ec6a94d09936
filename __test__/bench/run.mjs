// `npm run bench`: pg-rust-pool (and its pg-shaped module) against pg and postgres.js (issue 7), with
// pgbench as the ceiling (issue 27). Starts a throwaway PostgreSQL (or uses DATABASE_URL), loads
// the data set, runs every workload through every client, each run in a fresh process, clients
// interleaved, and prints a Markdown table of rates and of the client process's CPU per
// operation, with their ratios to pg. Writes bench-results.json. It asserts no speed. The TLS
// workloads run against a second throwaway cluster with ssl=on (see tls.mjs), started only when
// one is selected. W7 (COPY in, see copy.mjs) loads one CSV file made for the run, with psql's
// \copy as its ceiling, and has a table of its own.
//
// After them, W8 (an Express service, express.mjs) and SCALE (the scale run and the in-flight
// sweep of W2, scale.mjs) print tables of their own.
//
//   BENCH_SECONDS=5 BENCH_WARMUP=1 BENCH_REPS=3 BENCH_WORKLOADS=W1,W3,W8 npm run bench
//   BENCH_WORKLOADS=W6,W6-20k npm run bench    (streams only: 2 runs each, 2,000,000 and 20,000 rows)
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import os, { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { startCluster } from '../harness/cluster.mjs'
import { findPgbench, measurePgbench, PGBENCH_THREADS, pgbenchShape } from './pgbench.mjs'
import { startTlsServer } from './tls.mjs'
import { COPY_CLIENTS, COPY_LOAD, findPsql, measureCopy, writeCopyFile } from './copy.mjs'
import { CLIENTS, LOAD, LOAD_STREAM, POOL_SIZE, STREAM_TABLE, WORKLOADS } from './workloads.mjs'
import { measureExpress, W8_APPS, W8_ROUTES } from './express.mjs'
import { measureInChild } from './measure-child.mjs'
import { runScale, scaleTables } from './scale.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..')
const setting = (name, fallback) => Number(process.env[name] || fallback)
const SECONDS = setting('BENCH_SECONDS', 5)
const WARMUP = setting('BENCH_WARMUP', 1)
const REPS = setting('BENCH_REPS', 3)
const EXTRAS = ['W8', 'SCALE']
const SELECTED = process.env.BENCH_WORKLOADS ? process.env.BENCH_WORKLOADS.split(',') : [...Object.keys(WORKLOADS), ...EXTRAS]
const NAMES = SELECTED.filter((name) => !EXTRAS.includes(name))
const MARK = 'pg-rust-pool bench' // the comment LOAD puts on `users`
const RUNNERS = [...CLIENTS, 'pgbench']
const PGBENCH_SECONDS = Math.max(1, Math.round(SECONDS)) // its -T takes whole seconds
const pgbench = findPgbench()

if (!readdirSync(root).some((f) => f.endsWith('.node'))) {
  console.error('The native addon is not built: run `npm run build` (or `npm test`) first.')
  process.exit(1)
}
for (const name of NAMES) if (!WORKLOADS[name]) throw new Error(`unknown workload ${name}: one of ${[...Object.keys(WORKLOADS), ...EXTRAS].join(', ')}`)
const COPYING = NAMES.some((name) => WORKLOADS[name].copy)
const psql = COPYING ? findPsql() : null
/** Who runs a workload: W7's loaders and psql, or the clients and pgbench. */
const runnersOf = (name) => (WORKLOADS[name].copy ? COPY_CLIENTS : RUNNERS)

/**
 * (Re)creates the data set, and W6's table when a W6 workload runs; refuses to drop tables of a
 * DATABASE_URL that it did not create.
 */
async function load(url) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const { rows: [found] } = await client.query(`SELECT to_regclass('users') IS NOT NULL OR to_regclass('events') IS NOT NULL AS exists,
      obj_description(to_regclass('users'), 'pg_class') AS mark,
      to_regclass('copy_target') IS NOT NULL AS copy, obj_description(to_regclass('copy_target'), 'pg_class') AS "copyMark",
      to_regclass($1) IS NOT NULL AS stream, obj_description(to_regclass($1), 'pg_class') AS stream_mark`, [STREAM_TABLE])
    if ((found.exists && found.mark !== MARK) || (found.copy && found.copyMark !== MARK) || (found.stream && found.stream_mark !== MARK)) {
      throw new Error(`the database already has a \`users\`, \`events\`, \`copy_target\` or \`${STREAM_TABLE}\` table that the bench did not create; ` +
        'point DATABASE_URL at a scratch database (the bench drops and recreates them)')
    }
    for (const statement of LOAD) await client.query(statement)
    if (COPYING) {
      for (const statement of COPY_LOAD) await client.query(statement)
      await client.query(`COMMENT ON TABLE copy_target IS '${MARK}'`)
    }
    if (NAMES.some((name) => WORKLOADS[name].once)) for (const statement of LOAD_STREAM) await client.query(statement)
    return (await client.query('SHOW server_version')).rows[0].server_version
  } finally {
    await client.end()
  }
}

/** Runs one client on one workload against `server` ({ url, ca? }) in a fresh process; resolves to its JSON line. */
function measure(client, name, server, env = {}) {
  if (WORKLOADS[name].copy) return measureCopy(client, server.url, copyFile, psql)
  if (client === 'pgbench' && !WORKLOADS[name].pgbench) return Promise.resolve({ unavailable: 'no pgbench script for this workload' })
  if (client === 'pgbench') return measurePgbench(pgbench, WORKLOADS[name], server, PGBENCH_SECONDS)
  return measureInChild(client, name, {
    BENCH_URL: server.url, BENCH_SSLROOTCERT: server.ca ?? '',
    BENCH_SECONDS: String(SECONDS), BENCH_WARMUP: String(WARMUP), ...env,
  }, (WARMUP + SECONDS + 60) * 1000)
}

/** What a workload's CPU figure is per. */
const unitOf = (w) => (w.perRow ? 'row' : w.rows ? 'query' : 'op')

function stats(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
  return { median, min: sorted[0], max: sorted[sorted.length - 1], values }
}

function machine(postgresVersion) {
  const version = (p) => JSON.parse(readFileSync(join(root, 'node_modules', p, 'package.json'), 'utf8')).version
  let commit = null
  try { commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim() } catch {}
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.availableParallelism(),
    memoryGB: Math.round(os.totalmem() / 2 ** 30), os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version, postgres: postgresVersion,
    // Other work on the machine skews every figure: the 1-minute load average before and after.
    loadAverage: [loadBefore, os.loadavg()[0]].map((l) => Math.round(l * 100) / 100),
    clients: { 'pg-rust-pool': commit, pg: version('pg'), 'postgres.js': version('postgres'), pgbench: pgbench.version ?? null },
  }
}

// ---- run ----
const started = Date.now()
const loadBefore = os.loadavg()[0]
let cluster = null
let tls = null
/** W7's file: { dir, path, hash (sha256), bytes }. */
let copyFile = null
const removeCopyFile = () => copyFile && rmSync(copyFile.dir, { recursive: true, force: true })
process.on('SIGINT', async () => { await Promise.all([cluster?.stop(), tls?.stop()]); removeCopyFile(); process.exit(130) })
let url = process.env.DATABASE_URL
if (!url) {
  cluster = await startCluster()
  url = cluster.url
}

const results = {}
const express = {}
let scale = null
let failed = false
let postgresVersion
try {
  const t = Date.now()
  postgresVersion = await load(url)
  console.error(`loaded the data set in ${((Date.now() - t) / 1000).toFixed(1)} s (PostgreSQL ${postgresVersion}${cluster ? ', throwaway cluster' : ''})`)
  if (NAMES.some((name) => WORKLOADS[name].tls)) {
    const t = Date.now()
    tls = await startTlsServer()
    await load(tls.url)
    console.error(`started the TLS cluster and loaded the data set in ${((Date.now() - t) / 1000).toFixed(1)} s`)
  }
  if (COPYING) {
    const t = Date.now()
    const dir = mkdtempSync(join(tmpdir(), 'pgrp-copy-'))
    const path = join(dir, 'rows.csv')
    copyFile = { dir, path, hash: writeCopyFile(path), bytes: 0 }
    copyFile.bytes = statSync(path).size
    console.error(`wrote W7's CSV file in ${((Date.now() - t) / 1000).toFixed(1)} s`)
  }
  for (const name of NAMES) {
    const runners = runnersOf(name)
    results[name] = Object.fromEntries(runners.map((c) => [c, { runs: [] }]))
    // A workload may run fewer times than REPS (W6: each run streams 2,000,000 rows).
    const reps = Math.min(REPS, WORKLOADS[name].reps ?? REPS)
    for (let rep = 0; rep < reps; rep++) {
      // Interleaved, and each repetition starts with a different client.
      for (const client of [...runners.slice(rep % runners.length), ...runners.slice(0, rep % runners.length)]) {
        const entry = results[name][client]
        if (entry.unavailable || entry.error) continue
        try {
          const run = await measure(client, name, WORKLOADS[name].tls ? tls : { url })
          if (run.unavailable) entry.unavailable = run.unavailable
          else entry.runs.push(run)
          console.error(`${name} rep ${rep + 1}/${reps} ${client}: ${run.unavailable ? `not available (${run.unavailable})`
            : `${Math.round(run.rate)}/s, ${run.cpuMicrosPerOp.toFixed(2)} µs of CPU per ${unitOf(WORKLOADS[name])}` +
              `${run.peakRssMB === undefined ? '' : `, peak RSS ${Math.round(run.peakRssMB)} MB`}`}`)
        } catch (e) {
          entry.error = e.message
          failed = true
          console.error(`${name} ${client} FAILED: ${e.message}`)
        }
      }
    }
    for (const entry of Object.values(results[name])) {
      if (!entry.runs.length) continue
      entry.rate = stats(entry.runs.map((r) => r.rate))
      entry.cpuMicrosPerOp = stats(entry.runs.map((r) => r.cpuMicrosPerOp))
      if (WORKLOADS[name].measureProcess && entry.runs[0].peakRssMB !== undefined) {
        entry.peakRssMB = stats(entry.runs.map((r) => r.peakRssMB))
        if (entry.runs[0].loopDelayP99Ms !== undefined) entry.loopDelayP99Ms = stats(entry.runs.map((r) => r.loopDelayP99Ms))
      }
    }
  }
  if (SELECTED.includes('W8')) {
    for (const route of Object.keys(W8_ROUTES)) {
      express[route] = Object.fromEntries(W8_APPS.map((a) => [a, { runs: [] }]))
      for (let rep = 0; rep < REPS; rep++) {
        for (const app of [...W8_APPS.slice(rep % W8_APPS.length), ...W8_APPS.slice(0, rep % W8_APPS.length)]) {
          const entry = express[route][app]
          if (entry.error) continue
          try {
            const run = await measureExpress(app, route, url, { seconds: SECONDS, warmup: WARMUP })
            entry.runs.push(run)
            console.error(`W8 ${route} rep ${rep + 1}/${REPS} ${app}: ${Math.round(run.rate)} requests/s, p99 ${run.p99Ms.toFixed(1)} ms, ${run.cpuMicrosPerOp.toFixed(1)} µs of CPU per request`)
          } catch (e) {
            entry.error = e.message
            failed = true
            console.error(`W8 ${route} ${app} FAILED: ${e.message}`)
          }
        }
      }
      for (const entry of Object.values(express[route])) {
        if (!entry.runs.length) continue
        for (const key of ['rate', 'p50Ms', 'p99Ms', 'cpuMicrosPerOp']) entry[key] = stats(entry.runs.map((r) => r[key]))
      }
    }
  }
  if (SELECTED.includes('SCALE')) {
    try {
      scale = await runScale((client, name, env) => measure(client, name, { url }, env), (line) => console.error(line))
    } catch (e) {
      failed = true
      console.error(`SCALE FAILED: ${e.message}`)
    }
  }
} finally {
  await Promise.all([cluster?.stop(), tls?.stop()])
  removeCopyFile()
}

// ---- report ----
const number = (x, digits) => x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
function cell(entry, key, digits) {
  if (entry.error) return 'FAILED'
  if (entry.unavailable) return 'not available'
  const s = entry[key]
  if (!s) return '—' // pgbench's RSS and event loop
  return `${number(s.median, digits)} (${number(s.min, digits)}–${number(s.max, digits)})`
}
/** The ratio of two entries' medians of `key`, or null. */
function ratio(entry, base, key) {
  if (!entry[key] || !base[key]) return null
  return Math.round((entry[key].median / base[key].median) * 100) / 100
}
// Every client and pgbench against pg, and the pg-shaped module against the manager it wraps.
const RATIOS = [...RUNNERS.filter((c) => c !== 'pg').map((c) => [c, 'pg']), ['pg-rust-pool/pg', 'pg-rust-pool']]
const rows = []
const ratios = {} // what the table shows, for bench-results.json: ratios[workload][figure]['client / base']
for (const name of NAMES) {
  const w = WORKLOADS[name]
  const r = results[name]
  if (w.copy) continue
  ratios[name] = {}
  const lines = [[w.title, w.rows ? 'rows/s' : 'ops/s', 'rate', 0], [`${name} CPU per ${unitOf(w)}`, 'µs', 'cpuMicrosPerOp', w.perRow ? 2 : 1]]
  if (w.measureProcess) lines.push([`${name} peak RSS`, 'MB', 'peakRssMB', 0], [`${name} p99 event-loop delay`, 'ms', 'loopDelayP99Ms', 1])
  for (const [title, unit, key, digits] of lines) {
    const row = RATIOS.map(([c, base]) => ratio(r[c], r[base], key))
    ratios[name][key] = Object.fromEntries(RATIOS.map(([c, base], i) => [`${c} / ${base}`, row[i]]))
    rows.push(`| ${title} | ${unit} | ${RUNNERS.map((c) => cell(r[c], key, digits)).join(' | ')} | ` +
      `${row.map((x) => (x === null ? '—' : `${x.toFixed(2)}×`)).join(' | ')} |`)
  }
}
// W8: each app against pg, and against the app with no database (its ceiling).
const W8_RATIOS = [['pg-rust-pool', 'pg'], ['postgres.js', 'pg'], ['pg-rust-pool', 'none'], ['pg', 'none'], ['postgres.js', 'none']]
const expressRows = []
for (const [route, title] of Object.entries(W8_ROUTES)) {
  const r = express[route]
  if (!r) continue
  ratios[`W8-${route}`] = {}
  for (const [label, unit, key, digits] of [[title, 'requests/s', 'rate', 0], ['p50 latency', 'ms', 'p50Ms', 2], ['p99 latency', 'ms', 'p99Ms', 2], ['app CPU per request', 'µs', 'cpuMicrosPerOp', 1]]) {
    const row = W8_RATIOS.map(([c, base]) => ratio(r[c], r[base], key))
    ratios[`W8-${route}`][key] = Object.fromEntries(W8_RATIOS.map(([c, base], i) => [`${c} / ${base}`, row[i]]))
    expressRows.push(`| ${label} | ${unit} | ${W8_APPS.map((a) => cell(r[a], key, digits)).join(' | ')} | ` +
      `${row.map((x) => (x === null ? '—' : `${x.toFixed(2)}×`)).join(' | ')} |`)
  }
}
// Issue 26's memory criterion: a client's peak RSS streaming 2,000,000 rows over its peak RSS
// streaming 20,000 (each a fresh process), under 1.5× when memory is bounded by the batch.
const rssRatios = {}
if (results.W6 && results['W6-20k']) {
  for (const client of CLIENTS) {
    const ratio = rssRatio(results.W6[client], results['W6-20k'][client])
    if (ratio !== null) rssRatios[client] = ratio
  }
}
function rssRatio(big, small) {
  if (!big?.peakRssMB || !small?.peakRssMB) return null
  return Math.round((big.peakRssMB.median / small.peakRssMB.median) * 100) / 100
}
const info = machine(postgresVersion)
const seconds = (Date.now() - started) / 1000
if (rows.length) {
  console.log(`\nmedian (min–max) of ${REPS} runs of ${SECONDS} s after ${WARMUP} s of warm-up, each in a fresh process; pool of ${POOL_SIZE}; ` +
    `pgbench -M prepared -T ${PGBENCH_SECONDS}, no warm-up, -c the concurrency up to ${POOL_SIZE}, -j ${PGBENCH_THREADS}; CPU: the client process's user + sys over the measured window\n`)
  console.log(`| workload | unit | ${RUNNERS.join(' | ')} | ${RATIOS.map(([c, base]) => `${c} / ${base}`).join(' | ')} |`)
  console.log(`|---|---|${RUNNERS.map(() => '--:|').join('')}${RATIOS.map(() => '--:|').join('')}`)
  for (const row of rows) console.log(row)
}
if (NAMES.some((name) => WORKLOADS[name].once)) {
  console.log('\nW6: one stream per run (2 runs), each in a fresh process, no warm-up; CPU per row over the whole run; peak RSS of the process')
}
if (Object.keys(rssRatios).length > 0) {
  console.log(`W6 peak RSS over W6-20k peak RSS (2,000,000 rows against 20,000): ${Object.entries(rssRatios).map(([c, r]) => `${c} ${r.toFixed(2)}×`).join(', ')}`)
}
// W7: its loaders against pg (with pg-copy-streams) and against psql's \copy, the C ceiling.
const COPY_RATIOS = [['pg-rust-pool', 'pg'], ['pg-rust-pool', 'psql'], ['postgres.js', 'pg']]
for (const name of NAMES.filter((n) => WORKLOADS[n].copy)) {
  const r = results[name]
  ratios[name] = {}
  console.log(`\n${WORKLOADS[name].title}: median (min–max) of ${REPS} loads each of a ${number(copyFile.bytes / 1e6, 0)} MB file into an emptied table, ` +
    `each in a fresh process; pg: pg + pg-copy-streams; CPU and peak RSS: the loading process's (psql's through getrusage, less its start-up's CPU)\n`)
  console.log(`| ${name} | unit | ${COPY_CLIENTS.join(' | ')} | ${COPY_RATIOS.map(([c, base]) => `${c} / ${base}`).join(' | ')} |`)
  console.log(`|---|---|${COPY_CLIENTS.map(() => '--:|').join('')}${COPY_RATIOS.map(() => '--:|').join('')}`)
  for (const [title, unit, key, digits] of [['rate', 'rows/s', 'rate', 0], ['CPU per row', 'µs', 'cpuMicrosPerOp', 2], ['peak RSS', 'MB', 'peakRssMB', 0]]) {
    const row = COPY_RATIOS.map(([c, base]) => ratio(r[c], r[base], key))
    ratios[name][key] = Object.fromEntries(COPY_RATIOS.map(([c, base], i) => [`${c} / ${base}`, row[i]]))
    console.log(`| ${title} | ${unit} | ${COPY_CLIENTS.map((c) => cell(r[c], key, digits)).join(' | ')} | ` +
      `${row.map((x) => (x === null ? '—' : `${x.toFixed(2)}×`)).join(' | ')} |`)
  }
}
if (expressRows.length) {
  console.log(`\nW8: an Express 5 app per client (none: no database), ${REPS} runs of ${SECONDS} s after ${WARMUP} s, 64 keep-alive connections from another process; CPU: the app process's\n`)
  console.log(`| W8 | unit | ${W8_APPS.join(' | ')} | ${W8_RATIOS.map(([c, base]) => `${c} / ${base}`).join(' | ')} |`)
  console.log(`|---|---|${W8_APPS.map(() => '--:|').join('')}${W8_RATIOS.map(() => '--:|').join('')}`)
  for (const row of expressRows) console.log(row)
}
if (scale) console.log(scaleTables(scale))
console.log(`\n${info.cpu}, ${info.cores} cores, ${info.memoryGB} GB; ${info.os}; Node ${info.node}; PostgreSQL ${info.postgres}; ` +
  `pg ${info.clients.pg}, postgres.js ${info.clients['postgres.js']}, pg-rust-pool ${info.clients['pg-rust-pool'] ?? '?'}, ` +
  `pgbench ${info.clients.pgbench ?? `not available: ${pgbench.unavailable}`}`)
console.log(`load average ${info.loadAverage.join(' before, ')} after; finished in ${number(seconds, 0)} s; results in bench-results.json`)

writeFileSync(join(root, 'bench-results.json'), JSON.stringify({
  date: new Date(started).toISOString(), seconds, machine: info,
  settings: {
    seconds: SECONDS, warmup: WARMUP, reps: REPS, pool: POOL_SIZE, server: cluster ? 'throwaway cluster (fsync=off)' : 'DATABASE_URL',
    ...(tls && { tlsServer: 'throwaway cluster (fsync=off, ssl=on), clients verifying it fully' }),
    cpu: 'the client process\'s user + system CPU, all threads, over the measured window, per operation (W3: per query; W6: per row, the whole run, no warm-up)',
    pgbench: {
      path: pgbench.path ?? null, seconds: PGBENCH_SECONDS, warmup: 0, mode: 'prepared',
      clients: Object.fromEntries(NAMES.filter((name) => !WORKLOADS[name].copy).map((name) => [name, pgbenchShape(WORKLOADS[name])])),
      cpu: 'getrusage(RUSAGE_CHILDREN) of the -T run less that of the same command with -t 1 (start-up, connections, prepare)',
    },
    ...(copyFile && {
      copy: {
        file: `${copyFile.bytes} bytes of CSV, 1,000,000 rows, made for the run`, psql: psql.path ?? psql.unavailable,
        cpu: 'the loading process\'s user + system CPU over the load, per row (psql: getrusage(RUSAGE_CHILDREN) of the whole command)',
      },
    }),
  },
  results, ratios, rssRatios, express, scale,
}, null, 2) + '\n')
process.exit(failed ? 1 : 0)
