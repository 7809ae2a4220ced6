/**
 * A benchmark that measured nothing looks fast: each bench checks that the work it timed happened
 * before it prints, and a run that did not fails with the reason (and `npm run bench` exits non-zero).
 */
export class BenchMeasuredNothing extends Error {
  override readonly name = 'BenchMeasuredNothing';
}

/** Fails the run, loudly, unless `ok`. */
export function proof(ok: boolean, what: string): void {
  if (!ok) throw new BenchMeasuredNothing(`the bench measured nothing: ${what}`);
}
