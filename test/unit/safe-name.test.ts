import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { groupFolderName, groupFromFolderName, MAX_NAME_BYTES, safeFolderName, uniqueFolderName } from '../../src/albums/safe-name.ts';

const bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

/** What every safe name must be, whatever it came from. */
function assertSafe(name: string): void {
  assert.ok(name.length > 0, 'empty');
  assert.ok(bytes(name) <= MAX_NAME_BYTES, `${bytes(name)} bytes`);
  assert.doesNotMatch(name, /[/\\:*?"<>|\p{Cc}]/u);
  assert.doesNotMatch(name, /^[. ]|[. ]$/);
  assert.notEqual(name, '.');
  assert.notEqual(name, '..');
  assert.equal(path.basename(name), name);
  assert.doesNotMatch(name, /^(con|prn|aux|nul|com[1-9]|lpt[1-9]) *(\.|$)/i);
  assert.equal(name, name.normalize('NFC'));
  assert.equal(Buffer.from(name, 'utf8').toString('utf8'), name, 'not well-formed Unicode');
  assert.equal(safeFolderName(name), name, 'not idempotent');
}

describe('safeFolderName', () => {
  it('GIVEN an ordinary name in any script THEN it stays as it is', () => {
    for (const name of ['Anna', 'Jean-Luc Picard', 'Zoë', 'Мария', '李小龙', 'محمد', 'Ōtani 大谷', 'אבי 🎉', 'O’Brien']) {
      assert.equal(safeFolderName(name), name);
    }
  });

  it('GIVEN a decomposed accent THEN it is composed (NFC), so macOS and Linux names agree', () => {
    assert.equal(safeFolderName('Zoe\u0308'), 'Zoë');
  });

  it('GIVEN path separators and characters Windows forbids THEN each becomes "_"', () => {
    assert.equal(safeFolderName('a/b\\c:d*e?f"g<h>i|j'), 'a_b_c_d_e_f_g_h_i_j');
    assert.equal(safeFolderName('../../etc/passwd'), '_.._etc_passwd');
    assert.equal(safeFolderName('/etc/passwd'), '_etc_passwd');
    assert.equal(safeFolderName('C:\\Windows'), 'C__Windows');
  });

  it('GIVEN NUL, controls and bidirectional overrides THEN they are removed; tabs and newlines become spaces', () => {
    assert.equal(safeFolderName('An\0na'), 'Anna');
    assert.equal(safeFolderName('An\x07na\x7F\x9B'), 'Anna');
    assert.equal(safeFolderName('Anna\tMaria\r\nSmith'), 'Anna Maria Smith');
    assert.equal(safeFolderName('evil\u202Egpj.exe'), 'evilgpj.exe');
    assert.equal(safeFolderName('a \0 b'), 'a b');
  });

  it('GIVEN leading or trailing dots and spaces THEN they are trimmed', () => {
    assert.equal(safeFolderName('  .hidden. . '), 'hidden');
    assert.equal(safeFolderName('Anna.'), 'Anna');
    assert.equal(safeFolderName('a   b'), 'a b');
  });

  it('GIVEN ".", "..", nothing or only removable characters THEN the fallback', () => {
    for (const name of ['', '.', '..', '...', '   ', '\0', '\u202E', ' . ']) assert.equal(safeFolderName(name), 'person', JSON.stringify(name));
    assert.equal(safeFolderName('..', 'album'), 'album');
  });

  it('GIVEN an unsafe fallback THEN that is a bug and throws RangeError', () => {
    assert.throws(() => safeFolderName('', '../x'), RangeError);
  });

  it('GIVEN a Windows reserved name in any case, with or without extension THEN "_" follows the reserved stem', () => {
    assert.equal(safeFolderName('CON'), 'CON_');
    assert.equal(safeFolderName('con'), 'con_');
    assert.equal(safeFolderName('Nul.txt'), 'Nul_.txt');
    assert.equal(safeFolderName('com1'), 'com1_');
    assert.equal(safeFolderName('LPT9.tar.gz'), 'LPT9_.tar.gz');
    assert.equal(safeFolderName('aux '), 'aux_');
    assert.equal(safeFolderName('PRN .x'), 'PRN_ .x');
    // Names that merely start like one are fine.
    assert.equal(safeFolderName('Connor'), 'Connor');
    assert.equal(safeFolderName('COM10'), 'COM10');
    assert.equal(safeFolderName('CON_'), 'CON_');
  });

  it('GIVEN a very long name THEN it is cut to 100 UTF-8 bytes without splitting a character', () => {
    assert.equal(safeFolderName('a'.repeat(300)), 'a'.repeat(100));
    // 3-byte characters: 33 fit (99 bytes), the 34th would not.
    assert.equal(safeFolderName('大'.repeat(50)), '大'.repeat(33));
    // 4-byte emoji: 25 fit exactly.
    assert.equal(safeFolderName('😀'.repeat(40)), '😀'.repeat(25));
    // A family emoji is one grapheme of 18 bytes: it is kept whole or left out.
    const family = '👨‍👩‍👧';
    const cut = safeFolderName('a'.repeat(90) + family);
    assert.equal(cut, 'a'.repeat(90));
    assertSafe(cut);
  });

  it('GIVEN a cut that would end in a dot or space THEN that is trimmed too', () => {
    assert.equal(safeFolderName(`${'a'.repeat(99)} b`), 'a'.repeat(99));
    assert.equal(safeFolderName(`${'a'.repeat(98)}..b`), 'a'.repeat(98));
  });

  it('GIVEN a reserved stem left bare by a cut THEN it is still suffixed', () => {
    const zalgo = `CONa${'\u0301'.repeat(200)}`;
    assert.equal(safeFolderName(zalgo), 'CON_');
  });

  it('GIVEN a lone surrogate THEN it is removed, never written as a broken name', () => {
    assert.equal(safeFolderName('An\uD800na'), 'Anna');
    assert.equal(safeFolderName('\uDC00'), 'person');
  });

  it('GIVEN many awkward names THEN every result is safe and maps to itself', () => {
    const pieces = [
      'a',
      'Z',
      ' ',
      '.',
      '..',
      '/',
      '\\',
      '\0',
      '\t',
      'é',
      'e\u0301',
      '\u0301',
      '大',
      '😀',
      '👨‍👩‍👧',
      'CON',
      'nul',
      ':',
      '*',
      '\u202E',
      '\uD800',
      '\u00A0',
      '_',
      '-',
      '(2)',
    ];
    let seed = 7;
    const next = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    for (let i = 0; i < 3000; i++) {
      const length = next() % 60;
      const name = Array.from({ length }, () => pieces[next() % pieces.length]!).join('');
      assertSafe(safeFolderName(name));
    }
  });
});

describe('uniqueFolderName', () => {
  it('GIVEN a free name THEN it is the safe name itself', () => {
    assert.equal(uniqueFolderName('Anna', new Set(['Bob'])), 'Anna');
    assert.equal(uniqueFolderName('a/b', new Set()), 'a_b');
  });

  it('GIVEN a taken name THEN " (2)", " (3)", … is added', () => {
    assert.equal(uniqueFolderName('Anna', new Set(['Anna'])), 'Anna (2)');
    assert.equal(uniqueFolderName('Anna', new Set(['Anna', 'Anna (2)'])), 'Anna (3)');
  });

  it('GIVEN a name taken in another case or normalisation THEN it counts as taken (case-insensitive file systems)', () => {
    assert.equal(uniqueFolderName('anna', new Set(['ANNA'])), 'anna (2)');
    assert.equal(uniqueFolderName('Zoë', new Set(['ZOE\u0308'])), 'Zoë (2)');
    assert.equal(uniqueFolderName('Anna', new Set(['anna', 'ANNA (2)'])), 'Anna (3)');
  });

  it('GIVEN a taken name of 100 bytes THEN the suffixed name still fits and is safe', () => {
    const long = 'a'.repeat(100);
    const unique = uniqueFolderName(long, new Set([long]));
    assert.equal(unique, `${'a'.repeat(96)} (2)`);
    assertSafe(unique);
    const spaced = `${'a'.repeat(95)} bbbb`;
    const second = uniqueFolderName(spaced, new Set([spaced]));
    assert.equal(second, `${'a'.repeat(95)} (2)`);
    assertSafe(second);
  });

  it('GIVEN the fallback name taken THEN the fallback is numbered too', () => {
    assert.equal(uniqueFolderName('..', new Set(['person'])), 'person (2)');
  });
});

describe('groupFolderName', () => {
  it('GIVEN platform group ids THEN readable folder names that decode back', () => {
    assert.equal(groupFolderName('tg:-1001234567'), 'tg%3A-1001234567');
    assert.equal(groupFolderName('dc:8765'), 'dc%3A8765');
    for (const id of ['tg:-1001234567', 'dc:8765', 'tg_1', 'x']) assert.equal(groupFromFolderName(groupFolderName(id)), id);
  });

  it('GIVEN hostile ids THEN each is one harmless path segment', () => {
    for (const id of ['../x', 'a/b', '..', '.', '/etc', 'C:\\x', 'a\0b', 'CON', '%2E%2E']) {
      const folder = groupFolderName(id);
      assert.match(folder, /^[a-z0-9_%A-F-]+$/, id);
      assert.equal(path.basename(folder), folder);
      assert.equal(groupFromFolderName(folder), id);
    }
    assert.equal(groupFolderName('../x'), '%2E%2E%2Fx');
  });

  it('GIVEN ids that differ only in characters a plain replacement would merge THEN their folders differ', () => {
    const ids = ['tg:1', 'tg_1', 'tg%3A1', 'tg-1', 'a/b', 'a\\b', 'a_b', 'A', 'a', 'tg:A', 'tg:a', 'é', 'e\u0301'];
    const folders = ids.map(groupFolderName);
    assert.equal(new Set(folders).size, ids.length);
    // Also when a file system ignores case.
    assert.equal(new Set(folders.map((f) => f.toLowerCase())).size, ids.length);
  });

  it('GIVEN a very long id THEN the folder is capped with a hash, distinct from its neighbours, and not decodable', () => {
    const long = `tg:${'9'.repeat(300)}`;
    const other = `tg:${'9'.repeat(299)}8`;
    const folder = groupFolderName(long);
    assert.ok(folder.length <= 120, `${folder.length}`);
    assert.match(folder, /~[0-9a-f]{32}$/);
    assert.notEqual(folder, groupFolderName(other));
    assert.equal(groupFromFolderName(folder), undefined);
    // A cut never leaves half an escape before the hash.
    assert.doesNotMatch(groupFolderName('::::::::::::::::::::::::::::::::::::::::::::::::::::::'), /%[0-9A-F]?~/);
  });

  it('GIVEN an empty or malformed id THEN it is a bug: RangeError', () => {
    assert.throws(() => groupFolderName(''), RangeError);
    assert.throws(() => groupFolderName('tg:\uD800'), RangeError);
  });

  it('GIVEN folder names no group id encodes to THEN they do not decode', () => {
    for (const folder of ['', 'TG', 'tg%3a1', 'tg:1', '%61', '%', '%2', '..', 'tmp~abc']) assert.equal(groupFromFolderName(folder), undefined, folder);
  });
});
