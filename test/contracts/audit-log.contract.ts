import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditEntry, AuditLog } from '../../src/core/index.ts';

const entry = (i: number, extra: Partial<AuditEntry> = {}): AuditEntry => ({
  at: `2026-01-01T00:00:${String(i).padStart(2, '0')}.000Z`,
  action: 'enroll',
  detail: `change ${i}`,
  ...extra,
});

/** What every `AuditLog` must do; `make(kept)` gives a fresh, empty log that keeps `kept` entries. */
export function auditLogContract(name: string, make: (kept: number) => Promise<AuditLog>): void {
  describe(`AuditLog contract: ${name}`, () => {
    it('GIVEN entries recorded THEN they come back newest first, with every field', async () => {
      const log = await make(100);
      await log.record('g1', entry(1, { by: 'tg:1', byName: 'Ada' }));
      await log.record('g1', entry(2, { action: 'forget' }));
      assert.deepEqual(await log.list('g1', 10), [entry(2, { action: 'forget' }), entry(1, { by: 'tg:1', byName: 'Ada' })]);
      assert.deepEqual(await log.list('g1', 1), [entry(2, { action: 'forget' })]);
    });

    it('GIVEN two groups THEN each sees only its own entries', async () => {
      const log = await make(100);
      await log.record('g1', entry(1));
      await log.record('g2', entry(2));
      assert.deepEqual(await log.list('g1', 10), [entry(1)]);
      assert.deepEqual(await log.list('never', 10), []);
    });

    it('GIVEN more entries than it keeps THEN the oldest go', async () => {
      const log = await make(3);
      for (let i = 1; i <= 5; i++) await log.record('g1', entry(i));
      assert.deepEqual(
        (await log.list('g1', 10)).map((e) => e.detail),
        ['change 5', 'change 4', 'change 3'],
      );
    });

    it('GIVEN a person forgotten THEN their name leaves every entry and their own entries about them lose who made them', async () => {
      const log = await make(100);
      await log.record('g1', entry(1, { by: 'tg:7', byName: 'Anna S.', detail: 'added a face sample to Anna (new person)' }));
      await log.record('g1', entry(2, { by: 'tg:8', byName: 'Ben', detail: "took a photo out of anna's album" }));
      await log.record('g2', entry(3, { by: 'tg:7', byName: 'Anna S.', detail: 'added a face sample to Anna' }));
      await log.scrub('g1', { name: 'Anna', userId: 'tg:7' });
      assert.deepEqual(await log.list('g1', 10), [
        entry(2, { by: 'tg:8', byName: 'Ben', detail: "took a photo out of a forgotten person's album" }),
        entry(1, { detail: 'added a face sample to a forgotten person (new person)' }),
      ]);
      assert.equal((await log.list('g2', 10))[0]?.byName, 'Anna S.', 'another group is untouched');
    });

    it('GIVEN a member forgotten THEN what they did to others stays theirs; only what was about them loses who', async () => {
      const log = await make(100);
      await log.record('g1', entry(1, { by: 'tg:9', byName: 'Mallory M.', detail: 'added a face sample to Mallory (new person)' }));
      await log.record('g1', entry(2, { action: 'not-this', by: 'tg:9', byName: 'Mallory M.', detail: "took a photo out of Anna's album" }));
      await log.record('g1', entry(3, { action: 'threshold', by: 'tg:9', byName: 'Mallory M.', detail: 'set the threshold from 0.930 to 0.990' }));
      await log.scrub('g1', { name: 'Mallory', userId: 'tg:9' });
      assert.deepEqual(await log.list('g1', 10), [
        entry(3, { action: 'threshold', by: 'tg:9', byName: 'Mallory M.', detail: 'set the threshold from 0.930 to 0.990' }),
        entry(2, { action: 'not-this', by: 'tg:9', byName: 'Mallory M.', detail: "took a photo out of Anna's album" }),
        entry(1, { detail: 'added a face sample to a forgotten person (new person)' }),
      ]);
    });

    it('GIVEN a group forgotten THEN its log is empty and the others keep theirs', async () => {
      const log = await make(100);
      await log.record('g1', entry(1));
      await log.record('g2', entry(2));
      await log.forgetGroup('g1');
      assert.deepEqual(await log.list('g1', 10), []);
      assert.deepEqual(await log.list('g2', 10), [entry(2)]);
    });

    it('GIVEN appends at once THEN none is lost', async () => {
      const log = await make(100);
      await Promise.all(Array.from({ length: 20 }, (_, i) => log.record('g1', entry(i))));
      assert.equal((await log.list('g1', 100)).length, 20);
    });
  });
}
