// W7 (issue 26): one CSV file of 1,000,000 rows, made once per bench run, loaded into an emptied
// table by pg-rust-pool's copyFrom(), pg with pg-copy-streams' `from`, postgres.js's
// `COPY … FROM STDIN`.writable(), and psql's \copy (C and libpq: the ceiling). Each load runs in
// a fresh process (node copy-child.mjs <client> <file>, or psql under a python3 wrapper that
// reads its CPU and peak RSS with getrusage(RUSAGE_CHILDREN)); the rate is rows/s over the load
// alone (the table emptied before, the rows counted after; psql's by its \timing), the CPU the
// loading process's, per row (psql's less its start-up).
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { closeSync, createReadStream, openSync, writeSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { findBinDir } from '../harness/cluster.mjs'
import { runChild } from './run-child.mjs'

const require = createRequire(import.meta.url)
const here = dirname(fileURLToPath(import.meta.url))

export const COPY_ROWS = 1000000
export const COPY_CLIENTS = ['pg-rust-pool', 'pg', 'postgres.js', 'psql']
const TABLE = 'copy_target'
const SQL = `COPY ${TABLE} FROM STDIN (FORMAT csv)`

/** The table the loads go into; created with the data set. */
export const COPY_LOAD = [
  `DROP TABLE IF EXISTS ${TABLE}`,
  `CREATE TABLE ${TABLE} (id int NOT NULL, name text NOT NULL, email text NOT NULL, created_at timestamp NOT NULL,
     balance numeric(12,2) NOT NULL, active bool NOT NULL, note text NOT NULL)`,
]

const pad = (n) => String(n).padStart(2, '0')

/**
 * Writes the file: rows as PostgreSQL itself writes them in CSV (timestamps in ISO, two decimals,
 * t/f, quotes only around a value with a comma), so that COPY (SELECT … ORDER BY id) TO STDOUT
 * of the loaded table gives the same bytes back (in heap order it need not: autovacuum may record
 * free space in pages the load filled, which the rest of the load then fills). About 85 MB.
 */
export function writeCopyFile(path) {
  const fd = openSync(path, 'w')
  const hash = createHash('sha256')
  const base = Date.UTC(2024, 0, 1)
  try {
    for (let start = 1; start <= COPY_ROWS; start += 10000) {
      let text = ''
      for (let i = start; i < start + 10000 && i <= COPY_ROWS; i++) {
        const t = new Date(base + i * 60000)
        const at = `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())} ${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:00`
        const cents = (i * 7919) % 1000000
        const note = i % 10 === 0 ? `"note ${i}, with a comma"` : `note ${i}`
        text += `${i},User ${i},user${i}@example.com,${at},${Math.floor(cents / 100)}.${pad(cents % 100)},${i % 3 ? 't' : 'f'},${note}\n`
      }
      const bytes = Buffer.from(text)
      hash.update(bytes)
      writeSync(fd, bytes)
    }
  } finally {
    closeSync(fd)
  }
  return hash.digest('hex')
}

/** psql beside the server binaries the cluster harness runs, else on PATH: { path } or { unavailable }. */
export function findPsql() {
  if (spawnSync('python3', ['--version']).error) return { unavailable: 'python3 not found (it reads psql\'s CPU)' }
  let dir = null
  try { dir = findBinDir() } catch {}
  for (const path of [dir && join(dir, 'psql'), 'psql'].filter(Boolean)) {
    if (spawnSync(path, ['--version']).status === 0) return { path }
  }
  return { unavailable: 'psql not found' }
}

async function withPg(url, fn) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

const emptyTable = (url) => withPg(url, (c) => c.query(`TRUNCATE ${TABLE}`))

async function checkLoaded(url) {
  const { rows: [{ n }] } = await withPg(url, (c) => c.query(`SELECT count(*)::int AS n FROM ${TABLE}`))
  if (n !== COPY_ROWS) throw new Error(`wrong result: expected ${COPY_ROWS} rows loaded, got ${n}`)
}

// Prints psql's output, then on a line of its own the CPU (user + sys, s) and peak RSS (KB) it used.
const WRAPPER = `import resource, subprocess, sys
code = subprocess.run(sys.argv[1:]).returncode
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(usage.ru_utime + usage.ru_stime, usage.ru_maxrss, flush=True)
sys.exit(code)`

/** Runs psql with `args` against `url` under the wrapper: { out, cpuSeconds, maxRssKB }. */
async function runPsql(psql, url, args) {
  const { code, signal, out, err } = await runChild('python3', ['-c', WRAPPER, psql.path, '-X', '-q', '-v', 'ON_ERROR_STOP=1', ...args, url])
  if (code !== 0) throw new Error(`psql exited with ${signal ?? code}:\n${`${out}${err}`.trim()}`)
  const [cpuSeconds, maxRssKB] = out.trim().split('\n').pop().split(' ').map(Number)
  return { out, cpuSeconds, maxRssKB }
}

/**
 * One load of the file ({ path, hash }) by `client` into the emptied table at `url`, in a fresh
 * process; resolves to { rows, seconds, rate, cpuMicrosPerOp (per row), cpuSeconds, peakRssMB }
 * or { unavailable }. pg-rust-pool then reads the table back with copyTo() and checks that it
 * gives the file's bytes.
 */
export async function measureCopy(client, url, { path: file, hash }, psql) {
  await emptyTable(url)
  let result
  if (client === 'psql') {
    if (psql.unavailable) return { unavailable: psql.unavailable }
    // The load's time as psql's \timing reports it; its CPU less that of the same command
    // running SELECT 1 (start-up, connecting), as the pgbench column does.
    const copy = await runPsql(psql, url, ['-c', '\\timing on', '-c', `\\copy ${TABLE} from '${file}' with (format csv)`])
    const start = await runPsql(psql, url, ['-c', 'SELECT 1'])
    const ms = Number(copy.out.match(/^Time: ([\d.]+) ms/m)?.[1])
    if (!(ms > 0)) throw new Error(`psql printed no timing:\n${copy.out}`)
    const seconds = ms / 1000
    const cpuSeconds = copy.cpuSeconds - start.cpuSeconds
    result = { rows: COPY_ROWS, seconds, rate: COPY_ROWS / seconds, cpuMicrosPerOp: (cpuSeconds / COPY_ROWS) * 1e6, cpuSeconds, peakRssMB: copy.maxRssKB / 1024 }
  } else {
    const { code, signal, out, err } = await runChild(process.execPath, [join(here, 'copy-child.mjs'), client, file],
      { env: { ...process.env, BENCH_URL: url, BENCH_COPY_SHA256: hash } })
    if (code !== 0) throw new Error(`${client} W7 exited with ${signal ?? code}:\n${err.trim().replace(/^/gm, '  ')}`)
    result = JSON.parse(out.trim().split('\n').pop())
    if (result.unavailable) return result
  }
  await checkLoaded(url)
  return result
}

/** Loads `file` with `client` at `url`, timed; what copy-child.mjs runs. */
export async function loadWith(client, url, file) {
  const source = () => createReadStream(file)
  if (client === 'pg-rust-pool') {
    const { DatabaseManager } = require('../..')
    const db = new DatabaseManager({ connectionString: url, max: 1 })
    await db.query('SELECT 1')
    return { load: () => pipeline(source(), db.copyFrom(SQL)), roundTrip: () => hashOf(db.copyTo(`COPY (SELECT * FROM ${TABLE} ORDER BY id) TO STDOUT (FORMAT csv)`)), close: () => db.close() }
  }
  if (client === 'pg') {
    const { from } = require('pg-copy-streams')
    const pool = new pg.Pool({ connectionString: url, max: 1 })
    const conn = await pool.connect()
    return { load: () => pipeline(source(), conn.query(from(SQL))), close: () => { conn.release(); return pool.end() } }
  }
  if (client === 'postgres.js') {
    const { default: postgres } = await import('postgres')
    const sql = postgres(url, { max: 1 })
    await sql`SELECT 1`
    return { load: async () => pipeline(source(), await sql.unsafe(SQL).writable()), close: () => sql.end() }
  }
  return null
}

async function hashOf(readable) {
  const hash = createHash('sha256')
  for await (const chunk of readable) hash.update(chunk)
  return hash.digest('hex')
}
