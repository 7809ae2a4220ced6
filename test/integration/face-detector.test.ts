import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Human } from '@vladmandic/human';
import type { DecodedImage } from '../../src/core/index.ts';
import { iou } from '../../src/core/index.ts';
import { EYE_CORNERS, eyeCentre } from '../../src/recognition/align.ts';
import { FaceDetector, loadTfjsFaceModels, type MeshFace } from '../../src/recognition/detector/index.ts';
import { humanConfig } from '../helpers/human-reference.ts';
import { ModelFiles } from '../../src/recognition/models.ts';
import { loadRuntime, type Runtime } from '../../src/recognition/runtime.ts';
import { DATASETS, GROUP, LFW, NO_DATASETS, POSTS } from '../helpers/datasets.ts';
import { decodeFile } from '../helpers/engine.ts';

/** Every posted group photo, two web photos of each five-celebs person, a few LFW faces, two tight references. */
async function photos(): Promise<string[]> {
  const posts = (await readdir(POSTS))
    .filter((f) => !f.endsWith('.json'))
    .sort()
    .map((f) => path.join(POSTS, f));
  const split = (await readFile(path.join(DATASETS, 'five-celebs', 'split.csv'), 'utf8')).trim().split('\n').slice(1);
  const celebs = new Map<string, string[]>();
  for (const line of split) {
    const [, person, file] = line.split(',');
    const files = celebs.get(person!) ?? [];
    if (files.length < 2) celebs.set(person!, [...files, path.join(DATASETS, 'five-celebs', person!, file!)]);
  }
  const lfw = [
    'Abdullah_Gul/Abdullah_Gul_0013.jpg',
    'Abdullah_Gul/Abdullah_Gul_0014.jpg',
    'AJ_Cook/AJ_Cook_0001.jpg',
    'AJ_Lamas/AJ_Lamas_0001.jpg',
    'Aaron_Guiel/Aaron_Guiel_0001.jpg',
  ];
  return [
    ...posts,
    ...[...celebs.values()].flat(),
    ...lfw.map((f) => path.join(LFW, f)),
    path.join(GROUP, 'amy', 'amy1.png'),
    path.join(GROUP, 'obama', 'obama.jpg'),
  ];
}

interface Comparison {
  readonly photo: string;
  readonly faces: number;
  readonly minIou: number;
  /** The largest mean mesh-point distance of a face, over its eye distance. */
  readonly maxMeshError: number;
  readonly humanMs: number;
  readonly detectorMs: number;
}

describe("FaceDetector: Human's BlazeFace + FaceMesh pipeline in project code", { skip: NO_DATASETS }, () => {
  let runtime: Runtime;
  let human: Human;
  let detector: FaceDetector;
  const compared: Comparison[] = [];

  before(async () => {
    runtime = loadRuntime('wasm');
    const models = new ModelFiles(undefined);
    models.registerLoadRouter(runtime.tf);
    human = runtime.createHuman(humanConfig(runtime.backend));
    await human.init();
    await human.load();
    detector = new FaceDetector(await loadTfjsFaceModels(runtime, models));
  });

  async function humanFaces(image: DecodedImage): Promise<MeshFace[]> {
    const tensor = runtime.tf.tensor4d(image.pixels, [1, image.height, image.width, 3], 'int32');
    try {
      const result = await human.detect(tensor);
      return result.face.map((face) => {
        const [x, y, width, height] = face.box;
        return { box: { x, y, width, height }, score: face.score, boxScore: face.boxScore, mesh: face.mesh as unknown as [number, number, number][] };
      });
    } finally {
      tensor.dispose();
    }
  }

  it('GIVEN real photos THEN it finds the faces Human finds: same count, box IoU > 0.9, mesh within 2% of the eye distance', async (t) => {
    const files = await photos();
    // Both pipelines once before timing: the first run of each model compiles its kernels.
    const first = await decodeFile(files[0]!);
    await humanFaces(first);
    await detector.detect(first);
    for (const file of files) {
      const photo = path.relative(DATASETS, file);
      const image = await decodeFile(file);
      let start = performance.now();
      const theirs = await humanFaces(image);
      const humanMs = performance.now() - start;
      start = performance.now();
      const ours = await detector.detect(image);
      const detectorMs = performance.now() - start;
      assert.equal(ours.length, theirs.length, `${photo}: Human finds ${theirs.length} faces, the detector ${ours.length}`);
      let minIou = 1,
        maxMeshError = 0;
      for (const face of theirs) {
        const match = ours.reduce((best, candidate) => (iou(candidate.box, face.box) > iou(best.box, face.box) ? candidate : best));
        minIou = Math.min(minIou, iou(match.box, face.box));
        maxMeshError = Math.max(maxMeshError, meanDistance(match.mesh, face.mesh) / eyeDistance(face.mesh));
        assert.ok(Math.abs(match.score - face.score) <= 0.02, `${photo}: score ${match.score} vs Human's ${face.score}`);
      }
      compared.push({ photo, faces: theirs.length, minIou, maxMeshError, humanMs, detectorMs });
      assert.ok(minIou > 0.9, `${photo}: a box overlaps Human's by IoU ${minIou.toFixed(3)}`);
      assert.ok(maxMeshError < 0.02, `${photo}: a mesh is off by ${(100 * maxMeshError).toFixed(2)}% of the eye distance`);
    }
    for (const c of compared.filter((c) => c.minIou < 1 || c.maxMeshError > 0)) {
      t.diagnostic(`${c.photo}: ${c.faces} faces, lowest IoU ${c.minIou.toFixed(4)}, mesh error ${(100 * c.maxMeshError).toFixed(3)}%`);
    }
    const faces = compared.reduce((n, c) => n + c.faces, 0);
    assert.ok(faces >= 40, `only ${faces} faces compared: the photos should hold many more`);
    const total = (key: 'humanMs' | 'detectorMs') => compared.reduce((sum, c) => sum + c[key], 0);
    t.diagnostic(
      `${compared.length} photos, ${faces} faces; lowest box IoU ${Math.min(...compared.map((c) => c.minIou)).toFixed(4)}, ` +
        `largest mesh error ${(100 * Math.max(...compared.map((c) => c.maxMeshError))).toFixed(3)}% of the eye distance; ` +
        `per photo on tfjs-wasm: Human ${(total('humanMs') / compared.length).toFixed(0)} ms, detector ${(total('detectorMs') / compared.length).toFixed(0)} ms`,
    );
  });
});

function meanDistance(a: MeshFace['mesh'], b: MeshFace['mesh']): number {
  let sum = 0;
  for (let i = 0; i < b.length; i++) sum += Math.hypot(a[i]![0] - b[i]![0], a[i]![1] - b[i]![1]);
  return sum / b.length;
}

function eyeDistance(mesh: MeshFace['mesh']): number {
  const [rx, ry] = eyeCentre(mesh, EYE_CORNERS.right);
  const [lx, ly] = eyeCentre(mesh, EYE_CORNERS.left);
  return Math.hypot(rx - lx, ry - ly);
}
