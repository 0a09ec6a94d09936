// Beyond one server (#25): read replicas behind `readOnly`, host lists with targetSessionAttrs,
// loadBalanceHosts, and a failover, on a real primary and a streaming replica (pg_basebackup -R)
// that this spec starts, stops and promotes.
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { startCluster, startReplica } from './harness/cluster.mjs'
import { DatabaseManager, observer, until, sleep } from './helpers.mjs'

const IN_RECOVERY = 'SELECT pg_is_in_recovery() AS standby, inet_server_port() AS port'

describe('a primary and a streaming replica', { timeout: 120_000 }, () => {
  let primary
  let replica
  const base = () => ({ user: primary.user, password: primary.password, database: 'postgres', connectionTimeoutMillis: 3000 })
  const at = (cluster) => `127.0.0.1:${cluster.port}`

  before(async () => {
    primary = await startCluster()
    const p = await observer(primary.url)
    await p.query('CREATE TABLE topo (id serial PRIMARY KEY, note text)')
    await p.end()
    replica = await startReplica(primary)
  })
  after(async () => {
    await replica?.stop()
    await primary?.stop()
  })

  it('sends readOnly queries, transactions and clients to the replica and the rest to the primary', async () => {
    const manager = new DatabaseManager({ ...base(), host: '127.0.0.1', port: primary.port, replicas: [at(replica)] })
    const connects = []
    manager.on('connect', (info) => connects.push(info))
    try {
      assert.equal((await manager.query(IN_RECOVERY)).rows[0].standby, false)
      assert.equal((await manager.query(IN_RECOVERY, [], { readOnly: true })).rows[0].standby, true)
      assert.equal((await manager.query({ text: IN_RECOVERY, readOnly: true })).rows[0].standby, true)
      await manager.query("INSERT INTO topo (note) VALUES ('write')")
      const inTransaction = await manager.executeTransaction((c) => c.query(IN_RECOVERY), { readOnly: true })
      assert.equal(inTransaction.rows[0].standby, true)
      const client = await manager.getClient({ readOnly: true })
      try {
        assert.equal((await client.query(IN_RECOVERY)).rows[0].standby, true)
      } finally {
        client.release()
      }
      // A write sent as readOnly fails on the replica with the server's error, not on the primary.
      await assert.rejects(manager.query("INSERT INTO topo (note) VALUES ('x')", [], { readOnly: true }), { code: '25006' })

      const stats = manager.getPoolStatistics()
      assert.ok(stats.replica.queriesExecuted >= 3, JSON.stringify(stats.replica))
      assert.ok(stats.queriesExecuted >= 2)
      const health = await manager.getHealthStatus()
      assert.equal(health.isReplica, false)
      assert.equal(health.replica.isReplica, true)
      assert.equal(health.replica.status, 'healthy')
      const metrics = manager.metrics()
      assert.match(metrics, /^pg_rust_pool_queries_total\{target="primary"\} \d+$/m)
      assert.match(metrics, /^pg_rust_pool_queries_total\{target="replica"\} \d+$/m)
      assert.equal(metrics.match(/^# TYPE pg_rust_pool_queries_total /gm).length, 1)
      assert.ok(connects.some((c) => c.target === 'replica') && connects.some((c) => c.target === undefined))
    } finally {
      await manager.close()
    }
  })

  it('sends readOnly work to the primary while the replica lags more than maxReplicaLagMillis', async () => {
    const manager = new DatabaseManager({ ...base(), host: '127.0.0.1', port: primary.port, replicas: at(replica), maxReplicaLagMillis: 500 })
    const r = await observer(replica.url)
    const p = await observer(primary.url)
    try {
      await p.query("INSERT INTO topo (note) VALUES ('before the pause')")
      await until(async () => (await manager.query(IN_RECOVERY, [], { readOnly: true })).rows[0].standby)
      await r.query('SELECT pg_wal_replay_pause()')
      await p.query("INSERT INTO topo (note) VALUES ('while paused')")
      // Lag is measured at most once a second: within a few seconds the primary takes over.
      await until(async () => !(await manager.query(IN_RECOVERY, [], { readOnly: true })).rows[0].standby, 5000)
      await r.query('SELECT pg_wal_replay_resume()')
      await until(async () => (await manager.query(IN_RECOVERY, [], { readOnly: true })).rows[0].standby, 5000)
    } finally {
      await r.query('SELECT pg_wal_replay_resume()').catch(() => {})
      await r.end()
      await p.end()
      await manager.close()
    }
  })

  it('falls back to the primary, without an error, while the replica is down; prefer-standby too', async () => {
    const manager = new DatabaseManager({ ...base(), host: '127.0.0.1', port: primary.port, replicas: [at(replica)] })
    const prefer = new DatabaseManager({ ...base(), hosts: [at(primary), at(replica)], targetSessionAttrs: 'prefer-standby' })
    try {
      assert.equal((await manager.query(IN_RECOVERY, [], { readOnly: true })).rows[0].standby, true)
      assert.equal((await prefer.query(IN_RECOVERY)).rows[0].port, replica.port, 'prefer-standby takes the standby listed second')
      await replica.stopServer()
      for (let i = 0; i < 20; i++) {
        const { rows } = await manager.query(IN_RECOVERY, [], { readOnly: true })
        assert.equal(rows[0].standby, false)
      }
      assert.equal((await manager.executeTransaction((c) => c.query(IN_RECOVERY), { readOnly: true })).rows[0].standby, false)
      const client = await manager.getClient({ readOnly: true })
      assert.equal((await client.query(IN_RECOVERY)).rows[0].standby, false)
      client.release()
      // Its pooled connection died with the server; the next one falls back to the primary.
      await until(async () => (await prefer.query(IN_RECOVERY).catch(() => ({ rows: [{}] }))).rows[0].port === primary.port, 5000)
      await replica.start()
      await until(async () => (await manager.query(IN_RECOVERY, [], { readOnly: true })).rows[0].standby, 10_000)
    } finally {
      await manager.close()
      await prefer.close()
    }
  })

  it('spreads connections over the hosts with loadBalanceHosts: random', async () => {
    const manager = new DatabaseManager({ ...base(), hosts: [at(primary), at(replica)], loadBalanceHosts: 'random', max: 100 })
    try {
      const clients = await Promise.all(Array.from({ length: 100 }, () => manager.getClient()))
      const ports = await Promise.all(clients.map(async (c) => (await c.query('SELECT inet_server_port() AS port')).rows[0].port))
      for (const c of clients) c.release()
      const onPrimary = ports.filter((p) => p === primary.port).length
      assert.equal(ports.length, 100)
      assert.ok(onPrimary >= 20 && onPrimary <= 80, `${onPrimary} of 100 on the primary`)
    } finally {
      await manager.close()
    }
  })

  it('standby and primary choose by role; a wrong role fails with NO_SUITABLE_SERVER', async () => {
    const hosts = [at(primary), at(replica)]
    const standby = new DatabaseManager({ ...base(), hosts, targetSessionAttrs: 'standby' })
    const readOnly = new DatabaseManager({ ...base(), connectionString: `postgres://x@${hosts.join(',')}/postgres?target_session_attrs=read-only` })
    const none = new DatabaseManager({ ...base(), hosts: [at(primary)], targetSessionAttrs: 'standby', circuitBreaker: false })
    try {
      assert.equal((await standby.query(IN_RECOVERY)).rows[0].standby, true)
      assert.equal((await readOnly.query(IN_RECOVERY)).rows[0].standby, true)
      await assert.rejects(none.query('SELECT 1'), (e) => e.code === 'NO_SUITABLE_SERVER' && /targetSessionAttrs=standby/.test(e.message))
    } finally {
      await Promise.all([standby.close(), readOnly.close(), none.close()])
    }
  })

  // Last: it promotes the replica and stops the primary.
  it('recovers within 5 s of a failover with host=old,new and target_session_attrs=read-write', async () => {
    const url = `postgres://${primary.user}:${primary.password}@127.0.0.1:${primary.port},127.0.0.1:${replica.port}/postgres?target_session_attrs=read-write`
    const manager = new DatabaseManager({ connectionString: url, connectionTimeoutMillis: 3000 })
    manager.on('error', () => {})
    // A pool that wants a standby, with an idle connection to the one about to be promoted.
    const standby = new DatabaseManager({ ...base(), hosts: [at(replica)], targetSessionAttrs: 'standby', circuitBreaker: false })
    const removed = []
    standby.on('remove', (info) => removed.push(info.reason))
    try {
      assert.equal((await standby.query(IN_RECOVERY)).rows[0].standby, true)
      assert.equal((await manager.query(IN_RECOVERY)).rows[0].port, primary.port)
      await manager.query("INSERT INTO topo (note) VALUES ('before the failover')")
      await primary.stopServer()
      const r = await observer(replica.url)
      await r.query('SELECT pg_promote(true)')
      await r.end()
      const promoted = Date.now()
      let recovered
      while (recovered === undefined) {
        try {
          await manager.query("INSERT INTO topo (note) VALUES ('during the failover')")
          recovered = Date.now() - promoted
        } catch (e) {
          assert.ok(Date.now() - promoted < 5000, `no write succeeded within 5 s of the promotion: ${e.code} ${e.message}`)
          await sleep(50)
        }
      }
      assert.ok(recovered < 5000, `recovered in ${recovered} ms`)
      for (let i = 0; i < 100; i++) {
        const { rows } = await manager.query("INSERT INTO topo (note) VALUES ('after') RETURNING inet_server_port() AS port")
        assert.equal(rows[0].port, replica.port)
      }
      // A session learns of the promotion with the answer to its next command (the server
      // reports in_hot_standby then): that query has run, and the connection is retired when
      // next taken; no server is a standby now.
      assert.equal((await standby.query(IN_RECOVERY)).rows[0].standby, false)
      await assert.rejects(standby.query(IN_RECOVERY), { code: 'NO_SUITABLE_SERVER' })
      assert.deepEqual(removed, ['role'])
    } finally {
      await manager.close()
      await standby.close()
    }
  })
})
