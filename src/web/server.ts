import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { THRESHOLD_RANGE, describeError, type Log } from '../core/index.ts';
import { isPhotoName } from '../files/index.ts';
import { listFolders, makeFolder } from './folders.ts';
import { OneTimeCodes, TOKEN_HEADER, hostAllowed, newToken, presentedToken, resolveUnder, tokenCookie, tokenMatches, type PathRefusal } from './security.ts';
import { ZIP_FOLDER, type CorrectionResult, type FolderRole, type NameResult, type UiSession } from './session.ts';
import type { Thumbnails } from './thumbnails.ts';
import { CONTENT_TYPES, loadPageFiles, readJson } from './http.ts';

const PUBLIC_DIR = fileURLToPath(new URL('./public/', import.meta.url));
/** The page loads only its own files; nothing inline, nothing from elsewhere. */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  // The token is in the page's URL: no other site may see it as a referrer.
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};
const MAX_BODY_BYTES = 64 * 1024;
const REFUSALS: Record<PathRefusal, string> = {
  'not-absolute': 'the path must be absolute',
  'not-relative': 'the path must be relative to a chosen folder',
  traversal: 'the path may not go up with ..',
  outside: 'the path is outside the folders this page may read',
  missing: 'no such file or folder',
};

/** What the page says when naming an unknown person is refused. */
function nameProblem(named: Exclude<NameResult, { ok: true }>): string {
  switch (named.problem) {
    case 'no-cluster':
      return 'that unknown person is gone: the results changed, look again';
    case 'busy':
      return 'a run is in progress: name them when it ends';
    case 'empty':
      return 'type a name first';
    case 'too-long':
      return 'that name is too long';
    case 'invisible':
      return 'that name has a blank character that could hide it: type it without';
    case 'no-sample':
      return 'no photo of this face could be added to the known faces';
    case 'exists':
      return `${named.existing} is known already. Are these photos of ${named.existing}?`;
    case 'confusable':
      return `that name reads like ${named.existing}, who is known already: type ${named.existing} to add to them, or a name that cannot be taken for it`;
  }
}

export interface UiServerOptions {
  readonly session: UiSession;
  readonly thumbnails: Thumbnails;
  readonly log: Log;
  /** 0 (the default) takes a free port. */
  readonly port?: number;
  /** For tests; a fresh random token otherwise. */
  readonly token?: string;
}

export interface UiServer {
  /** The page's address with the token: the one thing to open. */
  readonly url: string;
  readonly port: number;
  readonly token: string;
  /**
   * An address that opens the page once, within two minutes, without the token in it: for a
   * browser started on a command line, which other users of the machine can read.
   */
  openOnce(): string;
  close(): Promise<void>;
}

interface Request {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
}

/**
 * `facefile ui`'s web server on node:http, bound to 127.0.0.1 only. Every request must carry the
 * access token (in the query, or the cookie set from it) and name this machine as its Host;
 * requests that change anything are POSTs with the token in a header as well.
 */
export async function startUiServer(options: UiServerOptions): Promise<UiServer> {
  const token = options.token ?? newToken();
  const codes = new OneTimeCodes();
  const files = await loadPageFiles(PUBLIC_DIR);
  const { session, thumbnails, log } = options;
  let port = 0;

  const routes: Record<string, ((r: Request) => Promise<void> | void) | undefined> = {
    'GET /api/state': ({ res }) => json(res, 200, { ...session.state(), roots: session.roots, token }),
    'GET /api/events': (r) => events(r, session),
    'GET /api/browse': async ({ res, url }) => {
      const listing = await listFolders(url.searchParams.get('path') ?? session.roots[0] ?? '/', session.roots);
      if ('refusal' in listing) return refuse(res, listing.refusal);
      json(res, 200, listing);
    },
    'POST /api/mkdir': async ({ req, res }) => {
      const body = await readJson(req, z.object({ parent: z.string(), name: z.string() }), MAX_BODY_BYTES);
      if (!body) return json(res, 400, { error: 'expected { parent, name }' });
      const made = await makeFolder(body.parent, body.name, session.roots);
      if (!made.ok) return refuse(res, made.refusal);
      json(res, 200, { path: made.path });
    },
    'POST /api/folders': async ({ req, res }) => {
      const body = await readJson(req, z.object({ photos: z.string(), known: z.string(), output: z.string(), zips: z.boolean() }), MAX_BODY_BYTES);
      if (!body) return json(res, 400, { error: 'expected { photos, known, output, zips }' });
      const chosen = await session.choose(body, body.zips);
      if (chosen === 'busy') return json(res, 409, { error: 'a run is in progress: change the folders when it ends' });
      if (!chosen.ok)
        return json(res, 403, { error: `${chosen.role}: ${chosen.refusal === 'not-a-folder' ? 'not a folder' : REFUSALS[chosen.refusal]}`, role: chosen.role });
      json(res, 200, session.state());
    },
    'POST /api/run': async ({ req, res }) => {
      const body = await readJson(req, z.object({ threshold: z.number().min(THRESHOLD_RANGE.min).max(THRESHOLD_RANGE.max).optional() }), MAX_BODY_BYTES);
      if (!body) return json(res, 400, { error: 'expected { threshold? }' });
      const started = session.startRun(body.threshold);
      if (started === 'busy') return json(res, 409, { error: 'a run is in progress' });
      if (started === 'no-folders') return json(res, 409, { error: 'choose the folders first' });
      json(res, 202, session.state());
    },
    'POST /api/name': async ({ req, res }) => {
      const body = await readJson(req, z.object({ cluster: z.number().int(), name: z.string(), merge: z.boolean().optional() }), MAX_BODY_BYTES);
      if (!body) return json(res, 400, { error: 'expected { cluster, name, merge? }' });
      answerCorrection(res, await session.nameCluster(body.cluster, body.name, body.merge));
    },
    'GET /api/results': ({ res }) => json(res, 200, session.results() ?? null),
    'GET /api/preview': ({ res, url }) => {
      const threshold = numberParam(url, 'threshold');
      const preview = threshold === undefined ? undefined : session.preview(threshold);
      if (!preview)
        return json(res, threshold === undefined ? 400 : 409, {
          error: threshold === undefined ? `a threshold from ${THRESHOLD_RANGE.min} to ${THRESHOLD_RANGE.max} is needed` : 'no run yet',
        });
      json(res, 200, preview);
    },
    'GET /api/plot.png': async ({ res, url }) => {
      const png = await session.plot(numberParam(url, 'threshold'));
      if (!png) return json(res, 409, { error: 'no run yet' });
      send(res, 200, 'image/png', png);
    },
    'GET /api/thumb': (r) => servePhoto(r, 'thumb'),
    'GET /api/photo': (r) => servePhoto(r, 'original'),
    'GET /api/view': async ({ res, url }) => {
      const file = await photoFile(res, url.searchParams.get('path'));
      if (file === undefined) return;
      const faces = session.photoFaces(file);
      const large = faces && (await thumbnails.large(file));
      if (!faces || !large) return json(res, 404, { error: 'this photo is not in the last run' });
      const people = (session.results()?.known ?? []).filter((k) => k.samples > 0).map((k) => k.name);
      json(res, 200, { width: large.width, height: large.height, faces, people });
    },
    'GET /api/large': async ({ res, url }) => {
      const file = await photoFile(res, url.searchParams.get('path'));
      if (file === undefined) return;
      const large = await thumbnails.large(file);
      if (!large) return json(res, 404, { error: 'this photo cannot be shown' });
      send(res, 200, 'image/jpeg', large.jpeg);
    },
    'GET /api/suggestions': ({ res }) => {
      const root = session.folder('photos');
      if (!root) return json(res, 409, { error: 'choose the folders first' });
      json(
        res,
        200,
        session.suggestions().map((s) => ({ ...s, file: path.relative(root, s.file) })),
      );
    },
    'POST /api/notthis': async ({ req, res }) => {
      const body = await readJson(req, z.object({ path: z.string(), face: z.number().int().min(0), person: z.string().max(256) }), MAX_BODY_BYTES);
      if (!body) return json(res, 400, { error: 'expected { path, face, person }' });
      const file = await photoFile(res, body.path);
      if (file === undefined) return;
      answerCorrection(res, await session.notThis(file, body.face, body.person));
    },
    'POST /api/addface': async ({ req, res }) => {
      const body = await readJson(
        req,
        z.object({ path: z.string(), face: z.number().int().min(0), name: z.string(), merge: z.boolean().optional() }),
        MAX_BODY_BYTES,
      );
      if (!body) return json(res, 400, { error: 'expected { path, face, name, merge? }' });
      const file = await photoFile(res, body.path);
      if (file === undefined) return;
      answerCorrection(res, await session.addFace(file, body.face, body.name, body.merge));
    },
    'GET /api/face': async ({ res, url }) => {
      if (url.searchParams.has('path')) {
        const file = await photoFile(res, url.searchParams.get('path'));
        if (file === undefined) return;
        const jpeg = await session.photoFace(file, Number(url.searchParams.get('face')));
        if (!jpeg) return json(res, 404, { error: 'no such face' });
        return send(res, 200, 'image/jpeg', jpeg);
      }
      const jpeg = await session.clusterFace(Number(url.searchParams.get('cluster')), Number(url.searchParams.get('n')));
      if (!jpeg) return json(res, 404, { error: 'no such face' });
      send(res, 200, 'image/jpeg', jpeg);
    },
    'GET /api/zip': async ({ res, url }) => {
      const output = session.folder('output');
      const relative = url.searchParams.get('path') ?? '';
      if (!output) return json(res, 409, { error: 'choose the folders first' });
      const checked = await resolveUnder(path.join(output, ZIP_FOLDER), relative);
      if (!checked.ok) return refuse(res, checked.refusal);
      if (!checked.path.endsWith('.zip')) return refuse(res, 'outside');
      await streamFile(res, checked.path, 'application/zip', {
        'content-disposition': `attachment; filename*=UTF-8''${encodeURIComponent(path.basename(checked.path))}`,
      });
    },
  };

  /** The real path of a photo in the photos folder, by its path inside it; otherwise the refusal is the answer and undefined is returned. */
  async function photoFile(res: ServerResponse, relative: string | null): Promise<string | undefined> {
    const root = session.folder('photos');
    if (!root) {
      json(res, 409, { error: 'choose the folders first' });
      return undefined;
    }
    const checked = await resolveUnder(root, relative ?? '');
    if (!checked.ok) {
      refuse(res, checked.refusal);
      return undefined;
    }
    if (!isPhotoName(checked.path)) {
      refuse(res, 'outside');
      return undefined;
    }
    return checked.path;
  }

  /** A photo (or its thumbnail) by the chosen folder it lies in and its path inside it. */
  async function servePhoto({ res, url }: Request, as: 'thumb' | 'original'): Promise<void> {
    const role = url.searchParams.get('in');
    if (role !== 'photos' && role !== 'known' && role !== 'output') return json(res, 400, { error: 'in= must be photos, known or output' });
    const root = session.folder(role satisfies FolderRole);
    if (!root) return json(res, 409, { error: 'choose the folders first' });
    const checked = await resolveUnder(root, url.searchParams.get('path') ?? '');
    if (!checked.ok) return refuse(res, checked.refusal);
    if (!isPhotoName(checked.path)) return refuse(res, 'outside');
    if (as === 'original') {
      // Streamed: a photo of any size costs a buffer, not its size in memory.
      return streamFile(res, checked.path, CONTENT_TYPES[path.extname(checked.path).toLowerCase()] ?? 'application/octet-stream');
    }
    // In a person's grid (`for=<person>`), centred on that person's face.
    const person = url.searchParams.get('for');
    const face = person === null ? undefined : session.faceOf(checked.path, person);
    const jpeg = face ? await thumbnails.photoAround(checked.path, face) : await thumbnails.photo(checked.path);
    if (!jpeg) return json(res, 404, { error: 'this photo cannot be shown' });
    send(res, 200, 'image/jpeg', jpeg);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!hostAllowed(req.headers.host, port)) return json(res, 403, { error: 'wrong Host' });
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    const cookie = `${tokenCookie(port)}=${token}; Path=/; HttpOnly; SameSite=Strict`;
    const code = url.searchParams.get('code');
    if (req.method === 'GET' && url.pathname === '/' && code !== null) {
      if (!codes.take(code)) return json(res, 403, { error: 'this link was used already or is too old: open the address facefile ui printed' });
      res.writeHead(303, { ...SECURITY_HEADERS, 'set-cookie': cookie, location: '/' }).end();
      return;
    }
    const presented = presentedToken(url, req.headers.cookie, tokenCookie(port));
    if (!tokenMatches(presented, token)) return json(res, 403, { error: 'open the address facefile ui printed: it carries the access token' });
    if (url.searchParams.has('token')) res.setHeader('set-cookie', cookie);
    if (req.method === 'POST') {
      const header = req.headers[TOKEN_HEADER];
      const origin = req.headers.origin;
      if (!tokenMatches(typeof header === 'string' ? header : undefined, token)) return json(res, 403, { error: 'missing token header' });
      if (origin !== undefined && origin !== `http://127.0.0.1:${port}` && origin !== `http://localhost:${port}`)
        return json(res, 403, { error: 'wrong Origin' });
    } else if (req.method !== 'GET' && req.method !== 'HEAD') {
      return json(res, 405, { error: 'method not allowed' });
    }
    const route = routes[`${req.method === 'HEAD' ? 'GET' : req.method} ${url.pathname}`];
    if (route) return route({ req, res, url });
    const file = files.get(url.pathname === '/' ? '/index.html' : url.pathname);
    if (file && req.method !== 'POST') return send(res, 200, file.type, file.body);
    json(res, 404, { error: 'not found' });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log.error({ err: error, url: req.url?.replace(/(token|code)=[^&]*/g, '$1=…') }, 'ui: request failed');
      if (!res.headersSent) json(res, 500, { error: `failed: ${describeError(error)}` });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
    openOnce: () => `http://127.0.0.1:${port}/?code=${codes.mint()}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Event streams never end on their own.
        server.closeAllConnections();
      }),
  };
}

/** Server-Sent Events: the session's state now, then at every change (progress, end of a run). */
function events({ req, res }: Request, session: UiSession): void {
  res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream', connection: 'keep-alive' });
  const write = (state: unknown): void => {
    res.write(`data: ${JSON.stringify(state)}\n\n`);
  };
  write(session.state());
  const unsubscribe = session.subscribe(write);
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
  req.on('close', () => {
    clearInterval(heartbeat);
    unsubscribe();
  });
}

/** A correction's answer: 202 while the photos are sorted again, else why not. */
function answerCorrection(res: ServerResponse, done: CorrectionResult): void {
  if (done.ok) return json(res, 202, done);
  if (done.problem === 'stale') return json(res, 409, { error: 'the photos changed since this was shown: look again' });
  const conflict = done.problem === 'busy' || done.problem === 'no-cluster' || done.problem === 'exists';
  json(res, conflict ? 409 : 400, { error: nameProblem(done), ...(done.problem === 'exists' ? { exists: done.existing } : {}) });
}

function numberParam(url: URL, name: string): number | undefined {
  const raw = url.searchParams.get(name);
  const value = raw === null || raw === '' ? NaN : Number(raw);
  return Number.isFinite(value) && value >= 0 && value <= 1 ? value : undefined;
}

function refuse(res: ServerResponse, refusal: PathRefusal): void {
  json(res, refusal === 'missing' ? 404 : 403, { error: REFUSALS[refusal] });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, 'application/json; charset=utf-8', Buffer.from(JSON.stringify(body)));
}

/** A file as the whole answer, streamed from the disk. */
async function streamFile(res: ServerResponse, file: string, type: string, headers: Record<string, string> = {}): Promise<void> {
  const info = await stat(file);
  res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': info.size, ...headers });
  createReadStream(file).pipe(res);
}

function send(res: ServerResponse, status: number, type: string, body: Uint8Array): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': body.byteLength });
  res.end(body);
}
