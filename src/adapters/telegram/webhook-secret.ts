import { createHmac } from 'node:crypto';

/** Fixed, so that every process of a deployment derives the same secret from the same token. */
const LABEL = 'facefile telegram webhook secret v1';

/**
 * The webhook's secret when none is configured: derived from the bot token, so that every process
 * behind one URL agrees without a setting, and only someone who holds the token (and could set the
 * webhook anyway) can make it. base64url of an HMAC-SHA256: 43 characters of Telegram's alphabet
 * for `secret_token` (A-Z a-z 0-9 _ -, at most 256).
 */
export function derivedWebhookSecret(token: string): string {
  return createHmac('sha256', token).update(LABEL).digest('base64url');
}
