import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sha256Hex } from '../../src/core/index.ts';
import type { PhotoJobMeta, PhotoJobResult, PhotoJobs, RetryPolicy } from '../../src/jobs/index.ts';
import type { RecordingLibrary } from '../fakes/recording-library.ts';
import { until } from '../helpers/until.ts';

/** A queue and whatever runs its jobs (the same process, or a BullMQ worker), filing into `library`. */
export interface PhotoJobsHarness {
  readonly jobs: PhotoJobs;
  readonly library: RecordingLibrary;
  /** What the group was told, in order. */
  readonly answers: readonly { readonly meta: PhotoJobMeta; readonly result: PhotoJobResult }[];
  /** The photos set aside for the owner to look into (file names of their bytes). */
  setAside(): Promise<string[]>;
}

export const CONTRACT_RETRY: RetryPolicy = { attempts: 3, firstDelayMs: 20, factor: 2, maxDelayMs: 80 };

const meta = (group: string, message: number, postedBy?: string): PhotoJobMeta => ({
  platform: 'telegram',
  group,
  ...(postedBy ? { postedBy } : {}),
  postedAt: new Date(0).toISOString(),
  source: { chat: group, message: String(message) },
});
const photo = (label: string) => Buffer.from(`contract photo ${label}`);

/**
 * What every `PhotoJobs` must do with the one photo processor and its retry policy (CONTRACT_RETRY):
 * the folder queue of one process and BullMQ's jobs behave alike. `make` gives a fresh, started
 * harness for one test (its own folder, Redis prefix...) and closes it when the test ends.
 */
export function photoJobsContract(name: string, make: (t: { after(fn: () => Promise<void>): void }) => Promise<PhotoJobsHarness>): void {
  describe(`PhotoJobs contract: ${name}`, () => {
    it('GIVEN a photo THEN it is filed once and the group hears once', async (t) => {
      const h = await make(t);
      await h.jobs.add(photo('a'), meta('tg:1', 1));
      assert.equal(await h.jobs.settled(20_000), true);
      await until(() => h.answers.length === 1, 'the answer', 20_000);
      assert.deepEqual(
        h.library.filed.map((f) => f.group),
        ['tg:1'],
      );
      assert.equal(h.answers[0]!.result.kind, 'filed');
    });

    it('GIVEN a filing that fails until its last try THEN it is tried again after pauses and filed once, and the group hears only that', async (t) => {
      const h = await make(t);
      h.library.failuresLeft.set(sha256Hex(photo('flaky')), CONTRACT_RETRY.attempts - 1);
      await h.jobs.add(photo('flaky'), meta('tg:1', 2));
      await until(() => h.answers.length === 1, 'the answer', 20_000);
      assert.equal(h.answers[0]!.result.kind, 'filed');
      assert.equal(h.library.tries.get(sha256Hex(photo('flaky'))), CONTRACT_RETRY.attempts);
      assert.deepEqual(await h.setAside(), []);
    });

    it('GIVEN a filing that always fails THEN after every try it is set aside, counted for its group, and the group told once', async (t) => {
      const h = await make(t);
      h.library.failuresLeft.set(sha256Hex(photo('broken')), 99);
      await h.jobs.add(photo('broken'), meta('tg:1', 3));
      await until(() => h.answers.length === 1, 'the answer', 20_000);
      await until(async () => (await h.setAside()).length === 1, 'the photo set aside', 20_000);
      assert.equal(h.answers[0]!.result.kind, 'failed');
      assert.equal(h.library.tries.get(sha256Hex(photo('broken'))), CONTRACT_RETRY.attempts);
      assert.equal(await h.jobs.deadLetters('tg:1'), 1);
      assert.equal(await h.jobs.deadLetters('tg:2'), 0);
      assert.equal(h.answers.length, 1);
    });

    it("GIVEN photos set aside in two groups WHEN a member and then the whole group is forgotten THEN their set-aside photos go, then the group's, and the other group's stay", async (t) => {
      const h = await make(t);
      const posts = [
        { label: 'ada 1', group: 'tg:1', by: 'ada' },
        { label: 'ada 2', group: 'tg:1', by: 'ada' },
        { label: 'bob', group: 'tg:1', by: 'bob' },
        { label: 'ada elsewhere', group: 'tg:2', by: 'ada' },
      ];
      for (const [i, post] of posts.entries()) {
        h.library.failuresLeft.set(sha256Hex(photo(post.label)), 99);
        await h.jobs.add(photo(post.label), meta(post.group, 10 + i, post.by));
      }
      await until(async () => (await h.setAside()).length === posts.length, 'every photo set aside', 20_000);

      assert.equal(await h.jobs.forgetSetAside('tg:1', 'ada'), 2);
      assert.equal((await h.setAside()).length, 2);
      assert.equal(await h.jobs.deadLetters('tg:1'), 1, "bob's is still counted");
      assert.equal(await h.jobs.forgetSetAside('tg:1'), 1);
      assert.equal(await h.jobs.deadLetters('tg:1'), 0);
      assert.equal(await h.jobs.deadLetters('tg:2'), 1, 'another group is not touched');
      assert.equal((await h.setAside()).length, 1);
    });
  });
}
