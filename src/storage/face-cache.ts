import type { Keyv } from 'keyv';
import type { DetectedFace, FaceCache } from '../core/index.ts';
import { StorageError } from '../core/index.ts';

interface StoredFace {
  readonly box: DetectedFace['box'];
  readonly score: number;
  readonly eyeDistance: number;
  /** Base64 of the Float32Array's bytes: compact and exact. */
  readonly embedding?: string;
  readonly unusable?: DetectedFace['unusable'];
}

/** `FaceCache` on keyv; keys carry the embedder, so a new embedder never reads old vectors. */
export class KeyvFaceCache implements FaceCache {
  constructor(
    private readonly keyv: Keyv<StoredFace[]>,
    private readonly embedder: string,
  ) {}

  async get(contentHash: string): Promise<readonly DetectedFace[] | undefined> {
    let stored: StoredFace[] | undefined;
    try {
      stored = await this.keyv.get(this.key(contentHash));
    } catch (cause) {
      throw new StorageError('the face cache could not be read', 'face-cache.get', { cause });
    }
    return stored?.map(fromStored);
  }

  async set(contentHash: string, faces: readonly DetectedFace[]): Promise<void> {
    try {
      await this.keyv.set(this.key(contentHash), faces.map(toStored));
    } catch (cause) {
      throw new StorageError('the face cache could not be written', 'face-cache.set', { cause });
    }
  }

  async delete(contentHash: string): Promise<void> {
    try {
      await this.keyv.delete(this.key(contentHash));
    } catch (cause) {
      throw new StorageError('the face cache could not be written', 'face-cache.delete', { cause });
    }
  }

  private key(contentHash: string): string {
    return `${this.embedder}:${contentHash}`;
  }
}

export function encodeEmbedding(v: Float32Array): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}

export function decodeEmbedding(text: string): Float32Array {
  const bytes = Buffer.from(text, 'base64');
  const copy = new Uint8Array(bytes);
  return new Float32Array(copy.buffer, 0, copy.byteLength / 4);
}

function toStored(face: DetectedFace): StoredFace {
  return {
    box: face.box,
    score: face.score,
    eyeDistance: face.eyeDistance,
    ...(face.embedding ? { embedding: encodeEmbedding(face.embedding) } : {}),
    ...(face.unusable ? { unusable: face.unusable } : {}),
  };
}

function fromStored(face: StoredFace): DetectedFace {
  return {
    box: face.box,
    score: face.score,
    eyeDistance: face.eyeDistance,
    ...(face.embedding ? { embedding: decodeEmbedding(face.embedding) } : {}),
    ...(face.unusable ? { unusable: face.unusable } : {}),
  };
}
