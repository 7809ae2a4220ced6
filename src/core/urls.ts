/** A service URL with its password replaced, for logs and start-up lines (PostgreSQL, Redis). */
export function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    // libpq and ioredis also read it from the query: `postgres://app@db/lib?password=...`.
    for (const key of [...parsed.searchParams.keys()]) if (/^(password|pass|passwd|pwd|sslpassword)$/i.test(key)) parsed.searchParams.set(key, '***');
    return parsed.toString();
  } catch {
    return '(an unparseable URL)';
  }
}
