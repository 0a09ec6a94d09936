// One measurement in a fresh process: node child.mjs <client> <workload>, with BENCH_URL,
// BENCH_WARMUP and BENCH_SECONDS in the environment, and for a TLS workload BENCH_SSLROOTCERT, the
// path of the CA certificate to verify the server with; BENCH_CONCURRENCY and BENCH_POOL change
// the workload's operations in flight and the pool's size, and BENCH_LATENCY=1 times each
// operation (the scale runs, scale.mjs: timing costs W2 about a microsecond of CPU per query, so
// the other workloads do not); BENCH_SERVER_PID, the pid of the server's postmaster on this
// machine, adds the server's CPU per operation over the same window (cores.mjs). Prints one JSON
// line: { ops, seconds, rate, cpuMicrosPerOp, cpuSeconds, serverMicrosPerOp?, p50Ms?, p99Ms?,
// peakRssMB?, loopDelayP99Ms? } or { unavailable }.
// The CPU is this process's, user + system, of all its threads (the engine's too:
// process.cpuUsage() is getrusage(RUSAGE_SELF)), over the measured window only. A `once`
// workload (W6) runs its operation exactly once, without warm-up, so that the process's peak RSS
// is that one operation's; its CPU is per row.
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { serverCpuMicros } from './server-cpu.mjs'
import { connect, expectTls, rng, WORKLOADS } from './workloads.mjs'

const [client, name] = process.argv.slice(2)
const workload = WORKLOADS[name]
const ca = process.env.BENCH_SSLROOTCERT
if (workload.tls && !ca) throw new Error(`${name} runs over TLS: set BENCH_SSLROOTCERT to the CA certificate's path`)
const concurrency = Number(process.env.BENCH_CONCURRENCY) || workload.concurrency
const max = Number(process.env.BENCH_POOL) || undefined
const db = await connect(client, process.env.BENCH_URL, { ...(workload.tls && { ca }), max })
if (workload.tls) await expectTls(db)

if (workload.transaction && !db.transaction) {
  console.log(JSON.stringify({ unavailable: `${client} has no transaction API in this build` }))
} else if (workload.once && !db.stream) {
  console.log(JSON.stringify({ unavailable: `${client} has no stream API in this build` }))
} else if (workload.once) {
  const loop = monitorEventLoopDelay({ resolution: 10 })
  loop.enable()
  const cpuBefore = process.cpuUsage()
  const started = performance.now()
  await workload.op(db)
  const seconds = (performance.now() - started) / 1000
  const cpu = process.cpuUsage(cpuBefore)
  loop.disable()
  const cpuSeconds = (cpu.user + cpu.system) / 1e6
  console.log(JSON.stringify({
    ops: 1, seconds, rate: workload.rows / seconds, cpuMicrosPerOp: (cpuSeconds / workload.rows) * 1e6, cpuSeconds,
    peakRssMB: process.resourceUsage().maxRSS / 1024, loopDelayP99Ms: loop.percentile(99) / 1e6,
  }))
} else {
  const randoms = Array.from({ length: concurrency }, (_, i) => rng(i + 1))
  const timed = process.env.BENCH_LATENCY === '1'
  let latencies = []

  // `concurrency` loops, each starting its next operation as soon as the last one finished.
  async function runFor(seconds) {
    const started = performance.now()
    const deadline = started + seconds * 1000
    let ops = 0
    await Promise.all(randoms.map(async (random) => {
      while (performance.now() < deadline) {
        if (timed) {
          const t = performance.now()
          await workload.op(db, random)
          latencies.push(performance.now() - t)
        } else {
          await workload.op(db, random)
        }
        ops++
      }
    }))
    return { ops, seconds: (performance.now() - started) / 1000 }
  }

  await runFor(Number(process.env.BENCH_WARMUP))
  latencies = []
  const loop = monitorEventLoopDelay({ resolution: 10 })
  loop.enable()
  const server = Number(process.env.BENCH_SERVER_PID) || null
  const serverBefore = server && serverCpuMicros(server)
  const cpuBefore = process.cpuUsage()
  const { ops, seconds } = await runFor(Number(process.env.BENCH_SECONDS))
  const cpu = process.cpuUsage(cpuBefore)
  const serverMicros = server && serverCpuMicros(server) - serverBefore
  loop.disable()
  const cpuSeconds = (cpu.user + cpu.system) / 1e6
  // Per operation, as the rate of W3 is not: per query, not per row.
  latencies.sort((a, b) => a - b)
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]
  const result = {
    ops, seconds, rate: (ops * (workload.rows ?? 1)) / seconds, cpuMicrosPerOp: (cpuSeconds / ops) * 1e6, cpuSeconds,
    ...(timed && { p50Ms: at(0.5), p99Ms: at(0.99) }),
    ...(server && { serverMicrosPerOp: serverMicros / ops }),
  }
  if (workload.measureProcess) {
    result.peakRssMB = process.resourceUsage().maxRSS / 1024 // the warm-up ran the same workload
    result.loopDelayP99Ms = loop.percentile(99) / 1e6
  }
  console.log(JSON.stringify(result))
}
await db.close()
