// `npm run bench:events`: what pool events cost. The same query loop runs through one manager
// with no listeners and with a listener on every event, interleaved, and prints the ratio.
// With no listeners the engine builds no event at all (one atomic load per would-be event), so
// the first figure is the cost of having events in the build; the second is the cost of using
// them. Speed is reported, never asserted.
import { createRequire } from 'node:module'
import { startCluster } from '../harness/cluster.mjs'

const { DatabaseManager } = createRequire(import.meta.url)('../..')
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3)
const ROUNDS = Number(process.env.BENCH_REPS ?? 3)
const EVENTS = ['connect', 'acquire', 'release', 'remove', 'error']

const cluster = process.env.DATABASE_URL ? null : await startCluster()
const db = new DatabaseManager({ connectionString: process.env.DATABASE_URL ?? cluster.url, max: 10 })

async function rate(inFlight) {
  let n = 0
  const end = performance.now() + SECONDS * 1000
  const worker = async () => {
    while (performance.now() < end) {
      const r = await db.query('SELECT $1::int AS x', [n])
      if (r.rows.length !== 1) throw new Error('no row')
      n++
    }
  }
  await Promise.all(Array.from({ length: inFlight }, worker))
  return n / SECONDS
}

let seen = 0
const listener = () => { seen++ }
const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]
try {
  await rate(16) // warm-up: connections open, statements prepared
  for (const inFlight of [1, 16]) {
    const without = []
    const withAll = []
    for (let round = 0; round < ROUNDS; round++) {
      without.push(await rate(inFlight))
      for (const e of EVENTS) db.on(e, listener)
      withAll.push(await rate(inFlight))
      for (const e of EVENTS) db.off(e, listener)
    }
    const a = median(without)
    const b = median(withAll)
    console.log(`${inFlight} in flight: no listeners ${Math.round(a)} q/s, listening to every event ${Math.round(b)} q/s (${(b / a).toFixed(2)}×)`)
  }
  console.log(`(${seen} events delivered while listening)`)
} finally {
  await db.close()
  await cluster?.stop()
}
