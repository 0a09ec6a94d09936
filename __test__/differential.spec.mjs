// Type fidelity, the acceptance test of the type mapping: one corpus of SQL runs through
// node-postgres and through pg-rust-pool, and every result must be the same: `rows`, `rowCount`,
// `command` and `fields`. Each value is selected as a literal and sent in as a parameter, also
// after session settings that change how the server writes values.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import pg from 'pg'

const require = createRequire(import.meta.url)
const { DatabaseManager } = require('..')

/**
 * Values whose text depends on session settings, set by an earlier query on the same connection
 * (one connection a side): [name, setting, sql]. Each is compared after its SET and RESET ALL
 * follows. (Inside one multi-statement string they run through the simple protocol anyway.)
 */
const SESSION = [
  ['tstzrange and a record outside UTC', "SET TimeZone = 'Asia/Kolkata'", "SELECT tstzrange('2020-01-01 00:00:00+00', '2020-01-02 12:30:00+00') AS r, ROW(1, '2020-06-01 12:00:00+00'::timestamptz) AS rec, '2020-06-01 12:00:00+00'::timestamptz AS tz"],
  ['extra_float_digits below 1', 'SET extra_float_digits = 0', 'SELECT 0.1::float8 + 0.2 AS a, 1::float4 / 3::float4 AS b, ARRAY[0.1::float8 + 0.2] AS c'],
  ['DateStyle other than ISO', "SET DateStyle = 'SQL, DMY'", "SELECT '2020-01-02'::date AS d, '2020-01-02 03:04:05.5'::timestamp AS ts, '2020-01-02 03:04:05.5+00'::timestamptz AS tz"],
  ['IntervalStyle other than postgres', "SET IntervalStyle = 'iso_8601'", "SELECT '1 day 02:03:04'::interval AS i"],
  ["bytea_output 'escape' inside a record", "SET bytea_output = 'escape'", "SELECT ROW('\\x41ff'::bytea) AS r, '\\x41ff'::bytea AS b"],
]

// The corpus: [name, sql, values?]. Types that need a schema are created in `before`.
const LITERALS = [
  ['int2 extremes', 'SELECT (-32768)::int2 AS min, 32767::int2 AS max, 0::int2 AS zero'],
  ['int4 extremes', 'SELECT (-2147483648)::int4 AS min, 2147483647::int4 AS max, 0::int4 AS zero'],
  ['int8 extremes', 'SELECT (-9223372036854775808)::int8 AS min, 9223372036854775807::int8 AS max, 0::int8 AS zero'],
  ['float4 specials', "SELECT 'NaN'::float4 AS nan, 'Infinity'::float4 AS inf, '-Infinity'::float4 AS ninf, '-0'::float4 AS nz, 0::float4 AS z"],
  ['float4 values', 'SELECT 1.1::float4 AS a, 3.4028235e38::float4 AS max, 1e-45::float4 AS tiny, 123456789::float4 AS big, 0.1::float4 AS tenth, 1e15::float4 AS e15'],
  ['float8 specials', "SELECT 'NaN'::float8 AS nan, 'Infinity'::float8 AS inf, '-Infinity'::float8 AS ninf, '-0'::float8 AS nz, 0::float8 AS z"],
  ['float8 exponent boundaries', 'SELECT 1e15::float8 AS e15, 1e16::float8 AS e16, 123456789012345.6::float8 AS a, 1e-4::float8 AS em4, 1e-5::float8 AS em5, 1.5e-5::float8 AS b'],
  ['float8 extremes', 'SELECT 1.7976931348623157e308::float8 AS max, 5e-324::float8 AS min, 2.2250738585072014e-308::float8 AS normal, (1::float8 / 3) AS third, 0.1::float8 + 0.2 AS sum'],
  ['numeric specials', "SELECT 'NaN'::numeric AS nan, 'Infinity'::numeric AS inf, '-Infinity'::numeric AS ninf, 0::numeric AS zero, 0.00::numeric AS zero2, (-0.0)::numeric AS nzero"],
  ['numeric values', "SELECT 123.4500::numeric AS a, (-1.5)::numeric AS b, '0.000001'::numeric AS c, '1e-20'::numeric AS d, 100::numeric AS e, 1000000::numeric(10,2) AS f, '-99999.0001'::numeric AS g"],
  ['numeric huge', "SELECT 10::numeric ^ 100 AS big, -(10::numeric ^ 130) + 1 AS nbig, '123456789012345678901234567890.123456789012345678901234567890'::numeric AS mixed"],
  ['numeric 1000 fractional digits', 'SELECT round(1::numeric / 3, 1000) AS third, round(-2::numeric / 7, 1000) AS ntwosevenths'],
  ['numeric negative scale', 'SELECT round(12345, -2) AS r, round(12345.678, -3) AS r3, 12345::numeric(5,-2) AS typed, round(0.5, -1) AS zero'],
  ['money', 'SELECT 12.34::money AS a, (-1234567.89)::money AS b, 0::money AS z, 92233720368547758.07::money AS max'],
  ['bool', 'SELECT true AS t, false AS f, NULL::bool AS n'],
  ['text types', "SELECT ''::text AS empty, 'héllo 😀 世界'::text AS uni, 'a'::varchar(5) AS vc, 'ab'::char(5) AS bp, 'x y'::name AS nm, ''::char(3) AS ebp, E'tab\\there\\nnew \\\\ \"q\"' AS esc"],
  ['"char"', "SELECT 'r'::\"char\" AS c, ''::\"char\" AS e"],
  ['uuid', "SELECT 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS u, '00000000-0000-0000-0000-000000000000'::uuid AS z"],
  ['json', `SELECT '{ "a" : [1, 2, {"b": null}], "é": "ü\\u00e9" }'::json AS j, 'null'::json AS jnull, NULL::json AS sqlnull, '"str"'::json AS s, '1.50'::json AS n, '[]'::json AS arr`],
  ['jsonb', `SELECT '{ "a" : [1, 2, {"b": null}], "é": "ü\\u00e9", "big": 12345678901234567890 }'::jsonb AS j, 'null'::jsonb AS jnull, NULL::jsonb AS sqlnull, '"str"'::jsonb AS s, '1.50'::jsonb AS n, '{}'::jsonb AS obj`],
  ['bytea', "SELECT ''::bytea AS empty, '\\x00ff10'::bytea AS some, (SELECT string_agg(set_byte('\\x00'::bytea, 0, i), ''::bytea ORDER BY i) FROM generate_series(0, 255) i) AS every_byte"],
  ['date', "SELECT '2020-02-29'::date AS leap, '1970-01-01'::date AS epoch, '0044-03-15 BC'::date AS bc, '9999-12-31'::date AS far, 'infinity'::date AS inf, '-infinity'::date AS ninf"],
  ['time', "SELECT '00:00'::time AS midnight, '23:59:59.999999'::time AS last, '24:00'::time AS end_of_day, '12:34:56.5'::time AS half, '01:02:03.000001'::time AS micro"],
  ['timetz', "SELECT '12:34:56+05:30'::timetz AS ist, '00:00:00-12'::timetz AS west, '23:59:59.123456+14'::timetz AS east, '01:02:03+05:45:30'::timetz AS seconds, '10:00:00+00'::timetz AS utc"],
  ['timestamp', "SELECT '2020-01-02 03:04:05.123456'::timestamp AS micro, '1999-12-31 23:59:59.999999'::timestamp AS last, '0100-01-01 00:00:00 BC'::timestamp AS bc, '1900-06-15 12:00'::timestamp AS old, 'infinity'::timestamp AS inf, '-infinity'::timestamp AS ninf"],
  ['timestamptz', "SELECT '2020-01-02 03:04:05.123456+00'::timestamptz AS micro, '2020-03-08 01:59:59.999999-05'::timestamptz AS dst, '0044-03-15 12:00:00+00 BC'::timestamptz AS bc, 'infinity'::timestamptz AS inf, '-infinity'::timestamptz AS ninf, '1969-12-31 23:59:59.9995+00'::timestamptz AS before_epoch"],
  ['timestamptz and timestamp in America/New_York', "SET TimeZone = 'America/New_York'; SELECT '2020-03-08 06:59:59.999999+00'::timestamptz AS tz, '2020-03-08 02:30'::timestamp AS ts, '2020-07-01 12:00+00'::timestamptz::text AS shown, ARRAY['2020-07-01 12:00+00'::timestamptz, NULL] AS arr"],
  ['timestamptz in Asia/Kathmandu', "SET TimeZone = 'Asia/Kathmandu'; SELECT '2020-01-01 00:00+00'::timestamptz AS tz, now() - now() AS zero, '12:00+05:45'::timetz AS ttz"],
  ['timestamptz in UTC', "SET TimeZone = 'UTC'; SELECT '2020-01-01 00:00+00'::timestamptz AS tz, tstzrange('2020-01-01 00:00+00', NULL) AS r"],
  ['interval', "SELECT '1 year 2 mons 3 days 04:05:06.789'::interval AS full_, '-1 day +02:00'::interval AS mixed, '0'::interval AS zero, '-178000000 years'::interval AS min, '1 microsecond'::interval AS micro, '-00:00:00.000001'::interval AS nmicro, '100 hours'::interval AS hours"],
  ['network', "SELECT '192.168.0.1/24'::inet AS inet4, '192.168.0.1'::inet AS host4, '::1'::inet AS inet6, '2001:db8::1/64'::inet AS inet6net, '2001:db8::/32'::cidr AS cidr6, '10.0.0.0/8'::cidr AS cidr4, '::ffff:1.2.3.4'::inet AS mapped"],
  ['mac addresses', "SELECT '08:00:2b:01:02:03'::macaddr AS mac, '08:00:2b:01:02:03:04:05'::macaddr8 AS mac8"],
  ['bit strings', "SELECT B'101'::bit(3) AS b, B''::varbit AS empty, B'1010101010101'::varbit AS long, '0'::bit AS one, B'11110000111100001'::bit(17) AS odd"],
  ['geometric', "SELECT point(1.5, -2) AS p, point(0.1, 1e20) AS p2, '[(0,0),(1,1)]'::lseg AS ls, '{1,-1,0}'::line AS l, '(1,1),(0,0)'::box AS b, '((0,0),(1,1),(2,0))'::path AS closed, '[(0,0),(1,1)]'::path AS open, '((0,0),(1,1),(1,0))'::polygon AS poly, '<(1,2),3>'::circle AS c"],
  ['int4range and int8range', "SELECT '[1,10)'::int4range AS a, 'empty'::int4range AS e, '(,5]'::int4range AS lo, int8range(NULL, NULL) AS all_, int8range(-9223372036854775807, 9223372036854775807) AS wide"],
  ['numrange', "SELECT numrange(1.5, 2.25, '[]') AS a, numrange(NULL, 0) AS b, 'empty'::numrange AS e"],
  ['tsrange and daterange', "SELECT '[2020-01-01,)'::daterange AS d, daterange('2020-01-01', '2020-02-01', '[]') AS d2, '[2020-01-01 00:00,2020-01-02 00:00)'::tsrange AS ts, tsrange(NULL, '2020-01-01 10:00:00.5') AS ts2"],
  ['multiranges', "SELECT '{[1,3),[5,7)}'::int4multirange AS m, '{}'::int4multirange AS e, '{[2020-01-01,2020-02-01)}'::datemultirange AS d, '{(,5),[10,)}'::nummultirange AS n"],
  ['range with bounds that need quotes', "SELECT '[\"a b\",\"c,d\")'::diff_textrange AS r, diff_textrange('', 'x\"y\\z') AS q"],
  ['tsvector and tsquery', "SELECT to_tsvector('english', 'The quick brown foxes jumped') AS v, 'a:1A b:2,3B c'::tsvector AS w, $$'quoted '' word' x$$::tsvector AS q, ''::tsvector AS e, 'fat & (rat | !cat)'::tsquery AS t, 'a <-> b <2> c'::tsquery AS p"],
  ['xml', "SELECT '<a x=\"1\">é</a>'::xml AS x, xmlparse(content 'abc<b/>') AS c"],
  ['oid', 'SELECT 1259::oid AS o, 4294967295::oid AS max, 0::oid AS zero'],
  ['int2vector and oidvector', "SELECT '1 -2 3'::int2vector AS v, ''::int2vector AS e, '1 4294967295'::oidvector AS o, ARRAY['1 2'::int2vector, ''] AS va, indkey, indclass FROM pg_index WHERE indexrelid = 'pg_class_oid_index'::regclass"],
  ['enum', "SELECT 'happy ☺'::diff_mood AS m, 'sad'::diff_mood AS s"],
  ['citext', "SELECT 'Ab'::citext AS c, ''::citext AS e, ARRAY['x y'::citext, NULL] AS a"],
  ['hstore', `SELECT 'a=>1, "b c"=>NULL, "q\\"uote"=>"back\\\\slash"'::hstore AS h, ''::hstore AS e`],
  ['domains', "SELECT 5::diff_posint AS i, 'x y'::diff_label AS t"],
  ['composite', "SELECT ROW(1, 'a b', NULL, ARRAY[1,2])::diff_pair AS p, ROW(NULL, '', 3, '{}')::diff_pair AS q"],
  ['nested composite', "SELECT ROW(ROW(2, 'q\"uote', 0, ARRAY[NULL]::int[])::diff_pair, 'label')::diff_outer AS o"],
  ['composite from a table', "SELECT * FROM diff_items ORDER BY id"],
  ['whole-row references and arrays of table rows', "SELECT t AS row_, ARRAY(SELECT u FROM diff_items u ORDER BY id) AS all_ FROM diff_items t ORDER BY id"],
  ['composite with a dropped column, and an empty composite', "SELECT d, ROW()::diff_empty AS e FROM diff_dropped d"],
  ['domains over arrays and arrays of domains', "SELECT '{1,2}'::diff_ints AS di, ARRAY[1, 2]::diff_posint[] AS ad, ARRAY['a b']::diff_label[] AS al"],
  ['record', "SELECT ROW(1, 'a') AS r"],
  ['record with fields of user-defined types', "SELECT ROW(1, 'ok'::diff_mood) AS r, ARRAY[ROW(2, 'sad'::diff_mood)] AS a"],
  ['reg* types print names', "SELECT 'pg_class'::regclass AS r, 'integer'::regtype AS t, ARRAY['pg_class'::regclass, 'pg_type'] AS a, 'now'::regproc AS p, 0::regclass AS zero, 'public'::regnamespace AS ns"],
  ['extension type without a known binary form', "SELECT 'Top.Child'::ltree AS l, ARRAY['a.b'::ltree] AS la"],
  ['user-defined multirange', "SELECT '{[a,b)}'::diff_textmultirange AS m"],
  ['aclitem and anyarray', "SELECT relacl, ARRAY['postgres=arwdDxt/postgres'::aclitem] AS acl FROM pg_class WHERE relname = 'pg_class'"],
  ['record with quoting and nesting', "SELECT ROW(1, NULL, '', 'x\"y', 'back\\slash', ROW(2, 'z w'), ARRAY['a','b c']) AS r"],
  ['whitespace kinds in containers', "SELECT ARRAY[E'a\\vb', E'a\\fb', E'a\\rb', 'a\u00a0b', ' '] AS arr, ROW(E'a\\vb', 'a\u00a0b', E'\\t') AS rec, diff_textrange(E'a\\vb', 'a\u00a0b') AS rng"],
  ['int arrays', "SELECT ARRAY[1, NULL, 3]::int4[] AS a, '{{1,2},{3,NULL}}'::int4[] AS two, '[0:1]={5,6}'::int4[] AS lb, '{}'::int4[] AS empty, '{{{1,2}},{{3,4}}}'::int[] AS three, ARRAY[-32768, 32767]::int2[] AS i2, ARRAY[-9223372036854775808, NULL]::int8[] AS i8"],
  ['text arrays', "SELECT ARRAY['a b', '', NULL, 'NULL', 'null', 'x\"y', 'back\\slash', '{}', 'é', 'a,b', 'plain']::text[] AS t, '{{a,b},{c,d}}'::varchar[] AS v, '[2:3][-1:0]={{a,b},{c,d}}'::text[] AS lb, ARRAY['a', 'b c']::char(3)[] AS bp, ARRAY['x', 'y z']::name[] AS nm"],
  ['number arrays', "SELECT ARRAY[1.5, NULL, 'NaN', -0.001]::numeric[] AS n, ARRAY['NaN', 'Infinity', '-Infinity', '-0', 0.1]::float8[] AS f8, ARRAY[1.1, NULL]::float4[] AS f4, ARRAY[1, 4294967295]::oid[] AS o"],
  ['bool, bytea, json and uuid arrays', "SELECT ARRAY[true, false, NULL] AS b, ARRAY['\\x00ff'::bytea, '', NULL] AS by, ARRAY['{\"a\":1}'::json, 'null', NULL] AS j, ARRAY['[1, 2]'::jsonb, '\"s\"'] AS jb, ARRAY['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid, NULL] AS u"],
  ['date and time arrays', "SELECT ARRAY['2020-01-01'::date, 'infinity', NULL] AS d, ARRAY['2020-01-02 03:04:05.123'::timestamp, NULL] AS ts, ARRAY['2020-01-02 03:04:05.123+00'::timestamptz, '-infinity'] AS tz, ARRAY['1 day 02:00'::interval, '-1 year'] AS iv, ARRAY['12:00'::time, NULL] AS t, ARRAY['12:00+01'::timetz] AS ttz"],
  ['network and money arrays', "SELECT ARRAY['10.0.0.1'::inet, '::1/128', NULL] AS i, ARRAY['10.0.0.0/8'::cidr] AS c, ARRAY['08:00:2b:01:02:03'::macaddr] AS m, ARRAY[1.5::money, (-2)::money, NULL] AS mo"],
  ['geometric arrays', "SELECT ARRAY[point(1, 2), NULL, point(-1.5, 0)] AS p, ARRAY['(1,1),(0,0)'::box, '(3,3),(2,2)'] AS b, ARRAY['<(1,2),3>'::circle] AS c"],
  ['range, enum, composite and record arrays', "SELECT ARRAY[numrange(1, 2), 'empty', NULL] AS nr, ARRAY['[1,2)'::int4range, '(,3)'] AS ir, ARRAY['sad', 'happy ☺', NULL]::diff_mood[] AS m, ARRAY[ROW(1, 'a b', NULL, '{1}')::diff_pair, NULL] AS cp, ARRAY[ROW(1, 'x'), ROW(2, NULL)] AS rec"],
  ['NULL of each type', 'SELECT NULL::int2 AS i2, NULL::int4 AS i4, NULL::int8 AS i8, NULL::float4 AS f4, NULL::float8 AS f8, NULL::numeric AS n, NULL::money AS mo, NULL::bool AS b, NULL::text AS t, NULL::varchar AS vc, NULL::char(2) AS bp, NULL::name AS nm, NULL::uuid AS u, NULL::json AS j, NULL::jsonb AS jb, NULL::bytea AS by, NULL::date AS d, NULL::time AS tm, NULL::timetz AS ttz, NULL::timestamp AS ts, NULL::timestamptz AS tz, NULL::interval AS iv, NULL::inet AS ip, NULL::cidr AS ci, NULL::macaddr AS mac, NULL::macaddr8 AS mac8, NULL::bit(2) AS bt, NULL::varbit AS vb, NULL::point AS pt, NULL::line AS ln, NULL::lseg AS ls, NULL::box AS bx, NULL::path AS pa, NULL::polygon AS pg, NULL::circle AS ci2, NULL::int4range AS r4, NULL::int8range AS r8, NULL::numrange AS nr, NULL::tsrange AS tsr, NULL::tstzrange AS tzr, NULL::daterange AS dr, NULL::int4multirange AS mr, NULL::tsvector AS tv, NULL::tsquery AS tq, NULL::xml AS x, NULL::oid AS o, NULL::regclass AS rc, NULL::regtype AS rt, NULL::diff_mood AS en, NULL::diff_posint AS dom, NULL::diff_pair AS comp, NULL::record AS rec, NULL::int[] AS ai, NULL::text[] AS at'],
  ['several rows with NULLs in between', 'SELECT i, CASE WHEN i % 2 = 0 THEN NULL ELSE i::text END AS t, CASE WHEN i % 3 = 0 THEN NULL ELSE ARRAY[i, NULL] END AS a FROM generate_series(1, 7) i'],
  ['no rows', 'SELECT 1::int AS a, NULL::text AS b WHERE false'],
  ['multi-statement', 'SELECT 1 AS a; SELECT 2 AS b'],
  ['multi-statement with different shapes', "SELECT 1 AS a, 'x'::text AS b; SELECT NULL::int AS c FROM generate_series(1, 3); SELECT"],
  ['insert, update and delete', 'CREATE TEMP TABLE IF NOT EXISTS diff_tmp (i int); INSERT INTO diff_tmp VALUES (1), (2); UPDATE diff_tmp SET i = i + 1; DELETE FROM diff_tmp; DROP TABLE diff_tmp'],
]

const stamp = new Date('2020-01-02T03:04:05.678Z')
const PARAMETERS = [
  ['number as int4', 'SELECT $1::int4 AS v', [42]],
  ['number as int2 and float8', 'SELECT $1::int2 AS a, $2::float8 AS b, $3::float8 AS c, $4::float8 AS d, $5::float8 AS e', [-7, 0.1, -0, NaN, -Infinity]],
  ['bigint as int8', 'SELECT $1::int8 AS v, $2::int8 AS w', [9007199254740993n, -9223372036854775808n]],
  ['string as numeric', 'SELECT $1::numeric AS v, $2::numeric AS w', ['123.4500', 'NaN']],
  ['string as text', 'SELECT $1::text AS a, $2::text AS b, $3::varchar AS c', ['héllo 😀', '', 'x"y\\z']],
  ['untyped string', 'SELECT $1 AS v', ['untyped']],
  ['boolean', 'SELECT $1::bool AS t, $2::bool AS f', [true, false]],
  ['null and undefined', 'SELECT $1::text AS a, $2::int AS b, $3::jsonb AS c', [null, undefined, null]],
  ['Date as timestamptz, timestamp and date', 'SELECT $1::timestamptz AS tz, $2::timestamp AS ts, $3::date AS d', [stamp, stamp, stamp]],
  ['Buffer as bytea', 'SELECT $1::bytea AS a, $2::bytea AS b', [Buffer.from([0, 1, 2, 255]), Buffer.alloc(0)]],
  ['array as int[]', 'SELECT $1::int[] AS a', [[1, null, 3]]],
  ['nested array as int[][]', 'SELECT $1::int[] AS a', [[[1, 2], [3, null]]]],
  ['array as text[] with quoting', 'SELECT $1::text[] AS a', [['a b', 'x"y', null, '\\', '', 'NULL']]],
  ['array of Buffers as bytea[]', 'SELECT $1::bytea[] AS a', [[Buffer.from('ab'), null]]],
  ['array of Dates as timestamptz[]', 'SELECT $1::timestamptz[] AS a', [[stamp, null]]],
  ['plain object as jsonb and json', 'SELECT $1::jsonb AS jb, $2::json AS j', [{ a: [1, { b: null }], s: 'é' }, { n: 1.5, t: true }]],
  ['string as json', 'SELECT $1::json AS j', ['{"raw": "text"}']],
  ['toPostgres()', 'SELECT $1::int AS v', [{ toPostgres: () => '42' }]],
  ['string as enum, domain and composite', 'SELECT $1::diff_mood AS m, $2::diff_posint AS d, $3::diff_pair AS p', ['happy ☺', '9', '(1,"a b",,{1})']],
  ['string as range and interval', 'SELECT $1::int4range AS r, $2::interval AS i', ['[1,5]', '1 day 02:00:00']],
  ['string as inet and point', 'SELECT $1::inet AS i, $2::point AS p', ['10.1.2.3/16', '(1,2)']],
  ['every kind at once', 'SELECT $1::int8 AS a, $2::text AS b, $3::bool AS c, $4::float8 AS d, $5::jsonb AS e, $6::bytea AS f, $7::timestamptz AS g, $8::int[] AS h', [5n, 's', true, 2.5, { k: 'v' }, Buffer.from('z'), stamp, [1, 2]]],
]

// Both sides must reject these with the same server error.
const ERRORS = [
  ['text that is not an int', 'SELECT $1::int AS v', ['abc']],
  ['a JS array sent as json', 'SELECT $1::json AS v', [[1, 2]]],
  ['division by zero', 'SELECT 1 / 0 AS v'],
]

const SCHEMA = `
  DROP TABLE IF EXISTS diff_items;
  DROP TYPE IF EXISTS diff_outer, diff_pair, diff_mood, diff_textrange CASCADE;
  DROP DOMAIN IF EXISTS diff_posint, diff_label;
  CREATE EXTENSION IF NOT EXISTS citext;
  CREATE EXTENSION IF NOT EXISTS hstore;
  CREATE EXTENSION IF NOT EXISTS ltree;
  CREATE TYPE diff_mood AS ENUM ('sad', 'ok', 'happy ☺');
  CREATE DOMAIN diff_posint AS int4 CHECK (VALUE > 0);
  CREATE DOMAIN diff_label AS text;
  CREATE TYPE diff_pair AS (n int4, t text, x int4, arr int4[]);
  CREATE TYPE diff_outer AS (p diff_pair, label text);
  CREATE TYPE diff_textrange AS RANGE (subtype = text, multirange_type_name = diff_textmultirange);
  DROP TABLE IF EXISTS diff_dropped;
  DROP TYPE IF EXISTS diff_empty;
  DROP DOMAIN IF EXISTS diff_ints;
  CREATE DOMAIN diff_ints AS int[];
  CREATE TYPE diff_empty AS ();
  CREATE TABLE diff_dropped (a int, b text, c text);
  INSERT INTO diff_dropped VALUES (1, 'gone', 'kept "here"');
  ALTER TABLE diff_dropped DROP COLUMN b;
  CREATE TABLE diff_items (id serial PRIMARY KEY, pair diff_pair, mood diff_mood, note varchar(10), tags text[]);
  INSERT INTO diff_items (pair, mood, note, tags) VALUES
    (ROW(1, 'one', NULL, '{1}'), 'ok', 'first', '{a,"b c"}'),
    (NULL, NULL, NULL, NULL);
`

let ours
let theirs

before(async () => {
  // One connection a side, so a SET in one case is seen by the same session on both sides.
  theirs = new pg.Pool({ max: 1 })
  await theirs.query(SCHEMA)
  ours = new DatabaseManager({ max: 1 })
})

after(async () => {
  await theirs.query('DROP TABLE IF EXISTS diff_items, diff_dropped; DROP TYPE IF EXISTS diff_outer, diff_pair, diff_mood, diff_textrange, diff_empty CASCADE; DROP DOMAIN IF EXISTS diff_posint, diff_label, diff_ints; DROP EXTENSION IF EXISTS citext, hstore, ltree')
  await theirs.end()
  await ours.close()
})

/** The parts of a result both libraries must agree on; fields as plain objects. */
function shape(result) {
  if (Array.isArray(result)) return result.map(shape)
  return {
    command: result.command,
    rowCount: result.rowCount,
    fields: result.fields.map((f) => ({ ...f })),
    rows: result.rows,
  }
}

async function both(sql, values) {
  // Sequential, not concurrent: the sides share the server's catalog but nothing else.
  const a = shape(await ours.query(sql, values))
  const b = shape(await theirs.query(sql, values))
  return [a, b]
}

for (const [name, sql, values] of [...LITERALS, ...PARAMETERS]) {
  test(name, async () => {
    const [a, b] = await both(sql, values)
    assert.deepStrictEqual(a, b)
  })
}

for (const [name, sql, values] of ERRORS) {
  test(`error: ${name}`, async () => {
    const a = await ours.query(sql, values).then(() => null, (e) => e)
    const b = await theirs.query(sql, values).then(() => null, (e) => e)
    assert.ok(a && b, 'both sides reject')
    assert.deepStrictEqual({ code: a.code, message: a.message }, { code: b.code, message: b.message })
  })
}

for (const [name, setting, sql] of SESSION) {
  test(`after ${setting}`, async () => {
    await ours.query(setting)
    await theirs.query(setting)
    try {
      const [a, b] = await both(sql)
      assert.deepStrictEqual(a, b, name)
    } finally {
      await ours.query('RESET ALL')
      await theirs.query('RESET ALL')
    }
  })
}
