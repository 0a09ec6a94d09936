// The scale runs of issue 27, on W2's query: pg-rust-pool with `max: 50` and 1,000 calls in
// flight against its `max: 10`, 64-in-flight run (rate, p99, and no errors: a failed call fails
// the run), and a sweep of 1, 8, 64 and 512 calls in flight for pg-rust-pool, pg and postgres.js.
export const SWEEP = [1, 8, 64, 512]
export const SWEEP_CLIENTS = ['pg-rust-pool', 'pg', 'postgres.js']

/**
 * Runs them with `measure(client, workload, env)` (a fresh child process per run, as every
 * workload's); resolves to { scale: { base, wide }, sweep: { [client]: { [inFlight]: run } } }.
 */
export async function runScale(measure, log) {
  const base = await measure('pg-rust-pool', 'W2', { BENCH_POOL: '10', BENCH_CONCURRENCY: '64', BENCH_LATENCY: '1' })
  log(`SCALE max 10, 64 in flight: ${Math.round(base.rate)}/s, p99 ${base.p99Ms.toFixed(1)} ms`)
  const wide = await measure('pg-rust-pool', 'W2', { BENCH_POOL: '50', BENCH_CONCURRENCY: '1000', BENCH_LATENCY: '1' })
  log(`SCALE max 50, 1000 in flight: ${Math.round(wide.rate)}/s, p99 ${wide.p99Ms.toFixed(1)} ms`)
  const sweep = {}
  for (const inFlight of SWEEP) {
    for (const client of SWEEP_CLIENTS) {
      const run = await measure(client, 'W2', { BENCH_CONCURRENCY: String(inFlight), BENCH_LATENCY: '1' })
      ;(sweep[client] ??= {})[inFlight] = run
      log(`SWEEP ${client} ${inFlight} in flight: ${Math.round(run.rate)}/s, p99 ${run.p99Ms.toFixed(2)} ms`)
    }
  }
  return { scale: { base, wide }, sweep }
}

/** The Markdown tables of `runScale`'s results. */
export function scaleTables({ scale, sweep }) {
  const lines = ['', 'Scale (W2\'s query, pg-rust-pool): rate and p99 latency; a failed call fails the run', '',
    '| pool, in flight | queries/s | p99 ms | rate / max 10 |', '|---|--:|--:|--:|']
  for (const [label, run] of [['max 10, 64', scale.base], ['max 50, 1000', scale.wide]]) {
    lines.push(`| ${label} | ${Math.round(run.rate)} | ${run.p99Ms.toFixed(1)} | ${(run.rate / scale.base.rate).toFixed(2)}× |`)
  }
  lines.push('', 'Sweep (W2\'s query, pool of 10): queries/s (p99 ms) by calls in flight', '',
    `| in flight | ${SWEEP_CLIENTS.join(' | ')} | pg-rust-pool / pg |`, `|--:|${SWEEP_CLIENTS.map(() => '--:|').join('')}--:|`)
  for (const inFlight of SWEEP) {
    const cells = SWEEP_CLIENTS.map((c) => `${Math.round(sweep[c][inFlight].rate)} (${sweep[c][inFlight].p99Ms.toFixed(2)})`)
    lines.push(`| ${inFlight} | ${cells.join(' | ')} | ${(sweep['pg-rust-pool'][inFlight].rate / sweep.pg[inFlight].rate).toFixed(2)}× |`)
  }
  return lines.join('\n')
}
