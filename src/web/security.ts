import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { realpath } from 'node:fs/promises';
import path from 'node:path';

/**
 * The cookie the page's first (token-bearing) request sets, so later requests need no query. Named
 * per port: cookies do not tell ports apart, and two `facefile ui` on one machine must neither
 * share nor overwrite each other's.
 */
export function tokenCookie(port: number): string {
  return `facefile_ui_${port}`;
}
/** State-changing requests carry the token in this header too: a cross-site form cannot set it. */
export const TOKEN_HEADER = 'x-facefile-token';

/** A fresh access token: 32 random bytes, URL-safe. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Compares a presented token with the real one in constant time. Both are hashed first, so the
 * comparison takes the same time whatever the presented token's length.
 */
export function tokenMatches(presented: string | undefined, token: string): boolean {
  if (presented === undefined) return false;
  const digest = (value: string): Buffer => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(presented), digest(token));
}

/** The token a request presents: in the query (`?token=`), or else in the cookie (`cookie`) set from it. */
export function presentedToken(url: URL, cookieHeader: string | undefined, cookie: string): string | undefined {
  const fromQuery = url.searchParams.get('token');
  if (fromQuery !== null) return fromQuery;
  for (const part of (cookieHeader ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === cookie) return value.join('=');
  }
  return undefined;
}

/**
 * Codes that each open the page once, shortly after they are made: what the browser is started
 * with, since a command line can be read by every user of the machine (`ps`). The code is traded
 * for the cookie at the first request; the token itself never rides on a command line.
 */
export class OneTimeCodes {
  private readonly codes = new Map<string, number>();

  constructor(
    private readonly ttlMs = 120_000,
    private readonly now = () => Date.now(),
  ) {}

  mint(): string {
    const code = newToken();
    this.codes.set(code, this.now() + this.ttlMs);
    return code;
  }

  /** Whether `code` was made here, is not too old, and was not used: it cannot be used again. */
  take(code: string): boolean {
    const until = this.codes.get(code);
    this.codes.delete(code);
    for (const [other, otherUntil] of this.codes) if (otherUntil < this.now()) this.codes.delete(other);
    return until !== undefined && until >= this.now();
  }
}

/**
 * Only the names this server is reached by on this machine. A page on another site that makes
 * its own name resolve to 127.0.0.1 (DNS rebinding) still sends its own name as Host.
 */
export function hostAllowed(host: string | undefined, port: number): boolean {
  return host === `127.0.0.1:${port}` || host === `localhost:${port}`;
}

/** Why a requested path was refused; the server answers 403 for each. */
export type PathRefusal = 'not-absolute' | 'not-relative' | 'traversal' | 'outside' | 'missing';

export type PathCheck = { readonly ok: true; readonly path: string } | { readonly ok: false; readonly refusal: PathRefusal };

/**
 * Resolves `requested` (absolute) to a real path inside one of `roots` (real paths themselves).
 * A `..` segment is refused outright, before anything touches the disk; the real path (every
 * symbolic link followed) must then lie inside a root, so a link that points out is refused too.
 */
export async function resolveInside(requested: string, roots: readonly string[]): Promise<PathCheck> {
  if (!path.isAbsolute(requested)) return { ok: false, refusal: 'not-absolute' };
  return resolveChecked(requested, roots);
}

/** Resolves `relative` against `root` with the same rules; an absolute `relative` is refused. */
export async function resolveUnder(root: string, relative: string): Promise<PathCheck> {
  if (relative === '' || path.isAbsolute(relative) || /^[a-zA-Z]:/.test(relative)) return { ok: false, refusal: 'not-relative' };
  return resolveChecked(path.join(root, relative), [root], relative);
}

async function resolveChecked(joined: string, roots: readonly string[], original = joined): Promise<PathCheck> {
  if (original.includes('\0') || original.split(/[/\\]/).includes('..')) return { ok: false, refusal: 'traversal' };
  // Outside by its name alone: refused before the disk is asked, so the answer never says whether it exists.
  if (!roots.some((root) => isInside(path.resolve(joined), root))) return { ok: false, refusal: 'outside' };
  let real: string;
  try {
    real = await realpath(joined);
  } catch {
    return { ok: false, refusal: 'missing' };
  }
  return roots.some((root) => isInside(real, root)) ? { ok: true, path: real } : { ok: false, refusal: 'outside' };
}

/** True when `child` is `parent` or below it (both already real, absolute paths). */
export function isInside(child: string, parent: string): boolean {
  const relative = path.relative(parent, child);
  return relative === '' || (relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative));
}
