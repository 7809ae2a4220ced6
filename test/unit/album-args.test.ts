import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_ALBUM_PEOPLE, albumRequestOf, parseAlbumText, parsePeriod } from '../../src/bot/album-args.ts';
import type { CommandArgs } from '../../src/bot/index.ts';

/** What Telegram's text asks for, through the same path as Discord's options. */
const fromText = (text: string) => albumRequestOf(parseAlbumText(text));

const year = (y: number) => ({ from: `${y}-01-01T00:00:00.000Z`, to: `${y + 1}-01-01T00:00:00.000Z` });

describe('/album grammar: people joined by +, a period, photos', () => {
  it('GIVEN one name, with spaces THEN one person, any time, as zips', () => {
    assert.deepEqual(fromText('Anna Smith'), { ok: true, request: { people: ['Anna Smith'] }, photos: false });
    assert.deepEqual(fromText('  Anna   Smith  '), { ok: true, request: { people: ['Anna Smith'] }, photos: false });
  });

  it('GIVEN names joined by + (spaces or none) THEN each is a person', () => {
    assert.deepEqual(fromText('Anna Smith + Ben'), { ok: true, request: { people: ['Anna Smith', 'Ben'] }, photos: false });
    assert.deepEqual(fromText('Anna+Ben+Cleo de Winter'), { ok: true, request: { people: ['Anna', 'Ben', 'Cleo de Winter'] }, photos: false });
  });

  it('GIVEN a period last THEN it is the period; the word photos before or after it asks for photos', () => {
    assert.deepEqual(fromText('Anna + Ben 2024'), { ok: true, request: { people: ['Anna', 'Ben'], period: { ...year(2024), label: '2024' } }, photos: false });
    const photos = { ok: true, request: { people: ['Anna'], period: { ...year(2024), label: '2024' } }, photos: true };
    assert.deepEqual(fromText('Anna 2024 photos'), photos);
    assert.deepEqual(fromText('Anna photos 2024'), photos);
    assert.deepEqual(fromText('Anna PHOTOS'), { ok: true, request: { people: ['Anna'] }, photos: true });
  });

  it('GIVEN each way to write a period THEN its first instant (inclusive) and the instant after its end (exclusive), UTC', () => {
    const cases: [string, { from?: string; to?: string; label: string }][] = [
      ['2024', { ...year(2024), label: '2024' }],
      ['2024-05', { from: '2024-05-01T00:00:00.000Z', to: '2024-06-01T00:00:00.000Z', label: '2024-05' }],
      ['2024-12', { from: '2024-12-01T00:00:00.000Z', to: '2025-01-01T00:00:00.000Z', label: '2024-12' }],
      ['2024-2-29', { from: '2024-02-29T00:00:00.000Z', to: '2024-03-01T00:00:00.000Z', label: '2024-02-29' }],
      ['2023..2024', { from: '2023-01-01T00:00:00.000Z', to: '2025-01-01T00:00:00.000Z', label: '2023..2024' }],
      ['2024-01..2024-06', { from: '2024-01-01T00:00:00.000Z', to: '2024-07-01T00:00:00.000Z', label: '2024-01..2024-06' }],
      ['2024-03..', { from: '2024-03-01T00:00:00.000Z', label: '2024-03..' }],
      ['..2023', { to: '2024-01-01T00:00:00.000Z', label: '..2023' }],
      ['from 2024-01 to 2024-06', { from: '2024-01-01T00:00:00.000Z', to: '2024-07-01T00:00:00.000Z', label: '2024-01..2024-06' }],
      ['From 2024', { from: '2024-01-01T00:00:00.000Z', label: '2024..' }],
      ['until 2023', { to: '2024-01-01T00:00:00.000Z', label: '..2023' }],
      ['2024..2024', { ...year(2024), label: '2024' }],
      ['1999..9999', { from: '1999-01-01T00:00:00.000Z', label: '1999..9999' }],
    ];
    for (const [text, period] of cases) {
      assert.deepEqual(parsePeriod(text), period, text);
      assert.deepEqual(fromText(`Anna ${text}`), { ok: true, request: { people: ['Anna'], period }, photos: false }, `/album Anna ${text}`);
    }
  });

  it('GIVEN no date, a month 13, 30 February, or a range that runs backwards THEN no period', () => {
    for (const text of [
      '',
      'soon',
      '24',
      '2024-13',
      '2023-02-29',
      '2024-00',
      '2024..2023',
      '2024-06..2024-05',
      '..',
      'from',
      'from 2024 to',
      'to 2024 from 2023',
      '0999',
      '20245',
    ]) {
      assert.equal(parsePeriod(text), undefined, text);
    }
  });

  it('GIVEN a wrong period last in the text THEN it is refused as a period, not taken for part of a name', () => {
    assert.deepEqual(fromText('Anna 2024-13'), { ok: false, error: 'bad-period' });
    assert.deepEqual(fromText('Anna 2024..2023 photos'), { ok: false, error: 'bad-period' });
  });

  it('GIVEN a name that is itself a year, or the word photos THEN it stays a name: a period needs a name before it', () => {
    assert.deepEqual(fromText('2024'), { ok: true, request: { people: ['2024'] }, photos: false });
    assert.deepEqual(fromText('photos'), { ok: true, request: { people: ['photos'] }, photos: false });
    assert.deepEqual(fromText('2024 2023'), { ok: true, request: { people: ['2024'], period: { ...year(2023), label: '2023' } }, photos: false });
    assert.deepEqual(fromText('Anna + 1999 2024'), {
      ok: true,
      request: { people: ['Anna', '1999'], period: { ...year(2024), label: '2024' } },
      photos: false,
    });
  });

  it('GIVEN a quoted name THEN it is taken whole: its year, its + and its "photos" are part of it', () => {
    assert.deepEqual(fromText('"Class of 2024"'), { ok: true, request: { people: ['Class of 2024'] }, photos: false });
    assert.deepEqual(fromText('"Anna + Ben" + Cleo 2024'), {
      ok: true,
      request: { people: ['Anna + Ben', 'Cleo'], period: { ...year(2024), label: '2024' } },
      photos: false,
    });
    assert.deepEqual(fromText('“Holiday photos”'), { ok: true, request: { people: ['Holiday photos'] }, photos: false });
  });

  it('GIVEN Discord options THEN name and with are joined, period is read the same way, photos is the flag', () => {
    const args: CommandArgs = { name: 'Anna Smith', with: 'Ben + Cleo', period: 'from 2024-01 to 2024-06', photos: true };
    assert.deepEqual(albumRequestOf(args), {
      ok: true,
      request: {
        people: ['Anna Smith', 'Ben', 'Cleo'],
        period: { from: '2024-01-01T00:00:00.000Z', to: '2024-07-01T00:00:00.000Z', label: '2024-01..2024-06' },
      },
      photos: true,
    });
    assert.deepEqual(albumRequestOf({ name: 'Anna', period: 'last summer' }), { ok: false, error: 'bad-period' });
    assert.deepEqual(albumRequestOf({ name: '2024', period: '2024' }), {
      ok: true,
      request: { people: ['2024'], period: { ...year(2024), label: '2024' } },
      photos: false,
    });
  });

  it('GIVEN hostile input THEN a short refusal, never a request: empty, empty names between +, too many people, very long', () => {
    assert.deepEqual(fromText(''), { ok: false, error: 'no-name' });
    assert.deepEqual(albumRequestOf({}), { ok: false, error: 'no-name' });
    assert.deepEqual(fromText('Anna + '), { ok: false, error: 'empty-name' });
    assert.deepEqual(fromText('+'), { ok: false, error: 'empty-name' });
    assert.deepEqual(fromText('Anna ++ Ben'), { ok: false, error: 'empty-name' });
    assert.deepEqual(fromText(Array.from({ length: MAX_ALBUM_PEOPLE + 1 }, (_, i) => `P${i}`).join(' + ')), { ok: false, error: 'too-many-people' });
    assert.deepEqual(fromText('A'.repeat(10_000)), { ok: false, error: 'too-long' });
    assert.deepEqual(fromText(`${'a '.repeat(5000)}2024`), { ok: false, error: 'too-long' });
    assert.deepEqual(albumRequestOf({ name: 'Anna', with: 'B'.repeat(100_000) }), { ok: false, error: 'too-long' });
    // A long text of words is read in one pass, not by trying every split.
    const started = process.hrtime.bigint();
    fromText(`${'2024 '.repeat(100_000)}photos`);
    assert.ok(Number(process.hrtime.bigint() - started) / 1e6 < 2000);
  });
});
