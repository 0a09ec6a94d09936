// W8's load generator (issue 27), a process of its own: `connections` keep-alive HTTP connections,
// each sending its next request as soon as the last answered, for `seconds`; prints one JSON line
// { requests, seconds, rate, p50Ms, p99Ms, errors }. Every answer is checked (200 with the asked
// user's row, or 201): a failing app does not look fast.
//   node loadgen.mjs <port> <get|post> <connections> <seconds>
import http from 'node:http'
import { payload, randomId, rng } from './workloads.mjs'

const [port, route, connections, seconds] = process.argv.slice(2).map((a, i) => (i === 1 ? a : Number(a)))
const agent = new http.Agent({ keepAlive: true, maxSockets: connections })

function request(random) {
  const id = randomId(random)
  const body = route === 'post' ? JSON.stringify({ userId: id, kind: 'view', payload: payload(id) }) : undefined
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1', port, agent, method: route === 'post' ? 'POST' : 'GET',
      path: route === 'post' ? '/events' : `/users/${id}`,
      headers: body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {},
    }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d) => { text += d })
      res.on('end', () => {
        const ok = route === 'post' ? res.statusCode === 201 : res.statusCode === 200 && JSON.parse(text).id === id
        resolve(ok)
      })
    })
    req.on('error', reject)
    req.end(body)
  })
}

const latencies = []
let errors = 0
const started = performance.now()
const deadline = started + seconds * 1000
await Promise.all(Array.from({ length: connections }, async (_, i) => {
  const random = rng(i + 1)
  while (performance.now() < deadline) {
    const t = performance.now()
    const ok = await request(random).catch(() => false)
    latencies.push(performance.now() - t)
    if (!ok) errors++
  }
}))
const elapsed = (performance.now() - started) / 1000
latencies.sort((a, b) => a - b)
const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]
console.log(JSON.stringify({ requests: latencies.length, seconds: elapsed, rate: latencies.length / elapsed, p50Ms: at(0.5), p99Ms: at(0.99), errors }))
agent.destroy()
