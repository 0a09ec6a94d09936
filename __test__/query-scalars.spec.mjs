// Scalar result values: for every built-in scalar type, the text we render from the binary form
// equals the server's own text output, and the JS values equal node-postgres's for the same SQL.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { inspect } from 'node:util'
import pg from 'pg'

const require = createRequire(import.meta.url)
const { DatabaseManager } = require('..')

// Literal values per type, chosen for their edge cases; each is an SQL expression.
const VALUES = {
  float8: ['0', '-0', 'NaN', 'Infinity', '-Infinity', '1e15', '999999999999999', '1e-5', '0.0001', '1.5e-05', '5e-324', '1.7976931348623157e308', '0.30000000000000004', '3.3834836132889648e16', '199219074100750.625'].map((v) => `'${v}'::float8`),
  float4: ['0', '-0', 'NaN', '-Infinity', '1e6', '123456', '1234567', '1e-5', '3.4028235e38', '1e-45', '1.1', '16777216'].map((v) => `'${v}'::float4`),
  numeric: ['0', '0.00', 'NaN', 'Infinity', '-Infinity', '0.0001', '-0.0001', '1e-1000', '1e1000', '12345.678', '-12345.678', '10000', '0.1000', '99999999.9999'].map((v) => `'${v}'::numeric`)
    .concat(['round(1/3::numeric, 1000)', 'factorial(100)', `'1e131071'::numeric`, `('0.' || repeat('0', 16382) || '1')::numeric`]),
  money: ['0', '0.01', '-1234.56', '1000', '-92233720368547758.08', '92233720368547758.07'].map((v) => `'${v}'::money`),
  date: ['2020-05-01', '0044-03-15 BC', 'infinity', '-infinity', '4714-11-24 BC', '5874897-12-31', '0001-12-31 BC', '10000-01-01'].map((v) => `'${v}'::date`),
  time: ['00:00', '04:05:06.5', '24:00:00', '23:59:59.999999', '00:00:00.000001'].map((v) => `'${v}'::time`),
  timetz: ['04:05:06.5+05:30', '04:05:06-08', '04:05:06+05:30:15', '00:00+00', '24:00:00-15:59:59'].map((v) => `'${v}'::timetz`),
  timestamp: ['2020-01-01 12:00:00.123456', '0044-03-15 12:00:01.5 BC', 'infinity', '-infinity', '294276-12-31 23:59:59.999999', '4714-11-24 00:00 BC'].map((v) => `'${v}'::timestamp`),
  interval: ['1 year 2 mons 3 days 04:05:06.789', '-1 days +2 hours', '-04:05:06', '0', '-1 year -2 mons +3 days -04:05:06.5', '1 mon -1 day', '-1 mon 1 day', '-0.5 sec', '100000 hours', '1 day -1 sec'].map((v) => `'${v}'::interval`),
  inet: ['::1', '::2', '::ffff:1.2.3.4', '::1.2.3.4', '2001:db8:0:0:1:0:0:1', 'fe80::1/64', '1.2.3.4/24', '10.1.2.3', '::', '1:0:0:2:0:0:0:3', '1::', '::ffff:1.2.3.4/100'].map((v) => `'${v}'::inet`),
  cidr: ['2001:db8::/32', '10.0.0.0/8', '10.1.2.3/32', '::/0', '0.0.0.0/0', '::1/128', '192.168/16'].map((v) => `'${v}'::cidr`),
  network: [`'08:00:2b:01:02:03'::macaddr`, `'08:00:2b:01:02:03:04:05'::macaddr8`],
  bits: [`B'0101'`, `B''::varbit`, `B'101'::bit(12)`, `B'111111111'::varbit`],
  geometric: [`point(1, 2.5)`, `'{1,2,3}'::line`, `'[(1,2),(3,4)]'::lseg`, `'(1,2),(3,4)'::box`, `'((1,2),(3,4))'::path`, `'[(1,2),(3,4),(5.5,1e20)]'::path`, `'((1,2),(3,4),(0,0))'::polygon`, `'<(1,2),3>'::circle`],
  tsvector: [`$$a:1A,2 b 'c''d':3B c\\\\x:4C$$::tsvector`, `''::tsvector`, `to_tsvector('english', 'The quick brown foxes jumped over the lazy dogs')`],
  tsquery: [`$$!a & (b | c) <-> d:*AB$$::tsquery`, `'a <-> (b <-> c)'::tsquery`, `'(a <-> b) <-> c'::tsquery`, `'a <2> b'::tsquery`, `'!(a & b)'::tsquery`, `'(a | b) & c'::tsquery`, `$$'it''s':D$$::tsquery`, `''::tsquery`],
  ids: [`'(0,1)'::tid`, `'4294967295'::xid`, `'7'::cid`, `'18446744073709551615'::xid8`, `'16/B374D848'::pg_lsn`, `'10:20:10,14,15'::txid_snapshot`, `'10:20:10,14,15'::pg_snapshot`, `0::regclass`, `0::regoper`, `99999::regtype`],
  misc: [`'\\x00ab10ff'::bytea`, `''::bytea`, `'00112233-4455-6677-8899-AABBCCDDEEFF'::uuid`, `(-1)::"char"`, `'a'::"char"`, `''::"char"`, `'$.a[*] ? (@ > 1)'::jsonpath`, `'<a>x</a>'::xml`, `'cur'::refcursor`, `pg_sleep(0)`],
}

async function withBoth(fn) {
  const identity = (s) => s
  // Every OID maps to the identity parser, so each value arrives as the text we render.
  const types = Object.fromEntries(Array.from({ length: 6000 }, (_, oid) => [oid, identity]))
  const asText = new DatabaseManager({ types })
  const plain = new DatabaseManager()
  const client = new pg.Client()
  await client.connect()
  try {
    await fn({ asText, plain, client })
  } finally {
    await asText.close()
    await plain.close()
    await client.end()
  }
}

for (const [name, exprs] of Object.entries(VALUES)) {
  test(`${name}: our text is the server's text, our values are node-postgres's`, () =>
    withBoth(async ({ asText, plain, client }) => {
      for (const e of exprs) {
        const { rows } = await asText.query(`SELECT v, format('%s', v) AS server FROM (SELECT ${e} AS v) s`)
        assert.equal(rows[0].v, rows[0].server, e)
        const ours = await plain.query(`SELECT ${e} AS v`)
        const theirs = await client.query(`SELECT ${e} AS v`)
        // Compared as inspected text: node-postgres gives Invalid Date for some far dates,
        // which deepEqual never finds equal.
        assert.equal(inspect(ours.rows), inspect(theirs.rows), e)
        assert.equal(ours.fields[0].dataTypeSize, theirs.fields[0].dataTypeSize, e)
      }
    }))
}

test('reg* types give the names the server prints, as node-postgres gets them', async () => {
  const db = new DatabaseManager()
  try {
    const { rows } = await db.query(`SELECT 'pg_class'::regclass AS c, 'int4'::regtype AS t`)
    assert.deepEqual(rows, [{ c: 'pg_class', t: 'integer' }])
  } finally {
    await db.close()
  }
})
