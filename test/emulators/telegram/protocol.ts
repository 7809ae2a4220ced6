import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import type { ResponseParameters } from '@telegraf/types';

/** The body of every failed Bot API answer. */
export interface ApiErrorPayload {
  readonly error_code: number;
  readonly description: string;
  readonly parameters?: ResponseParameters;
}

/** An expected refusal: becomes `{ ok: false, error_code, description, parameters? }`. */
export class BotApiError extends Error {
  override readonly name = 'BotApiError';
  constructor(readonly payload: ApiErrorPayload) {
    super(payload.description);
  }
}

export function badRequest(reason: string): BotApiError {
  return new BotApiError({ error_code: 400, description: `Bad Request: ${reason}` });
}

export const UNAUTHORIZED: ApiErrorPayload = { error_code: 401, description: 'Unauthorized' };
export const METHOD_NOT_FOUND: ApiErrorPayload = { error_code: 404, description: 'Not Found: method not found' };
export const NOT_FOUND: ApiErrorPayload = { error_code: 404, description: 'Not Found' };

/** A file that arrived as a multipart part. */
export interface UploadedFile {
  readonly fileName: string;
  readonly mimeType: string;
  readonly bytes: Buffer;
}

/** Request parameters as they arrived: JSON values, form strings, or uploaded files. */
export type Params = Record<string, unknown>;

export function isUploadedFile(value: unknown): value is UploadedFile {
  return typeof value === 'object' && value !== null && Buffer.isBuffer((value as Partial<UploadedFile>).bytes);
}

const MIME_TYPES: Readonly<Record<string, string>> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.heic': 'image/heic',
  '.pdf': 'application/pdf',
  '.zip': 'application/zip',
  '.txt': 'text/plain',
  '.csv': 'text/csv',
  '.json': 'application/json',
};

/** Telegram ignores the part's content type and guesses from the file name, as here. */
export function mimeTypeOf(fileName: string): string {
  return MIME_TYPES[path.extname(fileName).toLowerCase()] ?? 'application/octet-stream';
}

async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    // Keep draining so the client sees the answer instead of a reset connection.
    if (size <= maxBytes) chunks.push(chunk);
  }
  return size <= maxBytes ? Buffer.concat(chunks) : undefined;
}

/**
 * The parameters of one call: the query string, then the body (JSON, urlencoded or multipart),
 * the body winning. Returns undefined when the body is over `maxBodyBytes`.
 */
export async function readParams(req: IncomingMessage, url: URL, maxBodyBytes: number): Promise<Params | undefined> {
  const params: Params = Object.fromEntries(url.searchParams);
  const body = await readBody(req, maxBodyBytes);
  if (body === undefined) return undefined;
  if (body.length === 0) return params;
  const contentType = req.headers['content-type'] ?? '';
  const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
  switch (mediaType) {
    case 'application/json': {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        throw badRequest("can't parse JSON object");
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw badRequest("can't parse JSON object");
      return { ...params, ...(parsed as Params) };
    }
    case 'application/x-www-form-urlencoded':
      return { ...params, ...Object.fromEntries(new URLSearchParams(body.toString('utf8'))) };
    case 'multipart/form-data': {
      // Deprecated for untrusted servers (no streaming, no limits); a test double reading its own
      // bot's bounded uploads is the case it still suits, and it needs no dependency.
      // eslint-disable-next-line @typescript-eslint/no-deprecated
      const form = await new Request('http://emulator.invalid/', { method: 'POST', headers: { 'content-type': contentType }, body }).formData();
      for (const [name, value] of form) {
        params[name] =
          typeof value === 'string'
            ? value
            : ({ fileName: value.name, mimeType: mimeTypeOf(value.name), bytes: Buffer.from(await value.arrayBuffer()) } satisfies UploadedFile);
      }
      return params;
    }
    default:
      return params;
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendError(res: ServerResponse, payload: ApiErrorPayload): void {
  sendJson(res, payload.error_code >= 400 && payload.error_code < 600 ? payload.error_code : 400, { ok: false, ...payload });
}

// Readers of single parameters. Telegram accepts every value as a string too (form bodies carry
// nothing else), so numbers, booleans and JSON objects are parsed from strings here.

export function optionalString(params: Params, name: string): string | undefined {
  const value = params[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw badRequest(`invalid ${name} specified`);
}

export function optionalInteger(params: Params, name: string): number | undefined {
  const value = params[name];
  if (value === undefined || value === null || value === '') return undefined;
  const number = typeof value === 'number' ? value : typeof value === 'string' ? Number(value.trim()) : Number.NaN;
  if (!Number.isSafeInteger(number)) throw badRequest(`invalid ${name} specified`);
  return number;
}

export function requiredInteger(params: Params, name: string): number {
  const value = optionalInteger(params, name);
  if (value === undefined) throw badRequest(`${name} is empty`);
  return value;
}

export function optionalBoolean(params: Params, name: string): boolean | undefined {
  const value = params[name];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === '1' || value === 1) return true;
  if (value === 'false' || value === '0' || value === 0) return false;
  throw badRequest(`invalid ${name} specified`);
}

/** A JSON-serialised object or array parameter, given either as JSON (in a JSON body) or as a string. */
export function optionalJson(params: Params, name: string): unknown {
  const value = params[name];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    throw badRequest(`can't parse ${name} JSON object`);
  }
}

/** The chat of a call; usernames (`@channel`) are not emulated and read as unknown chats. */
export function chatIdOf(params: Params): number {
  const value = params.chat_id;
  if (value === undefined || value === null || value === '') throw badRequest('chat_id is empty');
  const number = typeof value === 'number' ? value : typeof value === 'string' ? Number(value.trim()) : Number.NaN;
  if (!Number.isSafeInteger(number)) throw badRequest('chat not found');
  return number;
}

/** The UTC seconds Telegram stamps on messages. */
export function unixNow(): number {
  return Math.floor(Date.now() / 1000);
}
