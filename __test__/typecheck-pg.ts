// Compiled by `npm test` with `tsc --noEmit --strict`: pg-rust-pool/pg's typings (pg.d.ts), used
// the way code written for @types/pg uses `pg`, and with Kysely's PostgresDialect.
import type * as TypesPg from 'pg'
import { Pool, Client, PoolClient, types, defaults, escapeIdentifier, escapeLiteral, DatabaseError } from '../pg'
import type { PoolConfig, ClientConfig, QueryConfig, QueryResult, QueryArrayResult, Submittable } from '../pg'
import { Kysely, PostgresDialect } from 'kysely'

interface Row { id: number; name: string }

async function main(): Promise<void> {
  const config: PoolConfig = {
    connectionString: 'postgres://localhost/db', max: 5, min: 0, idleTimeoutMillis: 1000, connectionTimeoutMillis: 2000,
    maxUses: 7500, maxLifetimeSeconds: 60, allowExitOnIdle: true, ssl: { rejectUnauthorized: false }, statement_timeout: 1000,
    query_timeout: false, application_name: 'app', keepAlive: true, options: '-c search_path=app', port: '5432',
    types: { getTypeParser: (oid: number) => types.getTypeParser(oid) },
  }
  const pool = new Pool(config)
  pool.on('connect', (client: PoolClient) => void client.processID)
  pool.once('acquire', (client: PoolClient) => void client.processID)
  pool.on('release', (err: Error | undefined, client: PoolClient) => void [err, client])
  pool.on('remove', (client: PoolClient) => void client)
  pool.on('error', (err: Error, client: PoolClient) => void [err.message, client.processID])
  pool.off('error', () => undefined)
  // @ts-expect-error a misspelled event does not compile
  pool.on('conect', () => undefined)

  // Code typed with @types/pg's types: its QueryConfig goes in, our results fit its QueryResult.
  const pgConfig: TypesPg.QueryConfig = { text: 'SELECT $1::int AS id', values: [1], name: 'one' }
  const fromPg: TypesPg.QueryResult<Row> = await pool.query<Row>(pgConfig)
  const q: QueryConfig = { text: 'SELECT 1', values: [], name: 'n', types: { getTypeParser: () => (text: string) => text } }
  const r: QueryResult<Row> = await pool.query<Row>(q)
  const arrays: QueryArrayResult<[number, string]> = await pool.query<[number, string]>({ text: 'SELECT 1, $1', values: ['a'], rowMode: 'array' })
  const first: number = arrays.rows[0][0]
  pool.query('SELECT 1', (err: Error, result: QueryResult) => void [err, result.rowCount])
  pool.query('SELECT $1', [1], (err: Error, result: QueryResult) => void [err, result.rows])

  const client: PoolClient = await pool.connect()
  try {
    const one: QueryResult<Row> = await client.query<Row>('SELECT 1 AS id, $1 AS name', ['a'])
    client.on('error', (err: Error) => void err.message)
    client.on('notice', (notice) => void [notice.message, notice.severity, notice.code])
    const stream: Submittable & { read(): void } = client.query({ submit() {}, handleError() {}, read() {} })
    void [one.rows[0].id, stream, client.escapeIdentifier('a'), client.escapeLiteral('b')]
  } finally {
    client.release()
  }
  pool.connect((err: Error | undefined, c: PoolClient | undefined, release: (err?: Error | boolean) => void) => {
    if (!err && c) release(true)
  })
  const counts: number[] = [pool.manager.getPoolStatistics().totalCount, pool.totalCount, pool.idleCount, pool.waitingCount, pool.expiredCount, pool.options.max]
  const flags: boolean[] = [pool.ending, pool.ended]

  const clientConfig: ClientConfig = { ...pool.options, password: pool.options.password }
  const single = new pool.Client(clientConfig)
  await single.connect()
  const pid: number | null = single.processID
  single.on('end', () => undefined)
  await single.query('SELECT 1')
  await single.end()
  new Client('postgres://localhost/db').connect((err: Error | null) => void err)

  types.setTypeParser(1700, (text: string) => Number(text))
  types.setTypeParser(1184, 'text', (text: string) => text)
  const parse = types.getTypeParser(types.builtins.TIMESTAMPTZ, 'text')
  defaults.parseInt8 = true
  try {
    await pool.query('SELEKT')
  } catch (e) {
    if (e instanceof DatabaseError) void [e.code, e.detail, e.constraint]
  }

  // Kysely takes the Pool as its PostgresPool.
  const db = new Kysely<{ t: Row }>({ dialect: new PostgresDialect({ pool }) })
  await db.destroy()
  await pool.end()
  void [fromPg, r, first, counts, flags, pid, parse, escapeIdentifier('x'), escapeLiteral('y')]
}

void main
