import type { Embedding } from './faces.ts';

/** A stored face that came close to one or more probes, with how close. */
export interface NearFace {
  readonly photoHash: string;
  readonly faceIndex: number;
  readonly personId?: string;
  /** The probes (by index into the list asked with) it reached the minimum against, and the similarity. */
  readonly hits: readonly { readonly probe: number; readonly similarity: number }[];
}

/** A face as the matrix keeps it. */
export interface MatrixFace {
  readonly faceIndex: number;
  readonly embedding?: Embedding;
  readonly personId?: string;
}

/**
 * A photo's faces as the matrix of `embedder` takes them: each by its position in the photo, with
 * its embedding only when `embedder` made it (a matrix never mixes embedders).
 */
export function matrixFaces(
  faces: readonly { readonly embedding?: Embedding; readonly embedder?: string; readonly personId?: string }[],
  embedder: string,
): MatrixFace[] {
  return faces.map((f, faceIndex) => ({
    faceIndex,
    ...(f.embedding && f.embedder === embedder ? { embedding: f.embedding } : {}),
    ...(f.personId !== undefined ? { personId: f.personId } : {}),
  }));
}

/**
 * A matrix's faces laid flat, to be kept in a file and taken back: the live rows' embeddings one
 * after another, and for each row its photo (an index into `photos`), its face index, and its
 * person (an index into `people`, or -1).
 */
export interface MatrixSnapshot {
  readonly dimensions: number;
  readonly data: Float32Array;
  readonly photos: readonly string[];
  readonly people: readonly string[];
  /** Three numbers per row: photo, face index, person. */
  readonly rows: Int32Array;
}

interface Row {
  readonly photoHash: string;
  readonly faceIndex: number;
  readonly personId?: string;
}

/** Rows scanned between yields to the event loop: a few milliseconds of work each. */
const ROWS_PER_SLICE = 16_384;

/**
 * Similarities computed in single precision that lie this close to the minimum are computed again
 * in double precision, as the matcher computes them: a face on the threshold is in or out alike.
 */
export const SINGLE_PRECISION_SLACK = 1e-4;

/**
 * Computes every similarity of a slice of the matrix's rows to the probes: `rows` holds
 * rows.length / dimensions embeddings, `probes` probes.length / dimensions; the answer is row by
 * row, one value per probe. A native matrix product (onnxruntime's SGEMM) does this about ten
 * times faster than the loop of `FaceMatrix`, which is used when no kernel is given.
 */
export interface SimilarityKernel {
  similarities(rows: Float32Array, probes: Float32Array, dimensions: number): Promise<Float32Array>;
}

/**
 * The embeddings of one group's faces as one dense Float32Array, so that "which faces are close to
 * these samples" is a scan of contiguous memory rather than a read of every record. Rows are
 * updated photo by photo as the store writes them, and freed rows are reused.
 *
 * Scans yield to the event loop every few thousand rows: a threshold change over 300k faces takes
 * seconds, and the bot answers other groups meanwhile.
 */
export class FaceMatrix {
  private data: Float32Array;
  private rows: (Row | undefined)[] = [];
  private readonly free: number[] = [];
  private readonly byPhoto = new Map<string, number[]>();
  private dimensions: number | undefined;

  constructor(
    capacity = 1024,
    private readonly kernel?: SimilarityKernel,
  ) {
    this.data = new Float32Array(0);
    this.reserve(capacity);
  }

  /** How many faces with embeddings it holds. */
  get size(): number {
    return this.rows.length - this.free.length;
  }

  /** Bytes of embeddings held, for the cache's budget. */
  get bytes(): number {
    return this.data.byteLength;
  }

  /** Its live rows, packed (see `MatrixSnapshot`); undefined while it holds nothing. */
  snapshot(): MatrixSnapshot | undefined {
    const d = this.dimensions;
    if (d === undefined) return undefined;
    const photos: string[] = [],
      people: string[] = [];
    const photoIds = new Map<string, number>(),
      personIds = new Map<string, number>();
    const idOf = (map: Map<string, number>, list: string[], key: string) => {
      let id = map.get(key);
      if (id === undefined) map.set(key, (id = list.push(key) - 1));
      return id;
    };
    const data = new Float32Array(this.size * d);
    const rows = new Int32Array(this.size * 3);
    let at = 0;
    this.rows.forEach((row, r) => {
      if (!row) return;
      data.set(this.data.subarray(r * d, (r + 1) * d), at * d);
      rows[at * 3] = idOf(photoIds, photos, row.photoHash);
      rows[at * 3 + 1] = row.faceIndex;
      rows[at * 3 + 2] = row.personId === undefined ? -1 : idOf(personIds, people, row.personId);
      at++;
    });
    return { dimensions: d, data, photos, people, rows };
  }

  /** A matrix holding what `snapshot` packed. */
  static restore(snapshot: MatrixSnapshot, kernel?: SimilarityKernel): FaceMatrix {
    const count = snapshot.rows.length / 3;
    const matrix = new FaceMatrix(0, kernel);
    matrix.dimensions = snapshot.dimensions;
    matrix.data = snapshot.data;
    matrix.rows = new Array<Row | undefined>(count);
    for (let r = 0; r < count; r++) {
      const photoHash = snapshot.photos[snapshot.rows[r * 3]!]!;
      const person = snapshot.rows[r * 3 + 2]!;
      matrix.rows[r] = { photoHash, faceIndex: snapshot.rows[r * 3 + 1]!, ...(person >= 0 ? { personId: snapshot.people[person]! } : {}) };
      const taken = matrix.byPhoto.get(photoHash);
      if (taken) taken.push(r);
      else matrix.byPhoto.set(photoHash, [r]);
    }
    return matrix;
  }

  /** Replaces what it holds for the photo with `faces` (those without an embedding are left out). */
  setPhoto(photoHash: string, faces: readonly MatrixFace[]): void {
    this.deletePhoto(photoHash);
    const taken: number[] = [];
    for (const face of faces) {
      if (!face.embedding) continue;
      this.dimensions ??= face.embedding.length;
      // A vector of another length is damage or a mix-up: it cannot be compared, so it stays out.
      if (face.embedding.length !== this.dimensions) continue;
      const row = this.free.pop() ?? this.rows.length;
      if (row === this.rows.length) this.rows.push(undefined);
      this.reserve(this.rows.length);
      this.data.set(face.embedding, row * this.dimensions);
      this.rows[row] = { photoHash, faceIndex: face.faceIndex, ...(face.personId !== undefined ? { personId: face.personId } : {}) };
      taken.push(row);
    }
    if (taken.length > 0) this.byPhoto.set(photoHash, taken);
  }

  /** Names one face of a photo anew (or none); a face it does not hold is no error. */
  assign(photoHash: string, faceIndex: number, personId: string | undefined): void {
    for (const row of this.byPhoto.get(photoHash) ?? []) {
      const held = this.rows[row];
      if (held?.faceIndex === faceIndex) this.rows[row] = { photoHash, faceIndex, ...(personId !== undefined ? { personId } : {}) };
    }
  }

  /** Drops the photo's faces at `faceIndexes`; its later faces move up, as in its record. */
  removeFaces(photoHash: string, faceIndexes: readonly number[]): void {
    const taken = this.byPhoto.get(photoHash);
    if (!taken) return;
    const kept: number[] = [];
    for (const row of taken) {
      const held = this.rows[row]!;
      if (faceIndexes.includes(held.faceIndex)) {
        this.rows[row] = undefined;
        this.free.push(row);
        continue;
      }
      const shift = faceIndexes.filter((i) => i < held.faceIndex).length;
      if (shift > 0) this.rows[row] = { ...held, faceIndex: held.faceIndex - shift };
      kept.push(row);
    }
    if (kept.length > 0) this.byPhoto.set(photoHash, kept);
    else this.byPhoto.delete(photoHash);
  }

  deletePhoto(photoHash: string): void {
    const taken = this.byPhoto.get(photoHash);
    if (!taken) return;
    for (const row of taken) {
      this.rows[row] = undefined;
      this.free.push(row);
    }
    this.byPhoto.delete(photoHash);
  }

  /**
   * The faces at least `min` similar to one of `probes`, with every probe each reached. Two rows
   * against two probes at a time: each value read serves two products, which is what bounds a
   * scan of 300k faces against a group's hundred-odd samples.
   */
  async near(probes: readonly Embedding[], min: number): Promise<NearFace[]> {
    const d = this.dimensions;
    const usable = probes.map((p, i) => ({ p, i })).filter(({ p }) => p.length === d);
    if (d === undefined || usable.length === 0) return [];
    const packed = new Float32Array(usable.length * d);
    usable.forEach(({ p }, j) => packed.set(p, j * d));
    const ids = usable.map(({ i }) => i);
    if (this.kernel) return this.nearByKernel(this.kernel, packed, ids, min, d);
    const found: NearFace[] = [];
    const data = this.data,
      n = ids.length;
    for (let start = 0; start < this.rows.length; start += ROWS_PER_SLICE) {
      if (start > 0) await new Promise<void>((resolve) => setTimeout(resolve, 0));
      const end = Math.min(this.rows.length, start + ROWS_PER_SLICE);
      for (let r = start; r < end; r += 2) {
        const two = r + 1 < end;
        const a = r * d,
          b = a + d;
        let hitsA: { probe: number; similarity: number }[] | undefined, hitsB: typeof hitsA;
        for (let j = 0; j < n; j += 2) {
          const pair = j + 1 < n;
          const x = j * d,
            y = x + d;
          let s00 = 0,
            s01 = 0,
            s10 = 0,
            s11 = 0;
          if (two && pair) {
            for (let k = 0; k < d; k++) {
              const va = data[a + k]!,
                vb = data[b + k]!,
                p0 = packed[x + k]!,
                p1 = packed[y + k]!;
              s00 += va * p0;
              s01 += va * p1;
              s10 += vb * p0;
              s11 += vb * p1;
            }
          } else {
            for (let k = 0; k < d; k++) {
              const p0 = packed[x + k]!;
              s00 += data[a + k]! * p0;
              if (two) s10 += data[b + k]! * p0;
              if (pair) s01 += data[a + k]! * packed[y + k]!;
            }
          }
          if (s00 >= min) (hitsA ??= []).push({ probe: ids[j]!, similarity: s00 });
          if (pair && s01 >= min) (hitsA ??= []).push({ probe: ids[j + 1]!, similarity: s01 });
          if (two && s10 >= min) (hitsB ??= []).push({ probe: ids[j]!, similarity: s10 });
          if (two && pair && s11 >= min) (hitsB ??= []).push({ probe: ids[j + 1]!, similarity: s11 });
        }
        const rowA = this.rows[r],
          rowB = two ? this.rows[r + 1] : undefined;
        if (hitsA && rowA) found.push({ ...rowA, hits: hitsA });
        if (hitsB && rowB) found.push({ ...rowB, hits: hitsB });
      }
    }
    return found;
  }

  /** `near` with the slices' similarities from `kernel`; those close to `min` are checked again exactly. */
  private async nearByKernel(kernel: SimilarityKernel, packed: Float32Array, ids: readonly number[], min: number, d: number): Promise<NearFace[]> {
    const found: NearFace[] = [];
    const n = ids.length;
    for (let start = 0; start < this.rows.length; start += ROWS_PER_SLICE) {
      const end = Math.min(this.rows.length, start + ROWS_PER_SLICE);
      const scores = await kernel.similarities(this.data.subarray(start * d, end * d), packed, d);
      for (let r = start, at = 0; r < end; r++, at += n) {
        let hits: { probe: number; similarity: number }[] | undefined;
        for (let j = 0; j < n; j++) {
          let similarity = scores[at + j]!;
          if (similarity < min - SINGLE_PRECISION_SLACK) continue;
          if (similarity < min + SINGLE_PRECISION_SLACK) similarity = this.dot(r, packed, j, d);
          if (similarity >= min) (hits ??= []).push({ probe: ids[j]!, similarity });
        }
        const row = this.rows[r];
        if (hits && row) found.push({ ...row, hits });
      }
    }
    return found;
  }

  /** Row `r` against probe `j` of `packed`, in double precision like the loop of `near`. */
  private dot(r: number, packed: Float32Array, j: number, d: number): number {
    let sum = 0;
    for (let k = 0; k < d; k++) sum += this.data[r * d + k]! * packed[j * d + k]!;
    return sum;
  }

  private reserve(rows: number): void {
    const d = this.dimensions ?? 128;
    if (this.data.length >= rows * d) return;
    const grown = new Float32Array(Math.max(rows, Math.ceil((this.data.length / d) * 1.5), 1024) * d);
    grown.set(this.data);
    this.data = grown;
  }
}
