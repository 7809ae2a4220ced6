import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { sha256Hex } from '../../src/core/index.ts';
import { ensureFolder, fileInto, inspectPath, isPhotoName, listPhotos } from '../../src/files/index.ts';
import { PathError } from '../../src/core/errors.ts';

let root = '';
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'facefile-files-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function put(relative: string, content: string | Uint8Array = relative): Promise<string> {
  const full = path.join(root, relative);
  await mkdir(path.dirname(full), { recursive: true });
  await writeFile(full, content);
  return full;
}

async function hashOf(file: string): Promise<string> {
  return sha256Hex(await readFile(file));
}

function isPathError(problem: PathError['problem'], target: string) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof PathError, `expected PathError, got ${String(error)}`);
    assert.equal(error.problem, problem);
    assert.equal(error.path, target);
    return true;
  };
}

describe('fileInto', () => {
  it('GIVEN a photo not yet in the album THEN it is filed as a copy of its own, and editing the copy leaves the original', async () => {
    const source = await put('in/beach.jpg', 'beach bytes');
    const album = path.join(root, 'out', 'Anna');
    const result = await fileInto(source, await hashOf(source), album, 'beach.jpg');
    assert.deepEqual(result, { path: path.join(album, 'beach.jpg'), outcome: 'filed' });
    assert.notEqual((await stat(result.path)).ino, (await stat(source)).ino);
    assert.equal(await readFile(result.path, 'utf8'), 'beach bytes');
    await writeFile(result.path, 'edited');
    assert.equal(await readFile(source, 'utf8'), 'beach bytes');
  });

  it('GIVEN link mode THEN it is filed as a hard link to the same inode', async () => {
    const source = await put('in/beach.jpg', 'beach bytes');
    const result = await fileInto(source, await hashOf(source), path.join(root, 'out'), 'beach.jpg', 'link');
    assert.equal(result.outcome, 'filed');
    assert.equal((await stat(result.path)).ino, (await stat(source)).ino);
  });

  it('GIVEN a hard link to the source left by an earlier version THEN copy mode replaces it by a copy under the same name', async () => {
    const source = await put('in/beach.jpg', 'beach bytes');
    const album = path.join(root, 'out');
    await fileInto(source, await hashOf(source), album, 'beach.jpg', 'link');
    const result = await fileInto(source, await hashOf(source), album, 'beach.jpg');
    assert.deepEqual(result, { path: path.join(album, 'beach.jpg'), outcome: 'already-filed' });
    assert.notEqual((await stat(result.path)).ino, (await stat(source)).ino);
    assert.deepEqual(await readdir(album), ['beach.jpg']);
  });

  it('GIVEN the same photo filed twice THEN the second time is already-filed and adds no file', async () => {
    const source = await put('in/beach.jpg');
    const album = path.join(root, 'out');
    const hash = await hashOf(source);
    await fileInto(source, hash, album, 'beach.jpg');
    assert.deepEqual(await fileInto(source, hash, album, 'beach.jpg'), { path: path.join(album, 'beach.jpg'), outcome: 'already-filed' });
    assert.deepEqual(await readdir(album), ['beach.jpg']);
  });

  it('GIVEN a copy with the same bytes already in the album THEN it counts as already-filed', async () => {
    const source = await put('in/beach.jpg', 'same bytes');
    await put('out/beach.jpg', 'same bytes');
    const result = await fileInto(source, await hashOf(source), path.join(root, 'out'), 'beach.jpg');
    assert.equal(result.outcome, 'already-filed');
    assert.deepEqual(await readdir(path.join(root, 'out')), ['beach.jpg']);
  });

  it('GIVEN a different photo of the same name THEN it is filed as "name (2).jpg" and the first is untouched', async () => {
    const first = await put('a/beach.jpg', 'first photo');
    const second = await put('b/beach.jpg', 'second photo, longer');
    const album = path.join(root, 'out');
    await fileInto(first, await hashOf(first), album, 'beach.jpg');
    const result = await fileInto(second, await hashOf(second), album, 'beach.jpg');
    assert.deepEqual(result, { path: path.join(album, 'beach (2).jpg'), outcome: 'filed' });
    assert.equal(await readFile(path.join(album, 'beach.jpg'), 'utf8'), 'first photo');
    assert.equal(await readFile(path.join(album, 'beach (2).jpg'), 'utf8'), 'second photo, longer');
  });

  it('GIVEN the "(2)" photo filed again THEN it is already-filed at "(2)" and no "(3)" appears', async () => {
    const first = await put('a/beach.jpg', 'first photo');
    const second = await put('b/beach.jpg', 'second photo');
    const album = path.join(root, 'out');
    await fileInto(first, await hashOf(first), album, 'beach.jpg');
    await fileInto(second, await hashOf(second), album, 'beach.jpg');
    const again = await fileInto(second, await hashOf(second), album, 'beach.jpg');
    assert.deepEqual(again, { path: path.join(album, 'beach (2).jpg'), outcome: 'already-filed' });
    assert.deepEqual((await readdir(album)).sort(), ['beach (2).jpg', 'beach.jpg']);
  });

  it('GIVEN a same-sized file of different content under the name THEN it is never overwritten', async () => {
    // Equal sizes force the content hash comparison rather than the size shortcut.
    const existing = await put('out/beach.jpg', 'AAAA');
    const source = await put('in/beach.jpg', 'BBBB');
    const result = await fileInto(source, await hashOf(source), path.join(root, 'out'), 'beach.jpg');
    assert.deepEqual(result, { path: path.join(root, 'out', 'beach (2).jpg'), outcome: 'filed' });
    assert.equal(await readFile(existing, 'utf8'), 'AAAA');
  });

  it('GIVEN a folder occupying the name THEN the photo goes to the next free name', async () => {
    await mkdir(path.join(root, 'out', 'beach.jpg'), { recursive: true });
    const source = await put('in/beach.jpg');
    const result = await fileInto(source, await hashOf(source), path.join(root, 'out'), 'beach.jpg');
    assert.deepEqual(result, { path: path.join(root, 'out', 'beach (2).jpg'), outcome: 'filed' });
  });
});

describe('listPhotos', () => {
  it('GIVEN nested folders THEN it lists photos recursively, sorted, skipping hidden entries, other extensions and excluded folders', async () => {
    await put('b.jpg');
    await put('a.PNG');
    await put('notes.txt');
    await put('.hidden.jpg');
    await put('.cache/inside.jpg');
    await put('sub/c.webp');
    await put('sub/deeper/d.heic');
    await put('sub/e.jpeg.bak');
    await put('archive/filed.jpg');
    await put('noext');
    const photos = await listPhotos(root, [path.join(root, 'archive')]);
    assert.deepEqual(
      photos.map((p) => path.relative(root, p)),
      ['a.PNG', 'b.jpg', path.join('sub', 'c.webp'), path.join('sub', 'deeper', 'd.heic')],
    );
  });

  it('GIVEN an excluded folder written relative THEN it is still excluded', async () => {
    await put('keep.jpg');
    await put('zips/skip.jpg');
    const relative = path.relative(process.cwd(), path.join(root, 'zips'));
    assert.deepEqual(await listPhotos(root, [relative]), [path.join(root, 'keep.jpg')]);
  });

  it('GIVEN symbolic links to a photo and to a folder THEN neither is followed', async () => {
    const target = await put('elsewhere/real.jpg');
    await mkdir(path.join(root, 'in'));
    await symlink(target, path.join(root, 'in', 'link.jpg'));
    await symlink(path.dirname(target), path.join(root, 'in', 'linked-folder'));
    await put('in/own.jpg');
    assert.deepEqual(await listPhotos(path.join(root, 'in')), [path.join(root, 'in', 'own.jpg')]);
  });

  it('GIVEN the photo extensions THEN upper and lower case count and others do not', () => {
    for (const name of ['x.jpg', 'x.JPG', 'x.jpeg', 'x.png', 'x.webp', 'x.gif', 'x.tiff', 'x.avif', 'x.HEIC']) assert.equal(isPhotoName(name), true, name);
    for (const name of ['x.txt', 'x.mp4', 'jpg', 'x.jpg.part']) assert.equal(isPhotoName(name), false, name);
  });
});

describe('inspectPath', () => {
  it('GIVEN a file and a folder THEN it says which', async () => {
    assert.equal(await inspectPath(await put('photo.jpg')), 'file');
    assert.equal(await inspectPath(root), 'folder');
  });

  it('GIVEN a path that does not exist THEN it raises PathError missing', async () => {
    const target = path.join(root, 'nope');
    await assert.rejects(inspectPath(target), isPathError('missing', target));
  });

  it('GIVEN a path that runs through a file THEN it raises PathError missing', async () => {
    const target = path.join(await put('photo.jpg'), 'inside');
    await assert.rejects(inspectPath(target), isPathError('missing', target));
  });

  it('GIVEN a socket THEN it raises PathError not-a-file', async () => {
    const target = path.join(root, 'sock');
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(target, resolve));
    try {
      await assert.rejects(inspectPath(target), isPathError('not-a-file', target));
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('ensureFolder', () => {
  it('GIVEN a missing nested folder THEN it creates it', async () => {
    const target = path.join(root, 'a', 'b', 'c');
    await ensureFolder(target);
    assert.ok((await stat(target)).isDirectory());
  });

  it('GIVEN an existing folder THEN it leaves it and its content alone', async () => {
    const inside = await put('album/photo.jpg', 'keep me');
    await ensureFolder(path.join(root, 'album'));
    assert.equal(await readFile(inside, 'utf8'), 'keep me');
  });

  it('GIVEN a path that is a file THEN it raises PathError not-a-folder and keeps the file', async () => {
    const target = await put('photo.jpg', 'keep me');
    await assert.rejects(ensureFolder(target), isPathError('not-a-folder', target));
    assert.equal(await readFile(target, 'utf8'), 'keep me');
  });

  it(
    'GIVEN a folder the file system cannot hold (/proc/nope) THEN it raises PathError unwritable at once',
    { skip: process.platform !== 'linux' && 'needs /proc' },
    async () => {
      await assert.rejects(ensureFolder('/proc/facefile-nope/deeper'), isPathError('unwritable', '/proc/facefile-nope/deeper'));
    },
  );

  it('GIVEN a path below a file THEN it raises PathError not-a-folder', async () => {
    const target = path.join(await put('photo.jpg'), 'album');
    await assert.rejects(ensureFolder(target), isPathError('not-a-folder', target));
  });
});
