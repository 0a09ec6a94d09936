// Dead peers are found in bounded time without a deadline (issue 24, acceptance 1): a pool in a
// network namespace of its own (harness/netns.mjs) reaches the server through a veth pair and the
// harness's proxy; the pair is cut, so packets are dropped without an answer, as when a server's
// host vanishes. TCP_USER_TIMEOUT, with keepalive during a long statement, fails the query in
// flight within the bound the README gives; after the link is back the pool serves again.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
import { startLink } from './harness/netns.mjs'
import { startProxy } from './harness/proxy.mjs'
import { PASSWORD } from './harness/cluster.mjs'
import { sleep, within } from './helpers.mjs'

const TCP_USER_TIMEOUT = 1500
const KEEPALIVE_DELAY = 1000
// The keepalive interval the pool sets: a third of TCP_USER_TIMEOUT in whole seconds, at least 1 s.
const KEEPALIVE_INTERVAL = 1000
const SLACK = 1000

let link
let proxy
let child
let lines

before(async () => {
  link = startLink()
  proxy = await startProxy({ port: Number(process.env.PGPORT), listenHost: link.hostAddress })
  const script = fileURLToPath(new URL('./fixtures/netns-child.mjs', import.meta.url))
  child = link.run(process.execPath, [script], {
    env: {
      ...process.env,
      FIXTURE_URL: `postgres://postgres:${PASSWORD}@${proxy.host}:${proxy.port}/postgres`,
      FIXTURE_TCP_USER_TIMEOUT: String(TCP_USER_TIMEOUT),
      FIXTURE_KEEPALIVE_DELAY: String(KEEPALIVE_DELAY),
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  assert.deepEqual(await next(), { ready: true })
})

after(async () => {
  child?.stdin.end()
  await sleep(200)
  await proxy?.close()
  link?.stop()
})

/** The child's next JSON line, or a failure after 15 s. */
async function next() {
  const { value, done } = await within(lines.next(), 15000, "the child's next line")
  if (done) throw new Error('the child exited')
  return JSON.parse(value)
}

const send = (command) => child.stdin.write(command + '\n')

test('a statement running when the link is cut fails within keepAliveInitialDelayMillis + one keepalive interval (and at least tcpUserTimeoutMillis)', { timeout: 20000 }, async (t) => {
  send('warm')
  assert.deepEqual(await next(), { warmed: true })
  send('long')
  assert.deepEqual(await next(), { started: true })
  await sleep(300)
  link.cut()
  send('mark')
  const outcome = await next()
  assert.equal(outcome.of, 'long')
  assert.equal(outcome.ok, false, JSON.stringify(outcome))
  t.diagnostic(`failed after ${Math.round(outcome.ms)} ms with ${outcome.code}`)
  const bound = Math.max(TCP_USER_TIMEOUT, KEEPALIVE_DELAY + KEEPALIVE_INTERVAL) + SLACK
  assert.ok(outcome.ms <= bound, `failed after ${Math.round(outcome.ms)} ms: ${outcome.code} ${outcome.message}`)
  link.heal()
})

test('a query sent after the link is cut fails within tcpUserTimeoutMillis; once it is back the pool serves, consistent', { timeout: 20000 }, async (t) => {
  send('warm')
  assert.deepEqual(await next(), { warmed: true })
  link.cut()
  send('mark')
  send('query')
  const outcome = await next()
  assert.equal(outcome.ok, false, JSON.stringify(outcome))
  t.diagnostic(`failed after ${Math.round(outcome.ms)} ms with ${outcome.code}`)
  assert.ok(outcome.ms <= TCP_USER_TIMEOUT + SLACK, `failed after ${Math.round(outcome.ms)} ms: ${outcome.code} ${outcome.message}`)
  link.heal()
  send('mark')
  send('query')
  const served = await next()
  assert.equal(served.ok, true, JSON.stringify(served))
  send('stats')
  const s = await next()
  assert.equal(s.activeConnections + s.idleConnections, s.totalConnections, JSON.stringify(s))
  assert.equal(s.waitingCount, 0)
})
