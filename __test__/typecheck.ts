// Compiled by `npm test` with `tsc --noEmit --strict`: uses every public member of index.d.ts.
import {
  DatabaseManager, DatabaseError, type QueryResult, type FieldDef, type DatabaseManagerOptions, type QueryConfig,
  type ConnectionInfo, type RemoveInfo, type RemoveReason, type CloseOptions, type WaitForDatabaseOptions,
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
  idleTimeoutMillis: 10000,
  maxLifetimeSeconds: 0,
  maxUses: 0,
  keepAlive: true,
  keepAliveInitialDelayMillis: 60000,
  options: { search_path: 'app,public', statement_timeout: 1000, jit: false },
}

async function main(): Promise<void> {
  const db = new DatabaseManager(options)
  const wait: WaitForDatabaseOptions = { timeoutMillis: 10000 }
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
  const description: string = db.toString()
  const closing: CloseOptions = { timeoutMillis: 1000 }
  await db.close(closing)
  void [n, command, count, oid, asArray, meta, description]
}

void main
