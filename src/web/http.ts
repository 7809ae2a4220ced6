import { readFile, readdir } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';

/** The content types of the files the pages are made of, and of the photos they show. */
export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.avif': 'image/avif',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
  '.heic': 'image/heic',
  '.heif': 'image/heif',
};

/** A JSON body of at most `maxBytes` that fits `schema`, or undefined (wrong type, too long, malformed). */
export async function readJson<T>(req: IncomingMessage, schema: z.ZodType<T>, maxBytes: number): Promise<T | undefined> {
  if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) return undefined;
    chunks.push(chunk);
  }
  try {
    const parsed = schema.safeParse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** The parts both pages use (the large view's face boxes), served by each at `/shared/<name>`. */
const SHARED_DIR = fileURLToPath(new URL('./shared/', import.meta.url));

/** A page's own files and the shared ones, read once by name: only these are ever served from the folders. */
export async function loadPageFiles(dir: string): Promise<Map<string, { type: string; body: Buffer }>> {
  const files = new Map<string, { type: string; body: Buffer }>();
  for (const [folder, prefix] of [
    [dir, '/'],
    [SHARED_DIR, '/shared/'],
  ] as const) {
    for (const name of await readdir(folder)) {
      const type = CONTENT_TYPES[path.extname(name)];
      if (type) files.set(`${prefix}${name}`, { type, body: await readFile(path.join(folder, name)) });
    }
  }
  return files;
}
