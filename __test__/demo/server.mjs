// The pg-rust-pool demo: a small Express app over one DatabaseManager.
//
//   npm run demo                                   a throwaway PostgreSQL, port 3000
//   DATABASE_URL=postgres://… PORT=8080 npm run demo
//
// Ctrl-C (SIGINT) or SIGTERM: stop accepting requests, close the pool, stop the throwaway server.
import { createRequire } from 'node:module'
import express from 'express'
import { startCluster } from '../harness/cluster.mjs'

const { DatabaseManager } = createRequire(import.meta.url)('../..')

// A database: DATABASE_URL if set, or else a throwaway cluster that dies with this process.
let embedded = null
if (!process.env.DATABASE_URL) {
  try {
    embedded = await startCluster()
  } catch (e) {
    console.error(`could not start an embedded PostgreSQL: ${e.message}\nset DATABASE_URL to use a server of your own`)
    process.exit(1)
  }
  console.log(`DATABASE_URL is not set: started an embedded PostgreSQL (pid ${embedded.pid}) in ${embedded.data}`)
  console.log(`  psql -h ${embedded.socketDir} -p ${embedded.port} -U postgres`)
}
// With no options, DatabaseManager reads DATABASE_URL (or the PG* variables) itself.
const db = embedded ? new DatabaseManager({ connectionString: embedded.url }) : new DatabaseManager()

let server = null
let stopping = false
async function shutdown(code) {
  if (stopping) return
  stopping = true
  if (server) await new Promise((resolve) => server.close(resolve)) // lets requests in flight finish
  await db.close() // waits for queries in flight, then closes every connection
  await embedded?.stop() // stops the throwaway server and removes its files
  process.exit(code)
}
// `once`: a second Ctrl-C kills the process outright; the embedded server still dies with it.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    console.log(`${signal}: closing the pool${embedded ? ' and stopping the embedded PostgreSQL' : ''}`)
    shutdown(0)
  })
}

try {
  await db.query(`CREATE TABLE IF NOT EXISTS demo_users (
    id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    email text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now())`)
  await db.query(`INSERT INTO demo_users (name, email)
    SELECT * FROM (VALUES ('Ada Lovelace', 'ada@example.com'), ('Alan Turing', 'alan@example.com'),
                          ('Grace Hopper', 'grace@example.com')) AS seed
    WHERE NOT EXISTS (SELECT 1 FROM demo_users)`)
} catch (e) {
  if (!stopping) console.error(`could not create the demo_users table: ${e.message} (${e.code})`)
  await shutdown(1)
}

const USER_COLUMNS = 'id, name, email, created_at AS "createdAt"'
const notFound = (res) => res.status(404).json({ error: 'no such user', code: 'NOT_FOUND' })

const app = express()
app.use(express.json())

app.get('/', (req, res) => {
  res.json({ name: 'pg-rust-pool demo', routes: ['GET /users', 'GET /users/:id', 'POST /users {"name","email"}', 'GET /time'] })
})

app.get('/users', async (req, res) => {
  const { rows } = await db.query(`SELECT ${USER_COLUMNS} FROM demo_users ORDER BY id`)
  res.json(rows)
})

app.get('/users/:id', async (req, res) => {
  // The id goes to the server as text, which parses it as an int: anything else cannot be an id.
  if (!/^\d{1,9}$/.test(req.params.id)) return notFound(res)
  const { rows } = await db.query(`SELECT ${USER_COLUMNS} FROM demo_users WHERE id = $1`, [req.params.id])
  return rows.length ? res.json(rows[0]) : notFound(res)
})

app.post('/users', async (req, res) => {
  const { name, email } = req.body ?? {}
  if (typeof name !== 'string' || typeof email !== 'string') {
    return res.status(400).json({ error: 'send a JSON body {"name": "…", "email": "…"}', code: 'INVALID_INPUT' })
  }
  const { rows } = await db.query(
    `INSERT INTO demo_users (name, email) VALUES ($1, $2) RETURNING ${USER_COLUMNS}`, [name, email])
  res.status(201).json(rows[0])
})

app.get('/time', async (req, res) => {
  const { rows } = await db.query('SELECT now() AS now')
  res.json(rows[0])
})

// Express 5 sends a rejected handler here. A DatabaseError's `code` is the server's SQLSTATE
// (23505 for a duplicate email) or a client code such as POOL_CLOSED; a bad JSON body has a status.
app.use((err, req, res, next) => {
  if (!err.status) console.error(err)
  res.status(err.status ?? 500).json({ error: err.message, code: err.code ?? err.type ?? 'INTERNAL_ERROR' })
})

if (!stopping) server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', (error) => {
  if (error) {
    console.error(`could not listen: ${error.message}`)
    return shutdown(1)
  }
  console.log(`listening on http://127.0.0.1:${server.address().port}`)
})
