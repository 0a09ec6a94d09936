// Public typings of pg-rust-pool/pg: the `pg` module's shape (as @types/pg types it) for what
// pool users and libraries built on `pg` touch. See docs/pg-compat.md.
/// <reference types="node" />
import { EventEmitter } from 'node:events'
import type { DatabaseManager, DatabaseManagerOptions, FieldDef, TypeParser, CustomTypes, SslOptions, Notice } from './index'
import { DatabaseError } from './index'

export { DatabaseError, FieldDef, TypeParser, CustomTypes }

/**
 * `new Pool(config)`: pg's and pg-pool's option names, plus any DatabaseManager option. Settings
 * not given come from the connection string, then the environment (`PGHOST`, `DATABASE_URL`, …).
 */
export interface PoolConfig extends Omit<DatabaseManagerOptions, 'options' | 'types' | 'port' | 'query_timeout'> {
  /** A number, or its digits as a string. @default 5432 */
  port?: number | string
  /** `true`, `false` or node's TLS options (see the README's TLS section). */
  ssl?: boolean | SslOptions
  /** Most connections. @default 10 */
  max?: number
  /** Connections kept open when idle. @default 0 */
  min?: number
  /** Idle connections above `min` close after this; 0 keeps them. @default 10000 */
  idleTimeoutMillis?: number
  /** A connection is replaced after this many queries. @default Infinity */
  maxUses?: number
  /** Accepted: a pool of this package never keeps the process alive while idle. @default false */
  allowExitOnIdle?: boolean
  /** Server-side `statement_timeout` in ms; `false`: the server's. */
  statement_timeout?: number | false
  /** Client-side limit of each query in ms (rejects with `Query read timeout`); `false`: none. */
  query_timeout?: number | false
  /** Server-side `lock_timeout` in ms. */
  lock_timeout?: number | false
  /** Server-side `idle_in_transaction_session_timeout` in ms. */
  idle_in_transaction_session_timeout?: number | false
  /** `application_name`. */
  application_name?: string
  /** `application_name` when neither it nor the connection string gives one. */
  fallback_application_name?: string
  /** libpq's startup `options` (`'-c search_path=app'`), or server settings as an object. */
  options?: string | Record<string, string | number | boolean>
  /** Parsers for every query of this pool that gives none. @default this module's `types` */
  types?: CustomTypes
  /** Only UTF8 is accepted. */
  client_encoding?: string
  /** `false` turns SCRAM channel binding off. */
  enableChannelBinding?: boolean
  /** Accepted and ignored (pg-pool's logging hook). */
  log?: (...messages: unknown[]) => void
}

/** `new Client(config)`: the same options; pool sizes are ignored (one connection). */
export type ClientConfig = PoolConfig

/** A query as one object, as pg takes it. */
export interface QueryConfig<I = any[]> {
  /** The SQL text, with `$1`, `$2`, … placeholders. */
  text: string
  /** Values for the placeholders. */
  values?: I
  /** Accepted: every statement is prepared and kept by its text anyway. */
  name?: string
  /** `'array'`: each row as an array of values in column order. */
  rowMode?: 'array'
  /** This query's parsers (Drizzle passes them to read dates as text). */
  types?: CustomTypes
  /** Client-side limit of this query in ms. */
  query_timeout?: number
  /** pg-rust-pool's name for `query_timeout`. */
  timeoutMillis?: number
  /** Aborting it cancels the query (pg-rust-pool). */
  signal?: AbortSignal
}

/** A query config whose rows are arrays. */
export interface QueryArrayConfig<I = any[]> extends QueryConfig<I> {
  rowMode: 'array'
}

/** The result of one statement, as @types/pg types it (`command` is null for an empty query, `oid` for all but INSERT). */
export interface QueryResult<R = any> {
  command: string
  rowCount: number | null
  oid: number
  fields: FieldDef[]
  rows: R[]
}

/** The result of a query with `rowMode: 'array'`. */
export interface QueryArrayResult<R extends any[] = any[]> extends QueryResult<R> {}

/** A node-style callback of a query. */
export type QueryCallback<T> = (err: Error, result: T) => void

/**
 * A query object with `submit`. pg-cursor's `Cursor` and pg-query-stream's `QueryStream` run (their
 * `read`/`close`, events and `callback`, from a stream of the client or pool: one connection held
 * until the cursor ends); any other is refused with `NOT_SUPPORTED` through its `handleError`.
 */
export interface Submittable {
  submit: (connection: unknown) => void
  handleError?: (error: Error) => void
}

/** The query methods shared by pools and clients. */
export interface Queryable {
  query<T extends Submittable>(queryStream: T): T
  query<R extends any[] = any[], I = any[]>(config: QueryArrayConfig<I>, values?: I): Promise<QueryArrayResult<R>>
  query<R = any, I = any[]>(config: QueryConfig<I> | string, values?: I): Promise<QueryResult<R>>
  query<R extends any[] = any[], I = any[]>(config: QueryArrayConfig<I>, callback: QueryCallback<QueryArrayResult<R>>): void
  query<R = any, I = any[]>(config: QueryConfig<I> | string, callback: QueryCallback<QueryResult<R>>): void
  query<R = any, I = any[]>(text: string, values: I, callback: QueryCallback<QueryResult<R>>): void
}

/** Events of a client (`on`, `once`, `off`… are typed by them: a misspelled event does not compile). */
export interface ClientEvents {
  /** Its connection failed (`Connection terminated unexpectedly`, with the cause). */
  error: [err: Error]
  /** A NOTICE or WARNING the server sent on its connection while it was checked out or open. */
  notice: [notice: Notice]
  /** `Client` only: the connection closed. */
  end: []
  /** `Client` only: connected. */
  connect: []
}

/** Events of a pool; the client is the same object for the same connection while it lives. */
export interface PoolEvents {
  /** A new connection opened. */
  connect: [client: PoolClient]
  /** A connection was handed out, to `connect()` or to `pool.query()`. */
  acquire: [client: PoolClient]
  /** It came back; `err` is what `release(err)` was given. */
  release: [err: Error | undefined, client: PoolClient]
  /** It closed. */
  remove: [client: PoolClient]
  /** An idle connection failed (the server's error), or one under a client (`Connection terminated unexpectedly`). */
  error: [err: Error, client: PoolClient]
}

/** The client of `pool.connect()`, and of the pool's events. */
export declare class PoolClient extends EventEmitter<ClientEvents> {
  /** The server process id of its connection. */
  readonly processID: number
  /**
   * Gives the connection back; `release(true)` or `release(error)` closes it. A second call
   * throws; queries after it reject with `Client was closed and is not queryable`.
   */
  release(err?: Error | boolean): void
  /** `"name"`, quotes doubled. */
  escapeIdentifier(name: string): string
  /** `'text'`, quotes doubled (` E'…'` with backslashes). */
  escapeLiteral(text: string): string
}
export interface PoolClient extends Queryable {}

/** pg's single connection: one connection from `connect()` to `end()`. */
export declare class Client extends EventEmitter<ClientEvents> {
  /** @param config a connection string or pg's config */
  constructor(config?: string | ClientConfig)
  /** The server process id, once connected; null before. */
  readonly processID: number | null
  connect(): Promise<void>
  connect(callback: (err: Error | null) => void): void
  end(): Promise<void>
  end(callback: (err: Error | null) => void): void
  escapeIdentifier(name: string): string
  escapeLiteral(text: string): string
}
export interface Client extends Queryable {}

/** pg-pool's Pool over one DatabaseManager. */
export declare class Pool extends EventEmitter<PoolEvents> {
  /** @throws {DatabaseError} `INVALID_CONFIG` naming a wrong or unsupported option */
  constructor(config?: PoolConfig)
  /** The config with pg-pool's defaults (`password` not enumerable). */
  readonly options: PoolConfig & { max: number; min: number; idleTimeoutMillis: number; maxUses: number; allowExitOnIdle: boolean; maxLifetimeSeconds: number }
  /** The DatabaseManager underneath (not in pg): for `healthHandlers()`, `metrics()`, statistics. */
  readonly manager: DatabaseManager
  /** The class of a single connection with the same options (Kysely builds its control connection from it). */
  readonly Client: typeof Client
  /** Open connections. */
  readonly totalCount: number
  /** Idle connections. */
  readonly idleCount: number
  /** Checkouts and queries waiting for a connection. */
  readonly waitingCount: number
  /** Always 0: connections past `maxLifetimeSeconds` close when released, uncounted. */
  readonly expiredCount: number
  /** `end()` was called. */
  readonly ending: boolean
  /** `end()` has finished. */
  readonly ended: boolean
  /** Checks out a client; release it in a `finally`. */
  connect(): Promise<PoolClient>
  connect(callback: (err: Error | undefined, client: PoolClient | undefined, release: (err?: Error | boolean) => void) => void): void
  /** Waits for checked-out clients and queries in flight, then closes every connection. */
  end(): Promise<void>
  end(callback: (err?: Error | null) => void): void
}
export interface Pool extends Queryable {}

/** Type parsers of this module's pools and clients (not the real pg's). */
export declare const types: {
  getTypeParser(oid: number, format?: 'text' | 'binary'): TypeParser
  setTypeParser(oid: number, parse: TypeParser): void
  setTypeParser(oid: number, format: 'text' | 'binary', parse: TypeParser): void
  /** pg-types' array parser. */
  arrayParser: { create(source: string, transform?: (entry: string | null) => unknown): { parse(): unknown[] } }
  /** Type OIDs by name (`builtins.TIMESTAMPTZ` …). */
  builtins: Record<string, number>
}

/** pg's defaults, for code that reads them; setting `parseInt8 = true` reads int8 as numbers. */
export declare const defaults: Record<string, unknown> & { parseInt8: boolean }

/** `"name"`, with every `"` doubled. */
export declare function escapeIdentifier(name: string): string
/** `'text'`, with every `'` doubled; with a backslash, ` E'…'` with every backslash doubled. */
export declare function escapeLiteral(text: string): string
