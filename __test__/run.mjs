// `npm test`: builds the addon if it is missing or a Rust source changed, starts a throwaway
// PostgreSQL cluster, runs the Rust unit tests, type-checks the public typings, runs every JS spec
// against the cluster, and stops the cluster, even when a step fails or the run is interrupted.
import { spawn } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startCluster } from './harness/cluster.mjs'
import { buildIfStale } from '../scripts/build-if-stale.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')

function run(command, args, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } })
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)))
  })
}

// Builds from source when the addon is missing or older than a Rust source.
buildIfStale()

const only = process.argv.slice(2)
const specs = readdirSync(here)
  .filter((f) => f.endsWith('.spec.mjs'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .map((f) => join('__test__', f))

const cluster = await startCluster()
let stopping = false
async function stop(code) {
  if (stopping) return
  stopping = true
  await cluster.stop()
  process.exit(code)
}
process.on('SIGINT', () => stop(130))
process.on('SIGTERM', () => stop(143))

const env = { ...cluster.env, PGRP_TEST_SOCKET_DIR: cluster.socketDir, PGRP_TEST_URL: cluster.url }
const steps = []
if (only.length === 0) {
  steps.push(['cargo test', () => run('cargo', ['test', '--quiet', '--lib'])])
  const tsc = join(root, 'node_modules/.bin/tsc')
  steps.push(['tsc', () => run(tsc, ['--noEmit', '--strict', '--types', 'node', join('__test__', 'typecheck.ts')])])
  // pg.d.ts beside @types/pg and Kysely, whose typings need ES2015 or later.
  steps.push(['tsc pg', () => run(tsc, ['--noEmit', '--strict', '--target', 'es2022', '--module', 'commonjs', '--types', 'node', join('__test__', 'typecheck-pg.ts')])])
}
// One `node --test` per file, one after another, so that each file's wall time can be reported.
const times = []
steps.push(['specs', async () => {
  let worst = 0
  for (const spec of specs) {
    const started = Date.now()
    const code = await run(process.execPath, ['--expose-gc', '--test', spec], env)
    times.push([spec, (Date.now() - started) / 1000, code])
    worst = worst || code
  }
  return worst
}])

let failed = []
const stepTimes = []
const runStarted = Date.now()
for (const [name, step] of steps) {
  const started = Date.now()
  const code = await step()
  stepTimes.push([name, (Date.now() - started) / 1000])
  if (code !== 0) failed.push(name)
}
if (times.length) {
  console.log('\nper-file wall time (s):')
  for (const [spec, seconds, code] of times.sort((a, b) => b[1] - a[1])) {
    console.log(`${seconds.toFixed(1).padStart(7)}  ${spec}${code ? '  FAILED' : ''}`)
  }
  const specs = times.reduce((sum, [, seconds]) => sum + seconds, 0)
  console.log(`${specs.toFixed(1).padStart(7)}  all ${times.length} spec files`)
}
console.log(`\nsteps (s): ${stepTimes.map(([name, seconds]) => `${name} ${seconds.toFixed(1)}`).join(', ')}; ` +
  `total ${((Date.now() - runStarted) / 1000).toFixed(1)} (the build before them not counted)`)
const failedSpecs = times.filter(([, , code]) => code).map(([spec]) => spec)
if (failedSpecs.length) console.error(`failed specs: ${failedSpecs.join(', ')}`)
if (failed.length) console.error(`failed: ${failed.join(', ')}`)
await stop(failed.length ? 1 : 0)
