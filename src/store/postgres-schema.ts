/**
 * The tables of `PostgresStore`, created on first use and upgraded by later versions. The store's
 * module comment describes them.
 * @module
 */
import pg from 'pg'
import { StoreUnavailableError, quoteForMessage } from '../errors.js'

const SCHEMA_VERSION = 1

/**
 * Creates the schema and its tables when missing, and upgrades them to `SCHEMA_VERSION`. Call it
 * inside a transaction, because its advisory lock lasts until the transaction ends and would
 * otherwise be released at once.
 * @param schemaName The unquoted schema name, already checked.
 * @throws {StoreUnavailableError} when the schema has a newer version than this code supports.
 * @internal
 */
export async function migrateSchema(client: pg.PoolClient, schemaName: string): Promise<void> {
  // Hubs that start at once would otherwise race to create the same schema and tables.
  await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
    `tidings schema ${schemaName}`,
  ])
  const schema = pg.escapeIdentifier(schemaName)
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`)
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${schema}.log_state (key text PRIMARY KEY, value bigint NOT NULL)`,
  )
  const found = await client.query<{ value: string }>(
    `SELECT value FROM ${schema}.log_state WHERE key = 'schema_version'`,
  )
  const version = found.rows[0] ? Number(found.rows[0].value) : 0
  if (version > SCHEMA_VERSION) {
    throw new StoreUnavailableError(
      `PostgreSQL schema ${quoteForMessage(schemaName)} has version ${version}, newer than version ${SCHEMA_VERSION} of this Tidings; upgrade Tidings`,
    )
  }
  // Later versions add their steps here, each guarded by `version < N`.
  await client.query(`
    CREATE TABLE IF NOT EXISTS ${schema}.events (
      position bigint PRIMARY KEY,
      event_type text NOT NULL,
      json text NOT NULL,
      created_at bigint NOT NULL
    );
    CREATE TABLE IF NOT EXISTS ${schema}.subscriptions (
      id text PRIMARY KEY,
      position bigint NOT NULL,
      start_position bigint NOT NULL,
      connection_state text NOT NULL,
      created_at bigint NOT NULL,
      last_seen_at bigint NOT NULL
    );
    CREATE INDEX IF NOT EXISTS subscriptions_last_seen_at
      ON ${schema}.subscriptions (last_seen_at);
    INSERT INTO ${schema}.log_state (key, value)
      VALUES ('head', 0), ('trimmed_through', 0), ('schema_version', ${SCHEMA_VERSION})
      ON CONFLICT (key) DO NOTHING;
    UPDATE ${schema}.log_state SET value = ${SCHEMA_VERSION} WHERE key = 'schema_version';
  `)
}
