import { sha256Hex } from '../../src/core/index.ts';
import type { IncomingPhoto, IngestResult } from '../../src/core/library/index.ts';

/** A library for queue tests: records what it was asked to file, in order, and can be told to fail. */
export class RecordingLibrary {
  readonly filed: { group: string; hash: string; at: number }[] = [];
  /** Tries of each photo (by content hash), failed ones included. */
  readonly tries = new Map<string, number>();
  failuresLeft = new Map<string, number>();
  delayMs = 0;
  active = 0;
  maxActive = 0;

  async ingest(group: string, photo: IncomingPhoto): Promise<IngestResult> {
    const hash = sha256Hex(photo.bytes);
    this.tries.set(hash, (this.tries.get(hash) ?? 0) + 1);
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      if (this.delayMs) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
      const failures = this.failuresLeft.get(hash) ?? 0;
      if (failures > 0) {
        this.failuresLeft.set(hash, failures - 1);
        throw new Error('ENOSPC: no space left on device');
      }
      if (this.filed.some((f) => f.group === group && f.hash === hash)) return { kind: 'duplicate', hash, people: [] };
      this.filed.push({ group, hash, at: Date.now() });
      return { kind: 'filed', hash, people: [], unknownFaces: 1, unusableFaces: 0 };
    } finally {
      this.active--;
    }
  }
}
