import pg from 'pg';
import { ServiceUnavailableError, StartupError, describeError, withoutPassword } from '../../core/index.ts';

/** PostgreSQL's answers that a setting is wrong: a refused password or role, a database that does not exist. */
const WRONG_SETTING = new Set(['28P01', '28000', '3D000', '42501']);

/**
 * Checks at start, before the models load, that PostgreSQL answers at `url`: a `StartupError` when
 * it refuses the settings (exit 2), a `ServiceUnavailableError` when it cannot be reached or is
 * still starting (worth trying again).
 */
export async function verifyPostgres(url: string, timeoutMs = 5_000): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  // A connection lost after the check is not this check's business.
  client.on('error', () => undefined);
  const where = withoutPassword(url);
  try {
    await client.connect();
    await client.query('select 1');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const reason = typeof code === 'string' && !/^[0-9A-Z]{5}$/.test(code) ? code : describeError(error);
    if (typeof code === 'string' && WRONG_SETTING.has(code))
      throw new StartupError(`PostgreSQL at ${where} refused the connection: ${reason}; check DATABASE_URL`, { cause: error });
    throw new ServiceUnavailableError(`cannot reach PostgreSQL at ${where}: ${reason}`, { cause: error });
  } finally {
    await client.end().catch(() => undefined);
  }
}
