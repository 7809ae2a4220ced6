import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/** A Telegram user, as the Mini App's signed launch data names them. */
export interface LaunchUser {
  readonly id: number;
  readonly name: string;
}

export type LaunchCheck =
  | { readonly ok: true; readonly user: LaunchUser; readonly startParam: string | undefined; readonly authDate: number }
  | { readonly ok: false; readonly reason: 'malformed' | 'bad-signature' | 'expired' };

/**
 * Checks a Telegram Mini App's launch data (`initData`) as Telegram specifies: the `hash` is
 * HMAC-SHA-256 of the other fields as sorted `key=value` lines, keyed by HMAC-SHA-256 of the bot
 * token with the key "WebAppData". Launch data older than `maxAgeSeconds` (by `auth_date`), or from
 * the future beyond a minute's clock skew, is refused: a link copied from a log or a screen
 * expires.
 */
export function checkLaunchData(initData: string, botToken: string, options: { readonly maxAgeSeconds: number; readonly now?: number }): LaunchCheck {
  if (initData.length === 0 || initData.length > 8192) return { ok: false, reason: 'malformed' };
  const params = new URLSearchParams(initData);
  const hash = params.get('hash');
  if (!hash || !/^[0-9a-f]{64}$/.test(hash)) return { ok: false, reason: 'malformed' };
  const lines = [...params.entries()]
    .filter(([key]) => key !== 'hash')
    .map(([key, value]) => `${key}=${value}`)
    .sort();
  const secret = createHmac('sha256', 'WebAppData').update(botToken).digest();
  const expected = createHmac('sha256', secret).update(lines.join('\n')).digest();
  if (!timingSafeEqual(expected, Buffer.from(hash, 'hex'))) return { ok: false, reason: 'bad-signature' };
  const authDate = Number(params.get('auth_date'));
  const now = (options.now ?? Date.now()) / 1000;
  if (!Number.isFinite(authDate) || now - authDate > options.maxAgeSeconds || authDate - now > 60) return { ok: false, reason: 'expired' };
  const user = parseUser(params.get('user'));
  if (!user) return { ok: false, reason: 'malformed' };
  return { ok: true, user, startParam: params.get('start_param') ?? undefined, authDate };
}

function parseUser(json: string | null): LaunchUser | undefined {
  if (!json) return undefined;
  try {
    const user = JSON.parse(json) as { id?: unknown; first_name?: unknown; last_name?: unknown; username?: unknown };
    if (typeof user.id !== 'number' || !Number.isSafeInteger(user.id)) return undefined;
    const name = [user.first_name, user.last_name].filter((part): part is string => typeof part === 'string' && part.length > 0).join(' ');
    return { id: user.id, name: name || (typeof user.username === 'string' ? user.username : String(user.id)) };
  } catch {
    return undefined;
  }
}

/**
 * Short signed tokens (a Discord member's link, a session): the payload as base64url JSON, a dot,
 * and an HMAC-SHA-256 of the purpose and the payload. The purpose keeps one kind of token from
 * being taken for another; `exp` (seconds since the epoch) is required and checked.
 */
export class Signer {
  private readonly key: Buffer;

  /** The key is derived from `secret` (a setting, or the bot tokens every process of a deployment shares). */
  constructor(secret: string) {
    this.key = Buffer.from(hkdfSync('sha256', secret, 'facefile', 'facefile gallery tokens', 32));
  }

  sign(purpose: string, payload: Readonly<Record<string, unknown>> & { readonly exp: number }): string {
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return `${body}.${this.mac(purpose, body).toString('base64url')}`;
  }

  /** The payload of a token this signer made for `purpose` and that has not expired, or undefined. */
  open(purpose: string, token: string, now = Date.now()): Record<string, unknown> | undefined {
    if (token.length > 4096) return undefined;
    const [body, mac, extra] = token.split('.');
    if (!body || !mac || extra !== undefined) return undefined;
    const given = Buffer.from(mac, 'base64url');
    const expected = this.mac(purpose, body);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    try {
      const payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as unknown;
      if (typeof payload !== 'object' || payload === null) return undefined;
      const exp = (payload as { exp?: unknown }).exp;
      if (typeof exp !== 'number' || exp * 1000 <= now) return undefined;
      return payload as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }

  private mac(purpose: string, body: string): Buffer {
    return createHmac('sha256', this.key).update(`${purpose}.${body}`).digest();
  }
}
