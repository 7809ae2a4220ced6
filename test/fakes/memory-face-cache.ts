import type { DetectedFace, FaceCache } from '../../src/core/index.ts';

/** The in-memory `FaceCache`, for tests of code that uses one. */
export class MemoryFaceCache implements FaceCache {
  private readonly entries = new Map<string, readonly DetectedFace[]>();

  get(contentHash: string): Promise<readonly DetectedFace[] | undefined> {
    return Promise.resolve(this.entries.get(contentHash));
  }

  set(contentHash: string, faces: readonly DetectedFace[]): Promise<void> {
    this.entries.set(
      contentHash,
      faces.map((f) => ({ ...f, ...(f.embedding ? { embedding: f.embedding.slice() } : {}) })),
    );
    return Promise.resolve();
  }

  delete(contentHashes: readonly string[]): Promise<void> {
    for (const hash of contentHashes) this.entries.delete(hash);
    return Promise.resolve();
  }
}
