// The pg-rust-pool demo: a small Express service over one DatabaseManager: users and their notes,
// the health endpoints (/health, /health/database, /ready, /live, /status, /metrics), and the
// pool's events and logs on the console. Database errors answer 400 (bad input), 409 (conflict) or
// 503 (database unavailable), anything else 500 without its details (http-errors.mjs).
//
//   npm run demo                                   a throwaway PostgreSQL, port 3000
//   DATABASE_URL=postgres://… PORT=8080 npm run demo
//   LOG_LEVEL=debug npm run demo                   every query on stderr, with its duration
//   DEMO_MODULE=pg npm run demo                    the routes query through require('pg-rust-pool/pg')
//
// Ctrl-C (SIGINT) or SIGTERM: stop accepting requests, close the pool, stop the throwaway server.
import { createRequire } from 'node:module'
import express from 'express'
import { startCluster } from '../harness/cluster.mjs'
import { httpError } from './http-errors.mjs'

const require = createRequire(import.meta.url)
const { DatabaseManager, healthHandlers } = require('../..')

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
// Without connectionString, DatabaseManager reads DATABASE_URL (or the PG* variables) itself, and
// LOG_LEVEL for its log level. `name` labels the metrics; slow queries are logged at warn.
// DEMO_MODULE=pg: the same through pg-rust-pool/pg's Pool, as an app written for `pg` would have
// it; its manager serves the health endpoints and the events below.
const options = { connectionString: embedded?.url, name: 'demo', slowQueryMillis: 250 }
const pool = process.env.DEMO_MODULE === 'pg' ? new (require('pg-rust-pool/pg').Pool)(options) : null
const db = pool?.manager ?? new DatabaseManager(options)
const query = pool ? (text, values) => pool.query(text, values) : (text, values) => db.query(text, values)

// Event logging: connections opening and closing, and idle connections failing.
db.on('connect', ({ pid }) => console.log(`pool: connection ${pid} opened`))
db.on('remove', ({ pid, reason }) => console.log(`pool: connection ${pid} closed (${reason})`))
db.on('error', (error, { pid }) => console.error(`pool: idle connection ${pid} failed: ${error.code} ${error.message}`))

let server = null
let stopping = false
async function shutdown(code) {
  if (stopping) return
  stopping = true
  if (server) await new Promise((resolve) => server.close(resolve)) // lets requests in flight finish
  await (pool ? pool.end() : db.close()) // waits for queries in flight, then closes every connection
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
  await query(`CREATE TABLE IF NOT EXISTS demo_users (
    id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    email text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_note_at timestamptz)`)
  await query(`CREATE TABLE IF NOT EXISTS demo_notes (
    id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id int NOT NULL REFERENCES demo_users (id),
    body text NOT NULL CHECK (body <> ''),
    created_at timestamptz NOT NULL DEFAULT now())`)
  await query(`INSERT INTO demo_users (name, email)
    SELECT * FROM (VALUES ('Ada Lovelace', 'ada@example.com'), ('Alan Turing', 'alan@example.com'),
                          ('Grace Hopper', 'grace@example.com')) AS seed
    WHERE NOT EXISTS (SELECT 1 FROM demo_users)`)
} catch (e) {
  if (!stopping) console.error(`could not create the demo tables: ${e.message} (${e.code})`)
  await shutdown(1)
}

// Every timestamp leaves as a JS Date, which res.json() writes as Date#toISOString() (UTC, to the
// millisecond): a timestamptz that the server itself turned into JSON text, as json_build_object()
// does, would read `2026-11-23T15:39:06.415123+00:00` instead.
const USER_COLUMNS = 'id, name, email, created_at AS "createdAt"'
const NOTE_COLUMNS = 'id, user_id AS "userId", body, created_at AS "createdAt"'
const notFound = (res) => res.status(404).json({ error: 'no such user', code: 'NOT_FOUND' })
// The id goes to the server as text, which parses it as an int: anything else cannot be an id.
const isId = (text) => /^\d{1,9}$/.test(text)

const app = express()
app.use(express.json())

// Health endpoints for load balancers, orchestrators and Prometheus.
const health = healthHandlers(db, { timeoutMillis: 2000 })
app.get('/health', health.health)
app.get('/health/database', health.database)
app.get('/ready', health.ready)
app.get('/live', health.live)
app.get('/status', health.status)
app.get('/metrics', health.metrics)

const ROUTES = [
  'GET /users', 'GET /users/:id', 'POST /users {"name","email"}', 'GET /users/:id/notes',
  'POST /users/:id/notes {"body"}', 'GET /time', 'GET /health', 'GET /health/database', 'GET /ready',
  'GET /live', 'GET /status', 'GET /metrics',
]
app.get('/', (req, res) => {
  res.json({ name: 'pg-rust-pool demo', routes: ROUTES })
})

app.get('/users', async (req, res) => {
  const { rows } = await query(`SELECT ${USER_COLUMNS} FROM demo_users ORDER BY id`)
  res.json(rows)
})

app.get('/users/:id', async (req, res) => {
  if (!isId(req.params.id)) return notFound(res)
  const { rows } = await query(`SELECT ${USER_COLUMNS} FROM demo_users WHERE id = $1`, [req.params.id])
  return rows.length ? res.json(rows[0]) : notFound(res)
})

app.post('/users', async (req, res) => {
  const { name, email } = req.body ?? {}
  if (typeof name !== 'string' || typeof email !== 'string') {
    return res.status(400).json({ error: 'send a JSON body {"name": "…", "email": "…"}', code: 'INVALID_INPUT' })
  }
  const { rows } = await query(
    `INSERT INTO demo_users (name, email) VALUES ($1, $2) RETURNING ${USER_COLUMNS}`, [name, email])
  res.status(201).json(rows[0])
})

app.get('/users/:id/notes', async (req, res) => {
  if (!isId(req.params.id)) return notFound(res)
  // One row a note, one of NULLs for a user without notes, none for no such user.
  const { rows } = await query(
    `SELECT n.id, n.body, n.created_at AS "createdAt"
     FROM demo_users u LEFT JOIN demo_notes n ON n.user_id = u.id WHERE u.id = $1 ORDER BY n.id`, [req.params.id])
  return rows.length ? res.json(rows.filter((note) => note.id !== null)) : notFound(res)
})

// Adding a note writes two tables: the note, and the user's last_note_at. One statement keeps both
// writes atomic.
app.post('/users/:id/notes', async (req, res) => {
  if (!isId(req.params.id)) return notFound(res)
  const { body } = req.body ?? {}
  if (typeof body !== 'string' || body === '') {
    return res.status(400).json({ error: 'send a JSON body {"body": "…"}', code: 'INVALID_INPUT' })
  }
  const { rows } = await query(
    `WITH owner AS (UPDATE demo_users SET last_note_at = now() WHERE id = $1 RETURNING id),
          note AS (INSERT INTO demo_notes (user_id, body) SELECT id, $2 FROM owner RETURNING *)
     SELECT ${NOTE_COLUMNS} FROM note`, [req.params.id, body])
  return rows.length ? res.status(201).json(rows[0]) : notFound(res)
})

app.get('/time', async (req, res) => {
  const { rows } = await query('SELECT now() AS now')
  res.json(rows[0])
})

// Express 5 sends a rejected handler here. http-errors.mjs picks the status from a DatabaseError's
// `code` (the server's SQLSTATE, such as 23505 for a duplicate email, or a client code such as
// DATABASE_UNAVAILABLE): 400, 409, 503, else 500. What went wrong on our side goes to the log.
app.use((err, req, res, next) => {
  const { status, body } = httpError(err)
  if (status === 503) console.error(`${req.method} ${req.path}: 503, ${err.code}: ${err.message}`)
  else if (status === 500) console.error(`${req.method} ${req.path}: 500,`, err)
  res.status(status).json(body)
})

if (!stopping) server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', (error) => {
  if (error) {
    console.error(`could not listen: ${error.message}`)
    return shutdown(1)
  }
  console.log(`listening on http://127.0.0.1:${server.address().port}`)
})
