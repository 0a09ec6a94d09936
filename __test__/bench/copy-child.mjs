// One W7 load in a fresh process: node copy-child.mjs <client> <file>, with BENCH_URL (and, for
// pg-rust-pool, BENCH_COPY_SHA256: the file's hash, which COPY … TO STDOUT of the loaded table
// must give back). Prints one JSON line: { rows, seconds, rate, cpuMicrosPerOp, cpuSeconds,
// peakRssMB } or { unavailable }. The CPU is this process's, all threads, over the load alone.
import { COPY_ROWS, loadWith } from './copy.mjs'

const [client, file] = process.argv.slice(2)
const loader = await loadWith(client, process.env.BENCH_URL, file)
if (loader === null) {
  console.log(JSON.stringify({ unavailable: `${client} has no COPY` }))
} else {
  const cpuBefore = process.cpuUsage()
  const started = performance.now()
  await loader.load()
  const seconds = (performance.now() - started) / 1000
  const cpu = process.cpuUsage(cpuBefore)
  const peakRssMB = process.resourceUsage().maxRSS / 1024
  const cpuSeconds = (cpu.user + cpu.system) / 1e6
  if (loader.roundTrip && process.env.BENCH_COPY_SHA256) {
    const hash = await loader.roundTrip()
    if (hash !== process.env.BENCH_COPY_SHA256) throw new Error('copyTo() of the loaded table did not give the file back byte for byte')
  }
  await loader.close()
  console.log(JSON.stringify({ rows: COPY_ROWS, seconds, rate: COPY_ROWS / seconds, cpuMicrosPerOp: (cpuSeconds / COPY_ROWS) * 1e6, cpuSeconds, peakRssMB }))
}
