import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import stringWidth from 'string-width';
import type { ArchiveReport } from '../../src/archive/index.ts';
import { formatSummary } from '../../src/cli/summary.ts';
import { settingWarnings } from '../../src/config.ts';

function report(perPerson: Record<string, number>): ArchiveReport {
  return {
    known: Object.keys(perPerson).map((name) => ({ name, samples: 1, problems: [], advice: [] })),
    photos: 3,
    faces: 4,
    perPerson,
    unknown: 1,
    noFaces: 0,
    folders: {},
    unknownClusters: [],
    changes: { added: [], removed: [], keptChanged: [], failed: [], zipsWritten: [], zipsRemoved: [] },
    dryRun: false,
    errors: [],
    duplicates: [],
    outcomes: [],
    zips: [],
    elapsedMs: 1500,
    photosPerSecond: 2,
  };
}

describe('the archive summary', () => {
  it('GIVEN CJK and emoji names THEN the counts start in one column of the terminal', () => {
    const text = formatSummary(report({ 'Anna Smith': 2, 王小明: 1, '🎉 Party': 3, José: 1 }), '/tmp/out', undefined);
    const rows = text.split('\n').filter((line) => /\d+ photos?( |$)/.test(line) && line.startsWith('  '));
    assert.equal(rows.length, 6, text);
    const columns = rows.map((line) => stringWidth(line.slice(0, line.search(/\d+ photos?/))));
    assert.equal(new Set(columns).size, 1, `counts start at columns ${columns.join(', ')}:\n${text}`);
  });

  it('GIVEN a run that added and removed copies THEN the first line counts both', () => {
    const base = report({ Anna: 1 });
    const text = formatSummary(
      {
        ...base,
        changes: { ...base.changes, added: [{ path: 'Anna/a.jpg', source: '/in/a.jpg' }], removed: [{ path: '_unknown/a.jpg', source: '/in/a.jpg' }] },
      },
      '/tmp/out',
      undefined,
    );
    assert.match(text.split('\n')[0]!, /Archived 3 photos in 1\.5 s \(2\.00 photos\/s\): 4 faces, 1 copy added, 1 removed\./);
  });
});

describe('settings that look misspelt', () => {
  it('GIVEN TELEGRAM_TOKEN, DISCORD_BOT_TOKEN and MATCH_TRESHOLD THEN each gets a warning naming the likely key', () => {
    assert.deepEqual(settingWarnings({ TELEGRAM_TOKEN: 'x', DISCORD_BOT_TOKEN: 'y', MATCH_TRESHOLD: '0.9' }), [
      'TELEGRAM_TOKEN is not a facefile setting and is ignored; did you mean TELEGRAM_BOT_TOKEN?',
      'DISCORD_BOT_TOKEN is not a facefile setting and is ignored; did you mean DISCORD_TOKEN?',
      'MATCH_TRESHOLD is not a facefile setting and is ignored; did you mean MATCH_THRESHOLD?',
    ]);
  });

  it("GIVEN other tools' variables (PATH, HOME, TF_CPP_MIN_LOG_LEVEL, NODE_ENV) and real settings THEN no warning", () => {
    assert.deepEqual(settingWarnings({ PATH: '/bin', HOME: '/root', TF_CPP_MIN_LOG_LEVEL: '2', NODE_ENV: 'production', DATA_DIR: './d', WORKERS: '2' }), []);
  });
});
