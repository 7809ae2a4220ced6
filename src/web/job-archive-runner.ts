import type { DetectedFace, FaceCache, FaceEngine, GalleryPerson, ImageDecoder, Log, MatchPolicy, PhotoTagger, Renderer } from '../core/index.ts';
import { sha256Hex } from '../core/index.ts';
import { DEFAULT_MAX_PHOTO_BYTES, readCapped } from '../files/index.ts';
import { ArchiveJob, rejectedFor, type ArchiveProgress } from '../archive/index.ts';
import type { ArchiveFolders, ArchiveRunner, RunProgress, RunResult } from './archive-runner.ts';

/** What the runner works with: the engine, decoder and face cache, made when first needed. */
export interface ArchiveRunnerParts {
  readonly engine: FaceEngine;
  readonly decoder: ImageDecoder;
  readonly cache: FaceCache;
  /** A photo file larger than this is refused from its size, never read. */
  readonly maxBytes?: number;
  /** Writes the copies' face names and dates; without one, the copies carry none. */
  readonly tagger?: PhotoTagger;
  close(): Promise<void>;
}

export interface JobArchiveRunnerOptions {
  /** Builds the parts (loads the models): called at the first run, and again after a failed start. */
  readonly parts: () => Promise<ArchiveRunnerParts>;
  /** Draws the contact sheets of known photos the job could not use, for the page to show. */
  readonly renderer: Renderer;
  /** The threshold the page starts at, and the margin every run uses. */
  readonly policy: MatchPolicy;
  readonly log: Log;
}

/**
 * `ArchiveRunner` on the real archive job. The engine and the face cache are made at the first run
 * and kept: loading the models takes seconds, and a re-run (after naming someone) finds every
 * face in the cache. The faces the page needs for previews are read back from that cache.
 */
export class JobArchiveRunner implements ArchiveRunner {
  private parts: Promise<ArchiveRunnerParts> | undefined;
  readonly defaultThreshold: number;

  constructor(private readonly options: JobArchiveRunnerOptions) {
    this.defaultThreshold = options.policy.threshold;
  }

  async run(folders: ArchiveFolders, threshold: number, onProgress: (progress: RunProgress) => void): Promise<RunResult> {
    const startedAt = performance.now();
    const policy = { threshold, margin: this.options.policy.margin };
    const plan = await ArchiveJob.plan(
      {
        inputs: [folders.photos],
        knownDir: folders.known,
        outputDir: folders.output,
        ...(folders.zips ? { zipDir: folders.zips } : {}),
        policy,
      },
      this.options.log,
    );
    onProgress({ phase: 'starting', done: 0, total: plan.photos.length });
    const { engine, decoder, cache, tagger, maxBytes = DEFAULT_MAX_PHOTO_BYTES } = await this.start();
    const job = new ArchiveJob({
      engine,
      decoder,
      cache,
      maxBytes,
      ...(tagger ? { tagger } : {}),
      log: this.options.log,
      renderer: this.options.renderer,
      progress: progressTo(onProgress),
    });
    const report = await job.run(plan, { startedAt });
    onProgress({ phase: 'finishing', done: 0, total: report.outcomes.length });

    // The job found these faces and cached them by content; the page needs them for its previews.
    const facesOf = async (file: string, hash?: string): Promise<readonly DetectedFace[]> => {
      if (hash) return (await cache.get(hash)) ?? [];
      const read = await readCapped(file, maxBytes);
      if ('tooLarge' in read) return [];
      return (await cache.get(sha256Hex(read.bytes))) ?? [];
    };
    const gallery: GalleryPerson[] = [];
    // The photos the job did not use for a person are listed as that person's problems.
    const unused = new Set(report.known.flatMap((k) => k.problems.map((p) => p.file)));
    for (const person of plan.known) {
      const samples = [];
      for (const file of person.photos.filter((f) => !unused.has(f))) {
        // A used photo has one usable face, or (before the job checked its known photos) the largest is the person's.
        const largest = (await facesOf(file)).filter((f) => f.embedding).sort((a, b) => b.eyeDistance - a.eyeDistance)[0];
        if (largest?.embedding) samples.push(largest.embedding);
      }
      if (samples.length > 0) gallery.push({ id: person.name, name: person.name, samples });
    }
    const photos = [];
    for (const outcome of report.outcomes) {
      const faces = await facesOf(outcome.file, outcome.hash);
      const rejected = rejectedFor(plan.corrections, outcome.hash, faces).map((people) => [...people]);
      photos.push({
        file: outcome.file,
        hash: outcome.hash,
        people: outcome.people,
        folders: outcome.folders,
        faces,
        ...(rejected.some((people) => people.length > 0) ? { rejected } : {}),
      });
    }
    return {
      threshold,
      margin: policy.margin,
      known: report.known,
      photos,
      errors: report.errors,
      zips: report.zips,
      gallery,
      elapsedMs: report.elapsedMs,
    };
  }

  async close(): Promise<void> {
    const parts = this.parts;
    this.parts = undefined;
    if (parts) await (await parts).close();
  }

  private start(): Promise<ArchiveRunnerParts> {
    this.parts ??= this.options.parts().then((parts) => {
      this.options.log.info({ engine: parts.engine.info }, 'ui: recognition engine started');
      return parts;
    });
    // A failed start (models missing, say) is retried at the next run rather than remembered.
    void this.parts.catch(() => {
      this.parts = undefined;
    });
    return this.parts;
  }
}

function progressTo(onProgress: (progress: RunProgress) => void): ArchiveProgress {
  let phase: RunProgress['phase'] = 'known';
  let done = 0;
  let total = 0;
  return {
    begin(next, count) {
      phase = next;
      done = 0;
      total = count;
      onProgress({ phase, done, total });
    },
    advance() {
      done++;
      onProgress({ phase, done, total });
    },
    end() {
      onProgress({ phase, done: total, total });
    },
  };
}
