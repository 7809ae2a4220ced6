import type { IncomingMessage, ServerResponse } from 'node:http';

/** A JSON object as it crosses the wire; the emulator reads only the fields it needs. */
export type Json = Record<string, unknown>;

/** Discord's epoch (2015-01-01), the zero of every snowflake's timestamp. */
const DISCORD_EPOCH = 1_420_070_400_000n;

/** Gateway intents the emulator filters dispatches by. */
export const Intent = {
  Guilds: 1 << 0,
  GuildMembers: 1 << 1,
  GuildMessages: 1 << 9,
  MessageContent: 1 << 15,
} as const;

export const Permission = {
  Administrator: 0x8n,
  ManageGuild: 0x20n,
  ViewChannel: 1n << 10n,
  /** What @everyone has here: add reactions, view, send, embed, attach, read history, use commands. */
  EveryoneDefault: (1n << 6n) | (1n << 10n) | (1n << 11n) | (1n << 14n) | (1n << 15n) | (1n << 16n) | (1n << 31n),
  All: (1n << 53n) - 1n,
} as const;

/** Makes snowflakes that sort by time, as Discord's do, so discord.js's createdAt reads right. */
export class SnowflakeMaker {
  private increment = 0n;

  /** A snowflake of now, or of `at` (ms) for something dated in the past. */
  next(at = Date.now()): string {
    this.increment = (this.increment + 1n) & 0xfffn;
    return (((BigInt(at) - DISCORD_EPOCH) << 22n) | (1n << 17n) | this.increment).toString();
  }
}

/** An error answered to the client as Discord's JSON error body. */
export class DiscordApiError extends Error {
  override readonly name = 'DiscordApiError';

  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export const notFound = (what: string, code: number): DiscordApiError => new DiscordApiError(404, code, `Unknown ${what}`);
export const badRequest = (message: string, code = 50035): DiscordApiError => new DiscordApiError(400, code, message);

/** A file part of a multipart request. */
export interface UploadedFile {
  readonly name: string;
  readonly bytes: Buffer;
  readonly contentType: string;
}

/** A request body: JSON, or multipart's payload_json plus its `files[n]` parts in order. */
export interface RequestBody {
  readonly json: unknown;
  readonly files: readonly UploadedFile[];
}

export async function readBody(request: IncomingMessage): Promise<RequestBody> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  const contentType = request.headers['content-type'] ?? '';
  if (raw.length === 0) return { json: undefined, files: [] };
  if (contentType.startsWith('multipart/form-data')) {
    // Deprecated for untrusted servers (no streaming, no limits); a test double reading its own
    // bot's bounded uploads is the case it still suits, and it needs no dependency.
    // eslint-disable-next-line @typescript-eslint/no-deprecated
    const form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
    const files: UploadedFile[] = [];
    let json: unknown;
    for (const [key, value] of form.entries()) {
      if (typeof value === 'string') {
        if (key === 'payload_json') json = JSON.parse(value);
      } else {
        files.push({ name: value.name, bytes: Buffer.from(await value.arrayBuffer()), contentType: value.type || 'application/octet-stream' });
      }
    }
    return { json, files };
  }
  if (contentType.startsWith('application/json')) return { json: JSON.parse(raw.toString('utf8')), files: [] };
  throw badRequest(`unsupported content type ${contentType}`);
}

/** The rate-limit headers Discord puts on every answer, with room to spare so nothing waits. */
export function rateLimitHeaders(bucket: string, remaining = 49, resetAfterSeconds = 1): Record<string, string> {
  return {
    'x-ratelimit-limit': '50',
    'x-ratelimit-remaining': String(remaining),
    'x-ratelimit-reset': String(Date.now() / 1000 + resetAfterSeconds),
    'x-ratelimit-reset-after': String(resetAfterSeconds),
    'x-ratelimit-bucket': bucket,
  };
}

export function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (status === 204) {
    response.writeHead(204, headers).end();
    return;
  }
  const text = JSON.stringify(body);
  response.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

export function asObject(value: unknown): Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {};
}

export function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? (value as unknown[]) : [];
}

export function optionalString(object: Json, key: string): string | undefined {
  const value = object[key];
  return typeof value === 'string' ? value : undefined;
}
