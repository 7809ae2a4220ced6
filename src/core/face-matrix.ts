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

/** A row a scan reached: how many probes, which, and how close (arrays reused from row to row). */
type Visit = (row: Row, count: number, reached: Int32Array, similarities: Float64Array) => void;

const NOT_BETWEEN = 0,
  BETWEEN = 1,
  TOO_CLOSE_TO_CALL = 2;

/** The probes as `runsByOwner` lays them out for `SimilarityKernel.closest`. */
interface OwnerLayout {
  readonly packed: Float32Array;
  /** Probes per chunk. */
  readonly run: number;
  readonly chunks: number;
  /** `runs[k]`..`runs[k + 1]` are the chunks of the k-th owner of `order`. */
  readonly runs: Int32Array;
  /** The owners, in the order laid out. */
  readonly order: readonly number[];
}

/**
 * The probes of `d` dimensions laid out for `SimilarityKernel.closest` (`owners[i]` owns
 * `probes[i]`; a probe of another length is left out): owner by owner, each owner's in chunks of
 * `run` (the last one filled up with the owner's first probe again, which changes no maximum), so
 * that every chunk is one owner's. The width is the one that costs least, products and chunks
 * together: three for a gallery of three samples each.
 */
function runsByOwner(probes: readonly Embedding[], owners: readonly number[], d: number): OwnerLayout | undefined {
  const byOwner = new Map<number, Embedding[]>();
  probes.forEach((probe, i) => {
    if (probe.length === d) (byOwner.get(owners[i]!) ?? byOwner.set(owners[i]!, []).get(owners[i]!)!).push(probe);
  });
  if (byOwner.size === 0) return undefined;
  const sizes = [...byOwner.values()].map((own) => own.length);
  const cost = (run: number) => sizes.reduce((sum, m) => sum + Math.ceil(m / run) * (run + 1), 0);
  let run = 1;
  for (let width = 2; width <= 8; width++) if (cost(width) < cost(run)) run = width;
  const chunks = sizes.reduce((sum, m) => sum + Math.ceil(m / run), 0);
  const packed = new Float32Array(chunks * run * d);
  const runs = [0];
  let at = 0;
  for (const own of byOwner.values()) {
    const width = Math.ceil(own.length / run) * run;
    for (let j = 0; j < width; j++) packed.set(own[j] ?? own[0]!, (at + j) * d);
    at += width;
    runs.push(at / run);
  }
  return { packed, run, chunks, runs: Int32Array.from(runs), order: [...byOwner.keys()] };
}

/**
 * For each of `count` rows of single-precision values (`n` per row, owner by owner as `runs`
 * says), whether some owner's greatest lies in [from, below): one pass, in a plain synchronous
 * loop the JIT compiles tightly (flat when every owner has one value). A greatest value within the
 * products' rounding of either end is left for an exact check.
 */
function markBetween(values: Float32Array, count: number, n: number, runs: Int32Array, from: number, below: number, marks: Uint8Array): void {
  const owners = runs.length - 1;
  const lo = from - SINGLE_PRECISION_SLACK,
    hi = below + SINGLE_PRECISION_SLACK;
  const judge = (closest: number) =>
    Math.abs(closest - from) < SINGLE_PRECISION_SLACK || Math.abs(closest - below) < SINGLE_PRECISION_SLACK ? TOO_CLOSE_TO_CALL : BETWEEN;
  for (let r = 0, at = 0; r < count; r++, at += n) {
    let mark = NOT_BETWEEN;
    if (owners === n) {
      for (let j = at; j < at + n && mark !== BETWEEN; j++) if (values[j]! >= lo && values[j]! < hi) mark = judge(values[j]!);
    } else {
      for (let k = 0; k < owners && mark !== BETWEEN; k++) {
        let closest = -Infinity;
        for (let j = at + runs[k]!; j < at + runs[k + 1]!; j++) closest = Math.max(closest, values[j]!);
        if (closest >= lo && closest < hi) mark = judge(closest);
      }
    }
    marks[r] = mark;
  }
}

/**
 * `markBetween`'s counterpart for `claimed`: whether owner `k`'s greatest value is at least `from`
 * and not below any other owner's by more than `margin`; a comparison within the products'
 * rounding is left for an exact check.
 */
function markClaimed(values: Float32Array, count: number, n: number, runs: Int32Array, k: number, from: number, margin: number, marks: Uint8Array): void {
  const owners = runs.length - 1;
  for (let r = 0, at = 0; r < count; r++, at += n) {
    let theirs = -Infinity;
    for (let j = at + runs[k]!; j < at + runs[k + 1]!; j++) theirs = Math.max(theirs, values[j]!);
    let elsewhere = -Infinity;
    for (let j = at; j < at + runs[k]!; j++) elsewhere = Math.max(elsewhere, values[j]!);
    for (let j = at + runs[k + 1]!; j < at + runs[owners]!; j++) elsewhere = Math.max(elsewhere, values[j]!);
    const lead = theirs - (elsewhere - margin);
    marks[r] =
      theirs < from - SINGLE_PRECISION_SLACK || lead < -2 * SINGLE_PRECISION_SLACK
        ? NOT_BETWEEN
        : theirs < from + SINGLE_PRECISION_SLACK || lead < 2 * SINGLE_PRECISION_SLACK
          ? TOO_CLOSE_TO_CALL
          : BETWEEN;
  }
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
  /**
   * Each row's greatest similarity over each run of `run` consecutive probes (probes.length /
   * dimensions is a multiple of `run`): row by row, one value per run. The products are not
   * handed back, only their maxima: a third of the values for a gallery of three samples each.
   */
  closest(rows: Float32Array, probes: Float32Array, dimensions: number, run: number): Promise<Float32Array>;
}

/**
 * The matrix's rows: each one's photo, face index and person in typed arrays, and each photo's and
 * person's name once. No object per face: at 100k photos a start made 300k of them from the kept
 * file, and the collector walked them ever after. A photo's rows are a list through `next`. A
 * deleted photo's name stays in `photos` until the matrix is loaded again (deletions are few).
 */
class RowTable {
  /** Photo id of each row; -1 for a free row. */
  private photo = new Int32Array(0);
  private face = new Int32Array(0);
  /** Person id of each row; -1 for none. */
  private person = new Int32Array(0);
  /** The next row of the same photo; -1 after its last. */
  private next = new Int32Array(0);
  /** Each photo's first row, by photo id; -1 when it has none. */
  private first = new Int32Array(0);
  /** Rows in use or freed: the matrix's extent. */
  length = 0;
  private readonly photos: string[] = [];
  private readonly people: string[] = [];
  /** Made at the first write that names a photo (a start reads a file and may only scan). */
  private photoIds: Map<string, number> | undefined;
  private readonly personIds = new Map<string, number>();

  /** The rows `snapshot` packed: rows 0 to n-1, each photo's list in row order. */
  static of(snapshot: MatrixSnapshot): RowTable {
    const table = new RowTable();
    const count = snapshot.rows.length / 3;
    for (const hash of snapshot.photos) table.photos.push(hash);
    snapshot.people.forEach((id, n) => {
      table.people.push(id);
      table.personIds.set(id, n);
    });
    table.grow(count);
    table.growPhotos(table.photos.length);
    for (let r = count - 1; r >= 0; r--) {
      const photo = snapshot.rows[r * 3]!;
      table.photo[r] = photo;
      table.face[r] = snapshot.rows[r * 3 + 1]!;
      table.person[r] = snapshot.rows[r * 3 + 2]!;
      table.next[r] = table.first[photo]!;
      table.first[photo] = r;
    }
    table.length = count;
    return table;
  }

  live(r: number): boolean {
    return this.photo[r]! >= 0;
  }

  /** Row `r` as an object (a face a scan reached), or undefined when it is free. */
  at(r: number): Row | undefined {
    const photo = this.photo[r]!;
    if (photo < 0) return undefined;
    const person = this.person[r]!;
    const photoHash = this.photos[photo]!,
      faceIndex = this.face[r]!;
    return person >= 0 ? { photoHash, faceIndex, personId: this.people[person]! } : { photoHash, faceIndex };
  }

  faceIndexOf(r: number): number {
    return this.face[r]!;
  }

  /** The photo's rows. */
  rowsOf(photoHash: string): number[] {
    const photo = this.idOf(photoHash, false);
    const rows: number[] = [];
    if (photo !== undefined) for (let r = this.first[photo]!; r >= 0; r = this.next[r]!) rows.push(r);
    return rows;
  }

  /** Takes row `r` (the next after the extent, or a freed one) for a face of the photo. */
  put(r: number, photoHash: string, faceIndex: number, personId: string | undefined): void {
    if (r >= this.length) {
      this.grow(r + 1);
      this.length = r + 1;
    }
    const photo = this.idOf(photoHash, true)!;
    this.photo[r] = photo;
    this.face[r] = faceIndex;
    this.person[r] = this.personOf(personId);
    this.next[r] = this.first[photo]!;
    this.first[photo] = r;
  }

  name(r: number, personId: string | undefined): void {
    this.person[r] = this.personOf(personId);
  }

  /** Frees the photo's rows for which `gone` says so (every one by default); returns them. */
  free(photoHash: string, gone: (r: number) => boolean = () => true): number[] {
    const photo = this.idOf(photoHash, false);
    const freed: number[] = [];
    if (photo === undefined) return freed;
    let before = -1;
    for (let r = this.first[photo]!; r >= 0;) {
      const after = this.next[r]!;
      if (gone(r)) {
        if (before < 0) this.first[photo] = after;
        else this.next[before] = after;
        this.photo[r] = -1;
        freed.push(r);
      } else before = r;
      r = after;
    }
    return freed;
  }

  private personOf(personId: string | undefined): number {
    if (personId === undefined) return -1;
    let id = this.personIds.get(personId);
    if (id === undefined) this.personIds.set(personId, (id = this.people.push(personId) - 1));
    return id;
  }

  private idOf(photoHash: string, create: boolean): number | undefined {
    if (!this.photoIds) {
      this.photoIds = new Map();
      this.photos.forEach((hash, id) => this.photoIds!.set(hash, id));
    }
    let id = this.photoIds.get(photoHash);
    if (id === undefined && create) {
      this.photoIds.set(photoHash, (id = this.photos.push(photoHash) - 1));
      this.growPhotos(this.photos.length);
    }
    return id;
  }

  private grow(rows: number): void {
    if (this.photo.length >= rows) return;
    const capacity = Math.max(rows, Math.ceil(this.photo.length * 1.5), 1024);
    const grown = (array: Int32Array, fill?: number) => {
      const bigger = new Int32Array(capacity);
      bigger.set(array);
      if (fill !== undefined) bigger.fill(fill, array.length);
      return bigger;
    };
    this.photo = grown(this.photo, -1);
    this.face = grown(this.face);
    this.person = grown(this.person, -1);
    this.next = grown(this.next, -1);
  }

  private growPhotos(photos: number): void {
    if (this.first.length >= photos) return;
    const bigger = new Int32Array(Math.max(photos, Math.ceil(this.first.length * 1.5), 1024)).fill(-1);
    bigger.set(this.first);
    this.first = bigger;
  }
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
  private rows = new RowTable();
  private readonly free: number[] = [];
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
    for (let r = 0; r < this.rows.length; r++) {
      const row = this.rows.at(r);
      if (!row) continue;
      data.set(this.data.subarray(r * d, (r + 1) * d), at * d);
      rows[at * 3] = idOf(photoIds, photos, row.photoHash);
      rows[at * 3 + 1] = row.faceIndex;
      rows[at * 3 + 2] = row.personId === undefined ? -1 : idOf(personIds, people, row.personId);
      at++;
    }
    return { dimensions: d, data, photos, people, rows };
  }

  /** A matrix holding what `snapshot` packed. */
  static restore(snapshot: MatrixSnapshot, kernel?: SimilarityKernel): FaceMatrix {
    const matrix = new FaceMatrix(0, kernel);
    matrix.dimensions = snapshot.dimensions;
    matrix.data = snapshot.data;
    matrix.rows = RowTable.of(snapshot);
    return matrix;
  }

  /** Replaces what it holds for the photo with `faces` (those without an embedding are left out). */
  setPhoto(photoHash: string, faces: readonly MatrixFace[]): void {
    this.deletePhoto(photoHash);
    for (const face of faces) {
      if (!face.embedding) continue;
      this.dimensions ??= face.embedding.length;
      // A vector of another length is damage or a mix-up: it cannot be compared, so it stays out.
      if (face.embedding.length !== this.dimensions) continue;
      const row = this.free.pop() ?? this.rows.length;
      this.reserve(Math.max(row + 1, this.rows.length));
      this.data.set(face.embedding, row * this.dimensions);
      this.rows.put(row, photoHash, face.faceIndex, face.personId);
    }
  }

  /** Names one face of a photo anew (or none); a face it does not hold is no error. */
  assign(photoHash: string, faceIndex: number, personId: string | undefined): void {
    for (const row of this.rows.rowsOf(photoHash)) if (this.rows.faceIndexOf(row) === faceIndex) this.rows.name(row, personId);
  }

  /** Drops the photo's faces at `faceIndexes` (their embeddings were erased); the others keep their places. */
  dropFaces(photoHash: string, faceIndexes: readonly number[]): void {
    this.free.push(...this.rows.free(photoHash, (row) => faceIndexes.includes(this.rows.faceIndexOf(row))));
  }

  deletePhoto(photoHash: string): void {
    this.free.push(...this.rows.free(photoHash));
  }

  /**
   * One scan of every row that finds nothing: at a start, so that the kernel's first run and the
   * first pass over the rows' memory are not paid by the first command (at 300k faces about 0.2 s).
   */
  async touch(): Promise<void> {
    if (this.dimensions !== undefined && this.size > 0) await this.near([new Float32Array(this.dimensions)], 2);
  }

  /**
   * The faces at least `min` similar to one of `probes`, with every probe each reached. Two rows
   * against two probes at a time: each value read serves two products, which is what bounds a
   * scan of 300k faces against a group's hundred-odd samples.
   */
  async near(probes: readonly Embedding[], min: number): Promise<NearFace[]> {
    const found: NearFace[] = [];
    await this.scan(probes, min, (row, count, reached, similarities) => {
      const hits = new Array<{ probe: number; similarity: number }>(count);
      for (let h = 0; h < count; h++) hits[h] = { probe: reached[h]!, similarity: similarities[h]! };
      found.push({ ...row, hits });
    });
    return found;
  }

  /**
   * The photos with a face whose closest probe of some owner (`owners[i]` owns `probes[i]`, owners
   * numbered from 0) lies at or above `from` and below `below`: what moving a threshold between the
   * two can re-decide. Answered from the scan without an object per hit: at 100k photos a change
   * of threshold reaches half a million of them.
   */
  async between(probes: readonly Embedding[], owners: readonly number[], from: number, below: number): Promise<string[]> {
    const d = this.dimensions;
    if (this.kernel && d !== undefined) return this.betweenByKernel(this.kernel, probes, owners, from, below, d);
    const best = new Float64Array(Math.max(0, ...owners) + 1).fill(-Infinity);
    const touched: number[] = [];
    const photos = new Set<string>();
    await this.scan(probes, from, (row, count, reached, similarities) => {
      for (let h = 0; h < count; h++) {
        const owner = owners[reached[h]!]!;
        if (best[owner] === -Infinity) touched.push(owner);
        if (similarities[h]! > best[owner]!) best[owner] = similarities[h]!;
      }
      for (const owner of touched) {
        if (best[owner]! < below) photos.add(row.photoHash);
        best[owner] = -Infinity;
      }
      touched.length = 0;
    });
    return [...photos];
  }

  /**
   * `between` from the kernel: the maxima of `closest` judged row by row, a value within the
   * products' rounding of either end judged again exactly.
   */
  private async betweenByKernel(
    kernel: SimilarityKernel,
    probes: readonly Embedding[],
    owners: readonly number[],
    from: number,
    below: number,
    d: number,
  ): Promise<string[]> {
    const layout = runsByOwner(probes, owners, d);
    if (!layout) return [];
    const photos = new Set<string>();
    await this.markedByKernel(
      kernel,
      layout,
      d,
      (values, count, marks) => markBetween(values, count, layout.chunks, layout.runs, from, below, marks),
      (closest) => closest.some((c) => c >= from && c < below),
      (row) => photos.add(row.photoHash),
    );
    return [...photos];
  }

  /**
   * The faces whose closest probe of `owner` is at least `from` and not below another owner's
   * closest by more than `margin` (`owners[i]` owns `probes[i]`): the faces that look like that
   * owner as much as like anyone, what forgetting them takes. From the same scan as `between`.
   */
  async claimed(probes: readonly Embedding[], owners: readonly number[], owner: number, from: number, margin: number): Promise<Omit<NearFace, 'hits'>[]> {
    const d = this.dimensions;
    const found: Omit<NearFace, 'hits'>[] = [];
    const claims = (theirs: number, elsewhere: number) => theirs >= from && theirs >= elsewhere - margin;
    if (this.kernel && d !== undefined) {
      const layout = runsByOwner(probes, owners, d);
      const k = layout?.order.indexOf(owner) ?? -1;
      if (!layout || k < 0) return [];
      await this.markedByKernel(
        this.kernel,
        layout,
        d,
        (values, count, marks) => markClaimed(values, count, layout.chunks, layout.runs, k, from, margin, marks),
        (closest) => claims(closest[k]!, Math.max(...closest.filter((_, other) => other !== k))),
        (row) => found.push(row),
      );
      return found;
    }
    await this.scan(probes, from, (row, count, reached, similarities) => {
      let theirs = -Infinity,
        elsewhere = -Infinity;
      for (let h = 0; h < count; h++) {
        if (owners[reached[h]!] === owner) theirs = Math.max(theirs, similarities[h]!);
        else elsewhere = Math.max(elsewhere, similarities[h]!);
      }
      if (claims(theirs, elsewhere)) found.push(row);
    });
    return found;
  }

  /**
   * The kernel's `closest` over every slice of rows, the probes as `layout` lays them out: `mark`
   * judges a slice's rows from the single-precision maxima; a row it cannot call is judged by
   * `exact` from each owner's closest in double precision. `take` gets each live row judged in.
   */
  private async markedByKernel(
    kernel: SimilarityKernel,
    layout: OwnerLayout,
    d: number,
    mark: (values: Float32Array, count: number, marks: Uint8Array) => void,
    exact: (closest: Float64Array) => boolean,
    take: (row: Row) => void,
  ): Promise<void> {
    const { packed, run } = layout;
    const marks = new Uint8Array(ROWS_PER_SLICE);
    for (let start = 0; start < this.rows.length; start += ROWS_PER_SLICE) {
      const end = Math.min(this.rows.length, start + ROWS_PER_SLICE);
      mark(await kernel.closest(this.data.subarray(start * d, end * d), packed, d, run), end - start, marks);
      for (let r = start; r < end; r++) {
        const judged = marks[r - start]!;
        if (judged === NOT_BETWEEN || !this.rows.live(r)) continue;
        if (judged === BETWEEN || exact(this.closestPerOwner(r, layout, d))) take(this.rows.at(r)!);
      }
    }
  }

  /** Each owner's closest probe to row `r` (in `layout`'s order), in double precision. */
  private closestPerOwner(r: number, { packed, run, runs }: OwnerLayout, d: number): Float64Array {
    const closest = new Float64Array(runs.length - 1).fill(-Infinity);
    for (let k = 0; k < closest.length; k++)
      for (let j = runs[k]! * run; j < runs[k + 1]! * run; j++) closest[k] = Math.max(closest[k]!, this.dot(r, packed, j, d));
    return closest;
  }

  /**
   * Calls `visit` for every live row at least `min` similar to one of `probes`, with how many it
   * reached, which (by index into `probes`) and how close; the arrays are reused, valid until
   * `visit` returns.
   */
  private async scan(probes: readonly Embedding[], min: number, visit: Visit): Promise<void> {
    const d = this.dimensions;
    const usable = probes.map((p, i) => ({ p, i })).filter(({ p }) => p.length === d);
    if (d === undefined || usable.length === 0) return;
    const packed = new Float32Array(usable.length * d);
    usable.forEach(({ p }, j) => packed.set(p, j * d));
    const ids = Int32Array.from(usable, ({ i }) => i);
    if (this.kernel) return this.scanByKernel(this.kernel, packed, ids, min, d, visit);
    const data = this.data,
      n = ids.length;
    const reachedA = new Int32Array(n),
      reachedB = new Int32Array(n),
      closeA = new Float64Array(n),
      closeB = new Float64Array(n);
    for (let start = 0; start < this.rows.length; start += ROWS_PER_SLICE) {
      if (start > 0) await new Promise<void>((resolve) => setTimeout(resolve, 0));
      const end = Math.min(this.rows.length, start + ROWS_PER_SLICE);
      for (let r = start; r < end; r += 2) {
        const two = r + 1 < end;
        const a = r * d,
          b = a + d;
        let hitsA = 0,
          hitsB = 0;
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
          if (s00 >= min) {
            reachedA[hitsA] = ids[j]!;
            closeA[hitsA++] = s00;
          }
          if (pair && s01 >= min) {
            reachedA[hitsA] = ids[j + 1]!;
            closeA[hitsA++] = s01;
          }
          if (two && s10 >= min) {
            reachedB[hitsB] = ids[j]!;
            closeB[hitsB++] = s10;
          }
          if (two && pair && s11 >= min) {
            reachedB[hitsB] = ids[j + 1]!;
            closeB[hitsB++] = s11;
          }
        }
        if (hitsA > 0 && this.rows.live(r)) visit(this.rows.at(r)!, hitsA, reachedA, closeA);
        if (hitsB > 0 && this.rows.live(r + 1)) visit(this.rows.at(r + 1)!, hitsB, reachedB, closeB);
      }
    }
  }

  /** `scan` with the slices' similarities from `kernel`; those close to `min` are checked again exactly. */
  private async scanByKernel(kernel: SimilarityKernel, packed: Float32Array, ids: Int32Array, min: number, d: number, visit: Visit): Promise<void> {
    const n = ids.length;
    const reached = new Int32Array(n),
      close = new Float64Array(n);
    for (let start = 0; start < this.rows.length; start += ROWS_PER_SLICE) {
      const end = Math.min(this.rows.length, start + ROWS_PER_SLICE);
      const scores = await kernel.similarities(this.data.subarray(start * d, end * d), packed, d);
      for (let r = start, at = 0; r < end; r++, at += n) {
        let hits = 0;
        for (let j = 0; j < n; j++) {
          let similarity = scores[at + j]!;
          if (similarity < min - SINGLE_PRECISION_SLACK) continue;
          if (similarity < min + SINGLE_PRECISION_SLACK) similarity = this.dot(r, packed, j, d);
          if (similarity >= min) {
            reached[hits] = ids[j]!;
            close[hits++] = similarity;
          }
        }
        if (hits > 0 && this.rows.live(r)) visit(this.rows.at(r)!, hits, reached, close);
      }
    }
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
    const wanted = Math.max(rows, Math.ceil((this.data.length / d) * 1.5), 1024) * d;
    // A restored matrix's embeddings end its file's buffer, read with room to spare: grown into
    // without a copy while it lasts.
    const room = Math.floor((this.data.buffer.byteLength - this.data.byteOffset) / Float32Array.BYTES_PER_ELEMENT);
    if (room >= rows * d) {
      this.data = new Float32Array(this.data.buffer, this.data.byteOffset, Math.min(room, wanted));
      return;
    }
    const grown = new Float32Array(wanted);
    grown.set(this.data);
    this.data = grown;
  }
}
