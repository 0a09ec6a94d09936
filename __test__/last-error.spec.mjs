// lastError tells the truth (issue 24): every failure the pool meets, failed connects included
// (refused, wrong password, connect timeout), becomes getPoolStatistics().lastError with its time,
// also when no query counted it (waitForDatabase, maintenance).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { withManager } from './helpers.mjs'

const PORT = Number(process.env.PGPORT)

async function lastErrorAfterWait(options) {
  return withManager({ logLevel: 'off', ...options }, async (db) => {
    const before = Date.now()
    const e = await db.waitForDatabase({ timeoutMillis: 400 }).catch((e) => e)
    assert.ok(e instanceof Error, 'waitForDatabase failed')
    const { lastError } = db.getPoolStatistics()
    assert.ok(lastError, 'lastError is set')
    assert.ok(lastError.at >= before - 5 && lastError.at <= Date.now(), JSON.stringify(lastError))
    return lastError
  })
}

test('a refused connect, a wrong password and a connect timeout each become lastError', async () => {
  assert.equal((await lastErrorAfterWait({ host: '127.0.0.1', port: 1 })).code, 'ECONNREFUSED')
  const wrong = await lastErrorAfterWait({ host: '127.0.0.1', port: PORT, password: 'not-the-password' })
  assert.equal(wrong.code, '28P01')
  assert.ok(!wrong.message.includes('not-the-password'))
  // A port that accepts and never answers.
  const silent = createServer((socket) => socket.on('error', () => {}))
  await new Promise((resolve) => silent.listen(0, '127.0.0.1', resolve))
  try {
    const timeout = await lastErrorAfterWait({ host: '127.0.0.1', port: silent.address().port, connectionTimeoutMillis: 150 })
    assert.equal(timeout.code, 'CONNECT_TIMEOUT')
    assert.match(timeout.message, /within 150 ms/)
  } finally {
    silent.close()
  }
})
