// TypeORM's postgres driver runs on pg-rust-pool/pg, given as its `driver` (issue 22): a
// migration, CRUD, transactions that commit and roll back, a nested transaction (a savepoint),
// streaming (pg-query-stream, issue 26) and a server error with its SQLSTATE.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { DataSource, EntitySchema, QueryFailedError, Table } from 'typeorm'

const require = createRequire(import.meta.url)
const pg = require('pg-rust-pool/pg')

const Author = new EntitySchema({
  name: 'Author',
  tableName: 'typeorm_authors',
  columns: {
    id: { type: 'int', primary: true, generated: true },
    name: { type: 'text', unique: true },
    joined: { type: 'timestamptz', createDate: true },
  },
})

class CreateAuthors1700000000000 {
  async up(queryRunner) {
    await queryRunner.createTable(new Table({
      name: 'typeorm_authors',
      columns: [
        { name: 'id', type: 'int', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
        { name: 'name', type: 'text', isUnique: true },
        { name: 'joined', type: 'timestamptz', default: 'now()' },
      ],
    }))
  }

  async down(queryRunner) {
    await queryRunner.dropTable('typeorm_authors')
  }
}

test('TypeORM: migration, CRUD, transactions, savepoints, streaming and errors', async () => {
  const source = new DataSource({
    type: 'postgres', driver: pg, poolSize: 3, entities: [Author], migrations: [CreateAuthors1700000000000],
  })
  await source.initialize()
  try {
    assert.deepEqual((await source.runMigrations()).map((m) => m.name), ['CreateAuthors1700000000000'])
    const authors = source.getRepository('Author')

    const ada = await authors.save({ name: 'Ada' })
    assert.ok(ada.joined instanceof Date)
    await authors.update({ id: ada.id }, { name: 'Ada Lovelace' })
    assert.equal((await authors.findOneByOrFail({ id: ada.id })).name, 'Ada Lovelace')

    await source.transaction(async (manager) => {
      await manager.save('Author', { name: 'Alan' })
      // A nested transaction is a savepoint: its failure rolls back only what it did.
      await assert.rejects(manager.transaction(async (inner) => {
        await inner.save('Author', { name: 'Grace' })
        throw new Error('not Grace')
      }), /not Grace/)
    })
    await assert.rejects(source.transaction(async (manager) => {
      await manager.save('Author', { name: 'Edsger' })
      throw new Error('not Edsger')
    }), /not Edsger/)
    assert.deepEqual((await authors.find({ order: { id: 'ASC' } })).map((a) => a.name), ['Ada Lovelace', 'Alan'])
    await authors.delete({ name: 'Alan' })
    assert.equal(await authors.count(), 1)

    const runner = source.createQueryRunner()
    try {
      const stream = await runner.stream('SELECT name FROM typeorm_authors ORDER BY id')
      const streamed = []
      for await (const row of stream) streamed.push(row.name)
      assert.deepEqual(streamed, ['Ada Lovelace'])
    } finally {
      await runner.release()
    }

    await assert.rejects(authors.insert({ name: 'Ada Lovelace' }), (e) => {
      assert.ok(e instanceof QueryFailedError)
      assert.ok(e.driverError instanceof pg.DatabaseError)
      assert.deepEqual([e.driverError.code, e.driverError.table], ['23505', 'typeorm_authors'])
      return true
    })
  } finally {
    await source.destroy()
  }
})
