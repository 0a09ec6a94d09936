// W8's service (issue 27): an Express 5 app with W2's query behind `GET /users/:id` and W5's
// insert behind `POST /events`, over one client, or over none (`none`: the same routes answering a
// constant row and 201, the ceiling). Started by express.mjs with `fork`: it sends `{ port }` once
// listening, answers 'cpu' with its process.cpuUsage() (user + system of all its threads, the
// client's engine included), and exits on 'exit' after closing its pool.
import express from 'express'
import { connect, SQL } from './workloads.mjs'

const [client] = process.argv.slice(2)
const db = client === 'none' ? null : await connect(client, process.env.BENCH_URL)
const CONSTANT = { id: 0, name: 'User 0', email: 'user0@example.com', created_at: new Date('2024-01-01T00:00:00Z') }

const app = express()
app.use(express.json())
app.get('/users/:id', async (req, res) => {
  const id = Number(req.params.id)
  if (db === null) return res.json({ ...CONSTANT, id })
  const { rows } = await db.query(SQL.user, [id])
  if (rows.length !== 1) return res.status(404).json({ error: 'no such user' })
  res.json(rows[0])
})
app.post('/events', async (req, res) => {
  const { userId, kind, payload } = req.body
  if (db !== null) {
    const { rowCount } = await db.query(SQL.insert, [userId, kind, payload])
    if (rowCount !== 1) return res.status(500).end()
  }
  res.status(201).end()
})

const server = app.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }))
process.on('message', async (message) => {
  if (message === 'cpu') process.send({ cpu: process.cpuUsage() })
  if (message === 'exit') {
    server.close()
    server.closeAllConnections()
    await db?.close()
    process.exit(0)
  }
})
