// The pgbench column (issue 27): C and libpq on the same server and cores, as the ceiling of each
// workload. pgbench runs the workload's script (workloads.mjs) with -M prepared, one connection
// per operation in flight up to the pool's size (it has no pool: the server sees as many
// connections as from the Node clients, each with one operation at a time), all on one thread,
// as a Node client's connections share its one event loop.
//
// Its CPU is read the only way a parent can read a finished child's: getrusage(RUSAGE_CHILDREN),
// from a python3 wrapper (Node has no call for it). That covers the whole process, whose start-up
// (loading libpq and OpenSSL, a SCRAM exchange per connection, preparing) cost 72 ms of CPU with
// one connection and 106 ms with ten on this project's machine, against 0.4–0.5 s for a whole 1 s
// run: so the same command is first run with one transaction per connection (-t 1), and its CPU
// and transactions are taken from the timed run's.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { findBinDir } from '../harness/cluster.mjs'
import { POOL_SIZE } from './workloads.mjs'
import { runChild } from './run-child.mjs'

// Prints pgbench's output, then on a line of its own the CPU (user + sys, seconds) it used.
const WRAPPER = `import resource, subprocess, sys
code = subprocess.run(sys.argv[1:]).returncode
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(usage.ru_utime + usage.ru_stime, flush=True)
sys.exit(code)`

/**
 * pgbench beside the server binaries the cluster harness runs (Debian's newest, `pg_config
 * --bindir`, PATH), else the one on PATH: { path, version }, or { unavailable } saying why not.
 */
export function findPgbench() {
  if (spawnSync('python3', ['--version']).error) return { unavailable: 'python3 not found (it reads pgbench\'s CPU)' }
  let dir = null
  try { dir = findBinDir() } catch {} // with DATABASE_URL the server's binaries need not be here
  for (const path of [dir && join(dir, 'pgbench'), 'pgbench'].filter(Boolean)) {
    const found = spawnSync(path, ['--version'], { encoding: 'utf8' })
    if (found.status === 0) return { path, version: found.stdout.trim().replace(/^pgbench \(PostgreSQL\) /, '') }
  }
  return { unavailable: 'pgbench not found (Debian/Ubuntu: apt-get install postgresql-client)' }
}

/** pgbench's -j: one thread drives all its connections, as one event loop drives a Node client's. */
export const PGBENCH_THREADS = 1

/** pgbench's -c and -j for a workload: its concurrency capped at the pool's size. */
export const pgbenchShape = (workload) => ({ clients: Math.min(workload.concurrency, POOL_SIZE), threads: PGBENCH_THREADS })

/** Runs the wrapped pgbench once against `url`: { cpu (s), processed, tps }; rejects with its output if it fails. */
async function run(pgbench, args, url, env, timeoutMs) {
  const { code, signal, out, err } = await runChild('python3', ['-c', WRAPPER, pgbench.path, ...args, url], { env, timeoutMs })
  const field = (pattern) => Number(out.match(pattern)?.[1])
  const processed = field(/^number of transactions actually processed: (\d+)/m)
  const failed = field(/^number of failed transactions: (\d+)/m)
  const tps = field(/^tps = ([\d.]+) \(without initial connection time\)/m)
  const cpu = Number(out.trim().split('\n').pop())
  if (code === 0 && processed > 0 && failed === 0 && tps > 0 && cpu > 0) return { cpu, processed, tps }
  throw new Error(`pgbench ${args.join(' ')} exited with ${signal ?? `code ${code}`}:\n${`${out}${err}`.trim().replace(/^/gm, '  ')}`)
}

/**
 * Measures `workload` with pgbench against `server` ({ url, ca? }) for `seconds` (whole, at
 * least 1: pgbench's -T takes no fraction). Resolves to the shape of a child's line, { ops,
 * seconds, rate, cpuMicrosPerOp, cpuSeconds, command }, or { unavailable }.
 */
export async function measurePgbench(pgbench, workload, server, seconds) {
  if (pgbench.unavailable) return { unavailable: pgbench.unavailable }
  const { clients, threads } = pgbenchShape(workload)
  const dir = mkdtempSync(join(tmpdir(), 'pgrp-pgbench-'))
  try {
    const script = join(dir, 'workload.sql')
    writeFileSync(script, workload.pgbench.script)
    const defines = Object.entries(workload.pgbench.define ?? {}).flatMap(([name, value]) => ['-D', `${name}=${value}`])
    const common = ['-n', '-M', 'prepared', '-f', script, ...defines, '-c', String(clients), '-j', String(threads)]
    // libpq's own variables: verify-full checks the chain against the CA and the host name.
    const env = { ...process.env, ...(server.ca && { PGSSLMODE: 'verify-full', PGSSLROOTCERT: server.ca }) }
    const timeoutMs = (seconds + 60) * 1000
    const start = await run(pgbench, [...common, '-t', '1'], server.url, env, timeoutMs)
    const timed = await run(pgbench, [...common, '-T', String(seconds)], server.url, env, timeoutMs)
    const ops = timed.processed - start.processed
    const cpuSeconds = timed.cpu - start.cpu
    return {
      ops: timed.processed, seconds: timed.processed / timed.tps, rate: timed.tps * (workload.rows ?? 1),
      cpuMicrosPerOp: (cpuSeconds / ops) * 1e6, cpuSeconds,
      command: `pgbench ${common.join(' ').replace(script, '<script>')} -T ${seconds}`,
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
