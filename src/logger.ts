import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * The process logger: JSON lines on stderr, so that stdout stays free for command output.
 * Fields named like secrets are redacted, and every written line passes through `redactSecrets`,
 * which masks bot tokens (Telegram's Bot API URLs carry the token in their path).
 */
export function createLogger(level: string, destination: pino.DestinationStream = process.stderr): Logger {
  return pino(
    {
      level,
      base: null,
      redact: {
        paths: [
          'token',
          '*.token',
          'secret',
          '*.secret',
          'initData',
          '*.initData',
          'config.telegram.token',
          'config.discord.token',
          'config.gallery.secret',
          'headers.authorization',
          '*.headers.authorization',
        ],
        censor: '[redacted]',
      },
      formatters: { level: (label) => ({ level: label }) },
      // The last step before a line is written: whatever field or message a token hides in (an
      // error's message, a URL in a context object), it is masked here.
      hooks: { streamWrite: redactSecrets },
      serializers: { err: (err: unknown) => serializeError(err) },
    },
    destination,
  );
}

/**
 * Masks secrets in any text: Telegram's `/bot<id>:<secret>` URL segment and bare `<id>:<secret>`
 * tokens (also URL-encoded, `%3A` for the colon), Discord's three dot-separated base64url parts
 * (`<user id>.<timestamp>.<hmac>`), and the password of any URL with credentials
 * (`postgres://user:secret@host`, `redis://:secret@host`, `...?password=secret`).
 */
export function redactSecrets(text: string): string {
  return (
    text
      .replace(/\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@"']*:)[^\s@/"']+@/gi, '$1[redacted]@')
      // libpq and ioredis also take the password as a query parameter: `?password=...`.
      .replace(/([?&](?:password|pass|passwd|pwd|sslpassword)=)[^&\s"'#]+/gi, '$1[redacted]')
      .replace(/\bbot\d+(?::|%3a)[\w-]{20,}/gi, 'bot[redacted]')
      .replace(/\b\d{5,}(?::|%3a)[\w-]{30,}\b/gi, '[redacted]')
      .replace(/\b[\w-]{23,28}\.[\w-]{6,7}\.[\w-]{27,}\b/g, '[redacted]')
  );
}

function serializeError(err: unknown): unknown {
  const plain = pino.stdSerializers.err(err as Error);
  return JSON.parse(redactSecrets(JSON.stringify(plain))) as unknown;
}

/** The command line's logger: the detail goes to a log file, so the terminal shows only short messages. */
export function createFileLogger(level: string, file: string): Logger {
  return createLogger(level, pino.destination({ dest: file, mkdir: true, sync: true }));
}
