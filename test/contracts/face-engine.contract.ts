import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import type { DecodedImage, FaceEngine } from '../../src/core/index.ts';
import { similarity } from '../../src/core/index.ts';
import { SharpImageDecoder } from '../../src/imaging/sharp-decoder.ts';

/**
 * The photos an implementation is tested on, as encoded bytes: real photos for the real engine,
 * synthetic ones for a fake. Whatever they are, the contract asserts the same of them.
 */
export interface FaceEngineFixtures {
  /** The similarity at which this engine's embeddings call two faces one person. */
  readonly threshold: number;
  /** Six people, every face over 100 px wide and tall, and small enough to pad into a 3600×2400 canvas at (1700, 1300). */
  sixPeople(): Promise<Buffer>;
  /** Two people. */
  twoPeople(): Promise<Buffer>;
  /** Two different photos of one person, one face each. */
  onePersonTwice(): Promise<readonly [Buffer, Buffer]>;
  /** One face of someone else than `onePersonTwice`'s person. */
  anotherPerson(): Promise<Buffer>;
  /** About 150×150, the face filling it: no margin around it. */
  tightCrop(): Promise<Buffer>;
}

const decoder = new SharpImageDecoder();

async function decode(bytes: Buffer): Promise<DecodedImage> {
  const result = await decoder.decode(bytes);
  if (!result.ok) throw new Error(`a fixture did not decode: ${result.failure.detail}`);
  return result.image;
}

/**
 * What every `FaceEngine` must do. Run against each implementation (in process, worker pool, the
 * fake), each on its own fixtures. `skip` says why an implementation cannot run here.
 */
export function faceEngineContract(
  name: string,
  create: () => Promise<FaceEngine>,
  fixtures: FaceEngineFixtures,
  options: { close?: boolean; skip?: string | false } = {},
): void {
  describe(`FaceEngine contract: ${name}`, { skip: options.skip ?? false }, () => {
    let engine: FaceEngine;
    before(async () => {
      engine = await create();
    });
    after(async () => {
      if (options.close !== false) await engine.close();
    });

    it('GIVEN a photo of six people THEN six faces, each with a unit embedding of the engine dimensions', async () => {
      const faces = await engine.detect(await decode(await fixtures.sixPeople()));
      assert.equal(faces.length, 6);
      for (const face of faces) {
        assert.equal(face.embedding?.length, engine.info.dimensions);
        assert.ok(Math.abs(similarity(face.embedding, face.embedding) - 1) < 1e-4);
        assert.ok(face.box.width > 100 && face.box.height > 100, JSON.stringify(face.box));
      }
    });

    it('GIVEN two photos of one person THEN they pass the threshold; of two people THEN they do not', async () => {
      const embed = async (bytes: Buffer) => (await engine.detect(await decode(bytes)))[0]!.embedding!;
      const [first, second] = await fixtures.onePersonTwice();
      const same = similarity(await embed(first), await embed(second));
      const different = similarity(await embed(first), await embed(await fixtures.anotherPerson()));
      assert.ok(same >= fixtures.threshold, `same person: ${same}`);
      assert.ok(different < fixtures.threshold, `different people: ${different}`);
    });

    it('GIVEN the same photo twice THEN the same embeddings', async () => {
      const image = await decode(await fixtures.twoPeople());
      const [first, second] = [await engine.detect(image), await engine.detect(image)];
      assert.equal(first.length, 2);
      assert.deepEqual(
        first.map((f) => Array.from(f.embedding!)),
        second.map((f) => Array.from(f.embedding!)),
      );
    });

    it('GIVEN a tight face crop THEN its face is found (the detector needs a margin)', async () => {
      const faces = await engine.detect(await decode(await fixtures.tightCrop()));
      assert.equal(faces.length, 1);
      assert.ok(faces[0]!.embedding);
    });

    it('GIVEN a photo with no face THEN no faces', async () => {
      const noise = Buffer.alloc(640 * 480 * 3);
      for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) % 251;
      const image = await decode(
        await sharp(noise, { raw: { width: 640, height: 480, channels: 3 } })
          .blur(3)
          .png()
          .toBuffer(),
      );
      assert.deepEqual(await engine.detect(image), []);
    });

    // 3600 wide: the detector's copy is exactly 2048 wide; 4032 (a phone's 12 MP): half the photo.
    for (const [width, height] of [
      [3600, 2400],
      [4032, 3024],
    ] as const) {
      it(`GIVEN six faces small in a ${width}x${height} photo THEN all six are still found (tiling)`, async () => {
        const large = await sharp({ create: { width, height, channels: 3, background: '#9a9a9a' } })
          .composite([{ input: await fixtures.sixPeople(), left: 1700, top: 1300 }])
          .png()
          .toBuffer();
        const faces = await engine.detect(await decode(large));
        assert.equal(faces.length, 6);
        assert.ok(
          faces.every((f) => f.box.x >= 1690 && f.box.y >= 1290),
          'boxes are in whole-photo coordinates',
        );
        assert.ok(faces.every((f) => f.embedding));
      });
    }

    it('GIVEN faces too small to name THEN they are counted without an embedding', async () => {
      const tiny = await sharp(await fixtures.sixPeople())
        .resize({ width: 180 })
        .toBuffer();
      const padded = await sharp(tiny).extend({ top: 100, bottom: 100, left: 100, right: 100, background: '#9a9a9a' }).png().toBuffer();
      const faces = await engine.detect(await decode(padded));
      const small = faces.filter((face) => face.eyeDistance < 12);
      assert.ok(small.length >= 3, `faces with eyes under 12 px apart are still found: ${faces.map((f) => f.eyeDistance.toFixed(1)).join(', ')}`);
      for (const face of small) {
        assert.equal(face.unusable, 'too-small');
        assert.equal(face.embedding, undefined);
      }
    });
  });
}
