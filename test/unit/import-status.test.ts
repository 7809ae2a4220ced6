import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FILE_IMPORT_CHANNEL, formatDuration, importStatuses, type ImportCursor } from '../../src/core/index.ts';
import { statsReply } from '../../src/bot/replies.ts';

const GROUP = 'tg:-1001';
const cursor = (fields: Partial<ImportCursor> & Pick<ImportCursor, 'channel'>): ImportCursor => ({
  group: GROUP,
  done: false,
  scanned: 0,
  queued: 0,
  skipped: 0,
  startedAt: '2026-01-01T10:00:00.000Z',
  ...fields,
});

/** What /stats says of an import comes from its cursors alone: any process reads the same. */
describe('import status', () => {
  it('GIVEN an import from files 10 minutes in THEN its photos of all, its pace and the time left', () => {
    const [status] = importStatuses(
      [cursor({ channel: FILE_IMPORT_CHANNEL, queued: 110, skipped: 10, total: 5000, updatedAt: '2026-01-01T10:10:00.000Z' })],
      Date.parse('2026-01-01T10:10:05.000Z'),
    );
    assert.deepEqual(status, { photos: 120, of: 5000, perMinute: 12, secondsLeft: (4880 / 12) * 60, paused: false });
    assert.equal(formatDuration(status.secondsLeft), '6 h 47 min');
  });

  it('GIVEN a Discord import of three channels, one read THEN the photos so far and the channels read, and no time left', () => {
    const statuses = importStatuses(
      [
        cursor({ channel: '11', done: true, queued: 30, updatedAt: '2026-01-01T10:05:00.000Z' }),
        cursor({ channel: '12', queued: 20, skipped: 10, updatedAt: '2026-01-01T10:06:00.000Z' }),
        cursor({ channel: '13' }),
      ],
      Date.parse('2026-01-01T10:07:00.000Z'),
    );
    assert.deepEqual(statuses, [{ photos: 60, channels: { read: 1, of: 3 }, perMinute: 10, paused: false }]);
  });

  it('GIVEN an import stopped half way, one that has done nothing yet and finished ones THEN only the unfinished, the stopped one paused', () => {
    assert.deepEqual(importStatuses([cursor({ channel: FILE_IMPORT_CHANNEL, done: true, queued: 5, total: 5 }), cursor({ channel: '11', done: true })]), []);
    assert.deepEqual(
      importStatuses([cursor({ channel: FILE_IMPORT_CHANNEL, total: 8, updatedAt: '2026-01-01T10:00:00.000Z' })], Date.parse('2026-01-01T10:00:30.000Z')),
      [{ photos: 0, of: 8, paused: false }],
    );
    const [stopped] = importStatuses([
      cursor({ channel: FILE_IMPORT_CHANNEL, queued: 3, total: 8, problem: 'stopped by Ctrl-C', updatedAt: '2026-01-01T10:01:00.000Z' }),
    ]);
    assert.equal(stopped?.paused, true);
  });

  it('GIVEN an import whose process was killed without a word THEN after 20 minutes without progress it is said to have stalled, with no pace or time left', () => {
    const killed = [cursor({ channel: FILE_IMPORT_CHANNEL, queued: 40, total: 100, updatedAt: '2026-01-01T10:10:00.000Z' })];
    assert.equal(importStatuses(killed, Date.parse('2026-01-01T10:29:00.000Z'))[0]?.stalledMinutes, undefined, 'under way at 19 minutes');
    assert.deepEqual(importStatuses(killed, Date.parse('2026-01-01T10:35:30.000Z')), [{ photos: 40, of: 100, paused: false, stalledMinutes: 25 }]);
    // One stopped by Ctrl-C says so itself: paused, not stalled.
    const stopped = [{ ...killed[0]!, problem: 'stopped by Ctrl-C' }];
    const stats = { photos: 40, faces: 60, people: 3, unknownFaces: 5, unknownClusters: 0, diskBytes: 1e6 };
    assert.match(
      statsReply({ ...stats, importing: importStatuses(killed, Date.parse('2026-01-01T10:35:30.000Z')) }),
      /^Importing history: 40 of 100 photos, no progress for 25 min; if the import was stopped, running it again goes on from there$/m,
    );
    const [status] = importStatuses(stopped, Date.parse('2026-01-01T12:00:00.000Z'));
    assert.deepEqual([status?.paused, status?.stalledMinutes], [true, undefined]);
  });
});
