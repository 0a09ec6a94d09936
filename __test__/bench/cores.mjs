// Where the two cores go (docs/benchmarks.md, issue 27): for W1, W2, W4 and W5, each client's CPU
// per operation beside the server's over the same window, and their sum, the machine's; with
// pgbench as the C client. The client and the server share the machine's cores, so what the
// client spends per operation is taken from the server. Starts and removes its own cluster;
// each measurement is a fresh process (child.mjs with BENCH_SERVER_PID), 1 s of warm-up then
// BENCH_SECONDS (4). pgbench's server figure also covers its -t 1 start-up run (pgbench.mjs),
// under 1 % of the window.
//
//   node __test__/bench/cores.mjs                 # W1,W2,W4,W5
//   node __test__/bench/cores.mjs W2,W5
import { createRequire } from 'node:module'
import { startCluster } from '../harness/cluster.mjs'
import { measureInChild } from './measure-child.mjs'
import { findPgbench, measurePgbench } from './pgbench.mjs'
import { serverCpuMicros } from './server-cpu.mjs'
import { LOAD, WORKLOADS } from './workloads.mjs'

const require = createRequire(import.meta.url)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4)
const NAMES = (process.argv[2] ?? 'W1,W2,W4,W5').split(',')
const CLIENTS = ['pg-rust-pool', 'pg', 'postgres.js']

const cluster = await startCluster()
try {
  const pg = require('pg')
  const loader = new pg.Client(cluster.url)
  await loader.connect()
  for (const statement of LOAD) await loader.query(statement)
  await loader.end()
  const pgbench = findPgbench()
  const fixed = (x) => (x == null ? '—' : x.toFixed(1))
  const lines = ['| workload | client | queries/s | client CPU/op µs | server CPU/op µs | machine µs/op |', '|---|---|--:|--:|--:|--:|']
  for (const name of NAMES) {
    for (const client of CLIENTS) {
      const env = { BENCH_URL: cluster.url, BENCH_SECONDS: String(SECONDS), BENCH_WARMUP: '1', BENCH_SERVER_PID: String(cluster.pid) }
      const r = await measureInChild(client, name, env, (SECONDS + 61) * 1000)
      if (r.unavailable) continue
      lines.push(`| ${name} | ${client} | ${Math.round(r.rate)} | ${fixed(r.cpuMicrosPerOp)} | ${fixed(r.serverMicrosPerOp)} | ${fixed(r.cpuMicrosPerOp + r.serverMicrosPerOp)} |`)
      console.error(lines.at(-1))
    }
    if (!pgbench.unavailable) {
      const before = serverCpuMicros(cluster.pid)
      const r = await measurePgbench(pgbench, WORKLOADS[name], cluster, SECONDS)
      const server = (serverCpuMicros(cluster.pid) - before) / r.ops
      lines.push(`| ${name} | pgbench | ${Math.round(r.rate)} | ${fixed(r.cpuMicrosPerOp)} | ${fixed(server)} | ${fixed(r.cpuMicrosPerOp + server)} |`)
      console.error(lines.at(-1))
    }
  }
  console.log(lines.join('\n'))
} finally {
  await cluster.stop()
}
