// Compiled by `npm test` with `tsc --noEmit --strict`: uses every public member of index.d.ts.
import {
  DatabaseManager, DatabaseError, LeakWarning, type QueryResult, type FieldDef, type DatabaseManagerOptions, type QueryConfig,
  type PoolClient, type TransactionOptions,
} from '..'

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
  maxPreparedStatements: 256,
  types: { 1700: (text: string) => Number(text) },
  int8: 'bigint',
  leakDetectionThreshold: 0,
}

async function main(): Promise<void> {
  const db = new DatabaseManager(options)
  await db.initialize()
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
  const config: QueryConfig = { text: 'SELECT 1', values: [], rowMode: 'array' }
  await db.query(config)
  try {
    await db.query('SELEKT')
  } catch (e) {
    if (e instanceof DatabaseError) {
      const parts: Array<string | undefined> = [
        e.code, e.message, e.severity, e.detail, e.hint, e.position, e.internalPosition, e.internalQuery, e.where,
        e.schema, e.table, e.column, e.dataType, e.constraint, e.file, e.line, e.routine,
      ]
      void parts
    }
  }
  const client: PoolClient = await db.getClient()
  try {
    const one: QueryResult<{ one: number }> = await client.query<{ one: number }>('SELECT 1 AS one')
    await client.query({ text: 'SELECT $1::int', values: [one.rows[0].one] })
  } finally {
    const released: Promise<void> = client.release()
    await released
  }
  await (await db.getClient()).release(true)
  await (await db.getClient()).release(new Error('broken'))
  const txOptions: TransactionOptions = {
    isolationLevel: 'serializable', readOnly: false, deferrable: false, retries: 3, timeoutMillis: 5000,
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
  const description: string = db.toString()
  db.on('error', (err: Error) => void err)
  await db.close()
  void [n, command, count, oid, asArray, meta, description, total, results]
}

void main
