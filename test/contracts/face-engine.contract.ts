import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import sharp from 'sharp';
import type { DecodedImage, FaceEngine } from '../../src/core/index.ts';
import { similarity } from '../../src/core/index.ts';
import { DEFAULT_THRESHOLD } from '../../src/recognition/index.ts';
import { GROUP, LFW, NO_DATASETS, POSTS } from '../helpers/datasets.ts';
import { decodeFile } from '../helpers/engine.ts';

async function decodeBuffer(bytes: Buffer): Promise<DecodedImage> {
  const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, pixels: new Uint8Array(data), format: 'raw' };
}

/**
 * What every `FaceEngine` must do, on the real models and real photos. Run against each
 * implementation (in-process and worker pool).
 */
export function faceEngineContract(name: string, create: () => Promise<FaceEngine>, options: { close?: boolean } = {}): void {
  describe(`FaceEngine contract: ${name}`, { skip: NO_DATASETS }, () => {
    let engine: FaceEngine;
    before(async () => {
      engine = await create();
    });
    after(async () => {
      if (options.close !== false) await engine.close();
    });

    it('GIVEN a photo of six people THEN six faces, each with a 128-d unit embedding', async () => {
      const faces = await engine.detect(await decodeFile(path.join(POSTS, 'bbt4.jpg')));
      assert.equal(faces.length, 6);
      for (const face of faces) {
        assert.equal(face.embedding?.length, 128);
        assert.ok(Math.abs(similarity(face.embedding, face.embedding) - 1) < 1e-4);
        assert.ok(face.box.width > 100 && face.box.height > 100, JSON.stringify(face.box));
      }
    });

    it('GIVEN two LFW photos of one person THEN they pass the default threshold; of two people THEN they do not', async () => {
      const embed = async (file: string) => (await engine.detect(await decodeFile(path.join(LFW, file))))[0]!.embedding!;
      const same = similarity(await embed('Abdullah_Gul/Abdullah_Gul_0013.jpg'), await embed('Abdullah_Gul/Abdullah_Gul_0014.jpg'));
      const different = similarity(await embed('Abdullah_Gul/Abdullah_Gul_0013.jpg'), await embed('AJ_Cook/AJ_Cook_0001.jpg'));
      assert.ok(same >= DEFAULT_THRESHOLD, `same person: ${same}`);
      assert.ok(different < DEFAULT_THRESHOLD, `different people: ${different}`);
    });

    it('GIVEN the same photo twice THEN the same embeddings', async () => {
      const image = await decodeFile(path.join(POSTS, 'kit_with_rose.jpg'));
      const [first, second] = [await engine.detect(image), await engine.detect(image)];
      assert.equal(first.length, 2);
      assert.deepEqual(first.map((f) => Array.from(f.embedding!)), second.map((f) => Array.from(f.embedding!)));
    });

    it('GIVEN a tight 150×150 grey face crop THEN its face is found (the detector needs a margin)', async () => {
      const faces = await engine.detect(await decodeFile(path.join(GROUP, 'amy', 'amy1.png')));
      assert.equal(faces.length, 1);
      assert.ok(faces[0]!.embedding);
    });

    it('GIVEN a photo with no face THEN no faces', async () => {
      const noise = Buffer.alloc(640 * 480 * 3);
      for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) % 251;
      const image = await decodeBuffer(await sharp(noise, { raw: { width: 640, height: 480, channels: 3 } }).blur(3).png().toBuffer());
      assert.deepEqual(await engine.detect(image), []);
    });

    it('GIVEN six faces small in a large photo THEN all six are still found (tiling)', async () => {
      const group = await sharp(path.join(POSTS, 'bbt4.jpg')).toBuffer();
      const large = await sharp({ create: { width: 3600, height: 2400, channels: 3, background: '#9a9a9a' } })
        .composite([{ input: group, left: 1700, top: 1300 }])
        .png()
        .toBuffer();
      const faces = await engine.detect(await decodeBuffer(large));
      assert.equal(faces.length, 6);
      assert.ok(faces.every((f) => f.box.x >= 1690 && f.box.y >= 1290), 'boxes are in whole-photo coordinates');
      assert.ok(faces.every((f) => f.embedding));
    });

    it('GIVEN faces too small to name THEN they are counted without an embedding', async () => {
      const tiny = await sharp(path.join(POSTS, 'bbt4.jpg')).resize({ width: 180 }).toBuffer();
      const padded = await sharp(tiny).extend({ top: 100, bottom: 100, left: 100, right: 100, background: '#9a9a9a' }).png().toBuffer();
      const faces = await engine.detect(await decodeBuffer(padded));
      const small = faces.filter((face) => face.eyeDistance < 12);
      assert.ok(small.length >= 3, `faces with eyes under 12 px apart are still found: ${faces.map((f) => f.eyeDistance.toFixed(1)).join(', ')}`);
      for (const face of small) {
        assert.equal(face.unusable, 'too-small');
        assert.equal(face.embedding, undefined);
      }
    });
  });
}
