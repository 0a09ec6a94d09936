// W8 (issue 27): what an Express user measures. The app of express-app.mjs is served once per
// client and once with no database (`none`, the ceiling), each in a fresh process, and driven by
// loadgen.mjs from another process with 64 keep-alive connections: requests/s, p50/p99 latency,
// and the app's CPU per request (its process, all threads, over the measured window).
import { fork, spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
export const W8_APPS = ['none', 'pg-rust-pool', 'pg', 'postgres.js']
export const W8_ROUTES = { get: 'W8 GET /users/:id', post: 'W8 POST /events' }
const CONNECTIONS = 64

function loadgen(port, route, seconds) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(here, 'loadgen.mjs'), String(port), route, String(CONNECTIONS), String(seconds)],
      { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (d) => { out += d })
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop())) : reject(new Error(`loadgen exited with ${code}`))))
  })
}

/** One measurement of `app` on `route`: a fresh app process, warm-up, then the measured window. */
export async function measureExpress(app, route, url, { seconds, warmup }) {
  const child = fork(join(here, 'express-app.mjs'), [app], { env: { ...process.env, BENCH_URL: url }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
  const next = () => new Promise((resolve, reject) => {
    child.once('message', resolve)
    child.once('exit', (code) => reject(new Error(`the ${app} app exited with ${code}`)))
  })
  try {
    const { port } = await next()
    if (warmup > 0) await loadgen(port, route, warmup)
    child.send('cpu')
    const before = (await next()).cpu
    const run = await loadgen(port, route, seconds)
    child.send('cpu')
    const after = (await next()).cpu
    const cpuSeconds = (after.user - before.user + after.system - before.system) / 1e6
    if (run.errors > 0) throw new Error(`${run.errors} of ${run.requests} requests failed`)
    return { ...run, cpuMicrosPerOp: (cpuSeconds / run.requests) * 1e6, cpuSeconds }
  } finally {
    child.send('exit')
    await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)))
  }
}
