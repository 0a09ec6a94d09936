// Compiled by `npm test` with `tsc --noEmit --strict`: uses every public member of index.d.ts.
import {
  DatabaseManager, DatabaseError, LeakWarning, type QueryResult, type FieldDef, type DatabaseManagerOptions, type QueryConfig,
  type ConnectionInfo, type Notice, type RemoveInfo, type RemoveReason, type CloseOptions, type WaitForDatabaseOptions,
  healthHandlers, type PoolStatistics, type LatencySummary, type LastError, type HealthStatus, type HealthOptions,
  type HealthHandler, type HealthHandlers, type HealthHandlersOptions, type LogLevel, type Logger,
  type PoolClient, type TransactionOptions, type SslMode, type SslOptions, type DatabaseManagerEvents, type CustomTypes, type QueryOptions,
  type Notification, type ListenInfo, type ListenStatistics, type ErrorInfo,
  type CopyOptions, type CopyFromStream, type CopyToStream,
  type RowStream, type StreamOptions, type StreamConfig,
} from '..'
import { createServer } from 'node:http'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'

const options: DatabaseManagerOptions = {
  connectionString: 'postgres://localhost/db',
  host: 'localhost',
  port: 5432,
  database: 'db',
  user: 'u',
  password: 'p',
  max: 10,
  min: 0,
  applicationName: 'app',
  connectionTimeoutMillis: 30000,
  statementTimeout: 0,
  statementCache: true,
  pgbouncer: false,
  maxPreparedStatements: 256,
  types: { 1700: (text: string) => Number(text) },
  int8: 'bigint',
  idleTimeoutMillis: 10000,
  maxLifetimeSeconds: 0,
  maxUses: 0,
  keepAlive: true,
  keepAliveInitialDelayMillis: 60000,
  busyPollMicros: 100,
  options: { search_path: 'app,public', statement_timeout: 1000, jit: false },
  name: 'main',
  logLevel: 'debug',
  logger: (level, message, fields) => void [level, message, fields.sql],
  slowQueryMillis: 250,
  logParameters: false,
  leakDetectionThreshold: 0,
  sslmode: 'verify-full',
  sslrootcert: '/etc/ssl/ca.pem',
  sslcert: '/etc/ssl/client.crt',
  sslkey: '/etc/ssl/client.key',
  sslpassword: 'secret',
  channelBinding: 'require',
  sslnegotiation: 'postgres',
  queryTimeoutMillis: 0,
  cancelTimeoutMillis: 5000,
  tcpUserTimeoutMillis: 30000,
  circuitBreaker: { failureThreshold: 5, resetTimeoutMillis: 10000 },
  hosts: ['db1:5432', 'db2', '[::1]:5433', '/var/run/postgresql'],
  targetSessionAttrs: 'prefer-standby',
  loadBalanceHosts: 'random',
  replicas: ['replica1:5432', 'postgres://replica2:5433/app'],
  maxReplicaLagMillis: 5000,
}
const oneReplica: DatabaseManagerOptions = { replicas: 'replica1', host: 'a,b', targetSessionAttrs: 'read-write', loadBalanceHosts: 'disable' }
const noBreaker: DatabaseManagerOptions = { circuitBreaker: false }
const pgNamed: DatabaseManagerOptions = { query_timeout: 1000 }
const mode: SslMode = 'verify-ca'
const sslObject: SslOptions = {
  rejectUnauthorized: true, ca: ['PEM', Buffer.from('PEM')], cert: 'PEM', key: Buffer.from('PEM'),
  passphrase: 'p', servername: 'db.internal', require: true,
}
const withSsl: DatabaseManagerOptions[] = [{ ssl: true }, { ssl: false }, { ssl: sslObject, sslmode: mode }]
const level: LogLevel = 'off'
const logger: Logger = (l: 'error' | 'warn' | 'info' | 'debug' | 'trace', m: string, f: Record<string, string | number | boolean>) => void [l, m, f]

async function main(): Promise<void> {
  const db = new DatabaseManager(options)
  const wait: WaitForDatabaseOptions = { timeoutMillis: 10000, signal: AbortSignal.timeout(20000) }
  await db.waitForDatabase(wait)
  await db.initialize()
  db.on('connect', (info: ConnectionInfo) => void info.pid)
  db.on('acquire', (info: ConnectionInfo) => void info.pid)
  db.on('release', (info: ConnectionInfo) => void info.pid)
  db.on('remove', (info: RemoveInfo) => {
    const reason: RemoveReason = info.reason
    void [info.pid, reason]
  })
  db.on('error', (err: DatabaseError, info: ConnectionInfo) => void [err.code, info.pid])
  db.on('circuitOpen', (err: DatabaseError) => void err.code)
  db.on('notice', (notice: Notice, info: ConnectionInfo) => void [notice.severity, notice.code, notice.detail, info.pid])
  db.on('circuitClose', () => undefined)
  db.once('remove', (info: RemoveInfo) => void info.reason)
  db.off('acquire', (info: ConnectionInfo) => void info.pid)
  // @ts-expect-error a misspelled event does not compile
  db.on('conect', () => undefined)
  // @ts-expect-error nor does a listener of the wrong shape
  db.once('remove', (info: string) => void info)
  const r: QueryResult<{ n: number }> = await db.query<{ n: number }>('SELECT $1::int AS n', [1])
  const n: number = r.rows[0].n
  const command: string | null = r.command
  const count: number | null = r.rowCount
  const oid: number | null = r.oid
  const asArray: boolean = r.rowAsArray
  const field: FieldDef = r.fields[0]
  const meta: [string, number, number, number, number, number, 'text'] = [
    field.name, field.tableID, field.columnID, field.dataTypeID, field.dataTypeSize, field.dataTypeModifier, field.format,
  ]
  const config: QueryConfig = {
    text: 'SELECT 1', values: [], rowMode: 'array', timeoutMillis: 1000, signal: new AbortController().signal,
    types: { getTypeParser: (oid: number, format?: 'text' | 'binary') => (text: string) => [oid, format, text] },
  }
  const parsers: CustomTypes | undefined = config.types
  const events: DatabaseManagerEvents['remove'][0]['reason'] = 'idle'
  await db.query(config)
  const readOptions: QueryOptions = { readOnly: true }
  await db.query('SELECT 1', [], readOptions)
  await db.query({ text: 'SELECT 1', readOnly: true })
  ;(await db.getClient({ readOnly: true })).release()
  await db.executeTransaction((c) => c.query('SELECT 1'), { readOnly: true })
  db.on('connect', (info: ConnectionInfo) => void (info.target === 'replica'))
  const replicaStats: PoolStatistics | undefined = db.getPoolStatistics().replica
  const replicaHealth: HealthStatus | undefined = (await db.getHealthStatus()).replica
  void [oneReplica, replicaStats, replicaHealth]
  try {
    await db.query('SELEKT')
  } catch (e) {
    if (e instanceof DatabaseError) {
      const parts: Array<string | undefined> = [
        e.code, e.message, e.severity, e.detail, e.hint, e.position, e.internalPosition, e.internalQuery, e.where,
        e.schema, e.table, e.column, e.dataType, e.constraint, e.file, e.line, e.routine,
      ]
      const copyLine: number | undefined = e.copyLine
      void [parts, copyLine]
    }
  }
  const client: PoolClient = await db.getClient({ signal: new AbortController().signal })
  try {
    const one: QueryResult<{ one: number }> = await client.query<{ one: number }>('SELECT 1 AS one')
    await client.query({ text: 'SELECT $1::int', values: [one.rows[0].one] })
    const pid: number | null = client.processID
    const copyOptions: CopyOptions = { highWaterMark: 65536, signal: new AbortController().signal }
    const loading: CopyFromStream = client.copyFrom('COPY t FROM STDIN (FORMAT csv)', copyOptions)
    await pipeline(Readable.from(['1,a\n']), loading)
    const loaded: number | null = loading.rowCount
    const reading: CopyToStream = client.copyTo('COPY t TO STDOUT')
    await pipeline(reading, new Writable({ write: (chunk: Buffer, _encoding, done) => done() }))
    void [pid, loaded]
  } finally {
    const released: Promise<void> = client.release()
    await released
  }
  const streamOptions: StreamOptions = {
    batchSize: 1000, rowMode: 'array', types: parsers, signal: new AbortController().signal, timeoutMillis: 0,
  }
  const stream: RowStream<{ id: number }> = db.stream<{ id: number }>('SELECT $1::int AS id', [1], { batchSize: 100 })
  for await (const rows of stream) {
    const ids: number[] = rows.map((row) => row.id)
    const meta: [FieldDef[] | undefined, number | null, string | null] = [stream.fields, stream.rowCount, stream.command]
    void [ids, meta]
    break
  }
  const streamConfig: StreamConfig = { text: 'SELECT 1', values: [], ...streamOptions }
  const arrays = db.stream<unknown[]>(streamConfig)
  const first: IteratorResult<unknown[][], undefined> = await arrays.next()
  const stopped: IteratorResult<unknown[][], undefined> = await arrays.return()
  void [first, stopped]
  await db.stream('SELECT 1').close()
  for await (const row of db.stream('SELECT 1').readable()) void row
  await db.executeTransaction(async (tx) => {
    for await (const rows of tx.stream<{ n: number }>({ text: 'SELECT 1 AS n', batchSize: 10 })) void rows[0].n
    for await (const rows of tx.stream('SELECT 1', [], streamOptions)) void rows
  })
  await (await db.getClient()).release(true)
  await (await db.getClient()).release(new Error('broken'))
  const txOptions: TransactionOptions = {
    isolationLevel: 'serializable', readOnly: false, deferrable: false, retries: 3, timeoutMillis: 5000,
    signal: new AbortController().signal,
  }
  const total: number = await db.executeTransaction(async (tx: PoolClient) => {
    const r = await tx.query<{ n: number }>('SELECT 1 AS n')
    return r.rows[0].n
  }, txOptions)
  const results: QueryResult[] = await db.executeTransaction([{ text: 'SELECT $1::int', values: [1] }, 'SELECT 2'])
  db.on('leak', (warning: LeakWarning) => {
    const why: 'held' | 'unreachable' = warning.reason
    const held: number = warning.heldMillis
    void [why, held, warning.stack]
  })
  const stats: PoolStatistics = db.getPoolStatistics()
  const counts: number[] = [
    stats.totalCount, stats.idleCount, stats.waitingCount, stats.totalConnections, stats.idleConnections,
    stats.activeConnections, stats.waitingRequests, stats.maxConnections, stats.minConnections, stats.utilization,
    stats.queriesExecuted, stats.transactionsExecuted, stats.errors, stats.poolExhaustedCount,
    stats.connectionsCreated, stats.connectionsRemoved,
  ]
  const latency: LatencySummary = stats.queryTime
  const times: number[] = [latency.mean, latency.p50, latency.p99, stats.acquireTime.p99]
  const last: LastError | undefined = stats.lastError
  const lastParts = last ? [last.code, last.message, last.at] : []
  const healthOptions: HealthOptions = { timeoutMillis: 2000, signal: new AbortController().signal }
  const health: HealthStatus = await db.getHealthStatus(healthOptions)
  const healthParts: unknown[] = [
    health.status, health.responseTimeMs, health.serverVersion, health.databaseTime?.getTime(), health.database,
    health.isReplica, health.encrypted, health.tls?.version, health.tls?.cipher, health.circuit, health.pool.circuit, health.pool.profile, db.isConnected, health.pool.totalCount, health.error?.code, health.error?.message,
  ]
  const scrape: string = db.metrics()
  const unlisten: () => Promise<void> = await db.listen('jobs', (notification: Notification) => {
    const parts: [string, string, number] = [notification.channel, notification.payload, notification.processId]
    void parts
  })
  await db.listen('async jobs', async (notification: Notification) => void notification.payload)
  await db.notify('jobs', 'payload')
  await db.notify('jobs')
  const writable: Writable = db.copyFrom('COPY t FROM STDIN')
  writable.end(Buffer.from('1\n'))
  const readable: Readable = db.copyTo('COPY (SELECT 1) TO STDOUT', { highWaterMark: 16384 })
  for await (const chunk of readable) void (chunk as Buffer)
  await unlisten()
  db.on('listen', (info: ListenInfo) => {
    const parts: [number, string[], boolean] = [info.pid, info.channels, info.reconnected]
    void parts
  })
  db.on('error', (err: DatabaseError, info: ErrorInfo) => void [err.cause, info.pid, info.listen, info.channel])
  const listening: ListenStatistics = stats.listen
  const listenParts: [boolean, number, number, number] = [listening.connected, listening.channels, listening.reconnects, listening.notifications]
  const handlerOptions: HealthHandlersOptions = { timeoutMillis: 2000 }
  const handlers: HealthHandlers = healthHandlers(db, handlerOptions)
  const each: HealthHandler[] = [handlers.health, handlers.database, handlers.ready, handlers.live, handlers.status, handlers.metrics, handlers.routes['/ready']]
  const server = createServer((req, res) => {
    if (!handlers.handle(req, res)) res.end()
  })
  handlers.handle(null as never, null as never, () => undefined)
  server.close()
  const description: string = db.toString()
  const closing: CloseOptions = { timeoutMillis: 1000 }
  await db.close(closing)
  void [listenParts, parsers, events, n, command, count, oid, asArray, meta, description, total, results, level, logger, counts, times, lastParts, healthParts, scrape, each, withSsl, pgNamed, noBreaker]
}

void main
