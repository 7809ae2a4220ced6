import type { Kysely } from 'kysely';
import type { DetectedFace, FaceCache } from '../../core/index.ts';
import { StorageError } from '../../core/index.ts';
import { storageCall } from '../storage-call.ts';
import { decodeEmbedding, encodeEmbedding } from '../embedding-text.ts';
import type { LibrarySchema } from './schema.ts';

interface CachedFace {
  readonly box: DetectedFace['box'];
  readonly score: number;
  readonly eyeDistance: number;
  readonly embedding?: string;
  readonly unusable?: DetectedFace['unusable'];
  readonly sharpness?: number;
}

/**
 * `FaceCache` in the library's database (table `face_cache`): what the engine found in a photo, by
 * the photo's content and the embedder, so that a second run over the same folders recomputes
 * nothing. A new embedder never reads another's vectors; `delete` removes every embedder's.
 */
export class SqlFaceCache implements FaceCache {
  constructor(
    private readonly db: Kysely<LibrarySchema>,
    private readonly embedder: string,
  ) {}

  /**
   * The cache for `embedder`, with every other embedder's entries deleted: after a change of
   * embedder nothing reads them again, and faces that nobody reads must not outlive a forget
   * that could not find them (a forget reaches only the photos the library holds).
   */
  static async open(db: Kysely<LibrarySchema>, embedder: string): Promise<SqlFaceCache> {
    await storageCall('face-cache.purge', 'the face cache could not be written', () => db.deleteFrom('face_cache').where('embedder', '!=', embedder).execute());
    return new SqlFaceCache(db, embedder);
  }

  async get(contentHash: string): Promise<readonly DetectedFace[] | undefined> {
    const row = await storageCall('face-cache.get', 'the face cache could not be read', () =>
      this.db.selectFrom('face_cache').select('faces').where('hash', '=', contentHash).where('embedder', '=', this.embedder).executeTakeFirst(),
    );
    if (!row) return undefined;
    let cached: CachedFace[];
    try {
      cached = JSON.parse(row.faces) as CachedFace[];
    } catch (cause) {
      throw new StorageError('a face cache entry could not be read', 'face-cache.get', { cause });
    }
    return cached.map(fromCached);
  }

  async set(contentHash: string, faces: readonly DetectedFace[]): Promise<void> {
    const row = { hash: contentHash, embedder: this.embedder, faces: JSON.stringify(faces.map(toCached)) };
    await storageCall('face-cache.set', 'the face cache could not be written', () =>
      this.db
        .insertInto('face_cache')
        .values(row)
        .onConflict((c) => c.columns(['hash', 'embedder']).doUpdateSet({ faces: row.faces }))
        .execute(),
    );
  }

  async delete(contentHashes: readonly string[]): Promise<void> {
    // A statement per 500 photos, not one per photo: a forget at 100k photos reaches 20k of them.
    await storageCall('face-cache.delete', 'the face cache could not be written', async () => {
      for (let i = 0; i < contentHashes.length; i += 500)
        await this.db
          .deleteFrom('face_cache')
          .where('hash', 'in', contentHashes.slice(i, i + 500))
          .execute();
    });
  }
}

function toCached(face: DetectedFace): CachedFace {
  return {
    box: face.box,
    score: face.score,
    eyeDistance: face.eyeDistance,
    ...(face.embedding ? { embedding: encodeEmbedding(face.embedding) } : {}),
    ...(face.unusable ? { unusable: face.unusable } : {}),
    ...(face.sharpness !== undefined ? { sharpness: face.sharpness } : {}),
  };
}

function fromCached(face: CachedFace): DetectedFace {
  return {
    box: face.box,
    score: face.score,
    eyeDistance: face.eyeDistance,
    ...(face.embedding ? { embedding: decodeEmbedding(face.embedding) } : {}),
    ...(face.unusable ? { unusable: face.unusable } : {}),
    ...(face.sharpness !== undefined ? { sharpness: face.sharpness } : {}),
  };
}
