import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.ts';
import type { XmpMode } from '../core/index.ts';
import { ArchiveJob, type ArchivePlan, type ArchiveProgress } from '../archive/index.ts';
import { createArchiverParts, type ArchiverParts } from '../app/index.ts';
import { SharpRenderer } from '../imaging/index.ts';
import type { Logger } from '../logger.ts';
import { createProgress } from './progress.ts';
import { formatSummary, plural, shown } from './summary.ts';
import { DEFAULT_THRESHOLD } from '../recognition/index.ts';

export interface ArchiveOptions {
  readonly input?: string[];
  readonly known?: string;
  readonly output?: string;
  readonly zip?: string | boolean;
  readonly threshold?: number;
  readonly json?: string;
  readonly dryRun?: boolean;
  readonly link?: boolean;
  readonly xmp?: XmpMode;
}

export interface CommandContext {
  readonly config: Config;
  readonly log: Logger;
  readonly out: NodeJS.WritableStream;
}

/** `facefile archive`: plans the run, explains what to do when the folders are empty, then runs it. */
export async function archiveCommand(options: ArchiveOptions, { config, log, out }: CommandContext): Promise<void> {
  // The time in the summary is the time the user waited, model loading included.
  const startedAt = performance.now();
  const defaults = config.archive;
  const inputs = options.input?.length ? options.input.map((p) => path.resolve(p)) : [defaults.inputDir];
  const knownDir = path.resolve(options.known ?? defaults.knownDir);
  const outputDir = path.resolve(options.output ?? defaults.outputDir);
  const zipDir = options.zip === undefined || options.zip === false ? undefined : options.zip === true ? defaults.zipDir : path.resolve(options.zip);
  const threshold = options.threshold ?? config.match.threshold ?? DEFAULT_THRESHOLD;

  const plan = await ArchiveJob.plan(
    {
      inputs,
      knownDir,
      outputDir,
      ...(zipDir ? { zipDir } : {}),
      policy: { threshold, margin: config.match.margin },
      // Only the configured defaults are created on a first run; a path the user typed must exist.
      createIfMissing: [defaults.inputDir, defaults.knownDir],
      placement: options.link ? 'link' : 'copy',
      xmp: options.xmp ?? 'embed',
      dryRun: options.dryRun ?? false,
    },
    log,
  );
  const progress = createProgress();
  const guidance = explainEmpty(plan);
  if (guidance) {
    out.write(guidance + '\n');
    if (plan.photos.length === 0) return;
  }

  const people = plan.known.length;
  out.write(
    `${options.dryRun ? 'Checking (dry run, nothing will change)' : 'Sorting'} ${plural(plan.photos.length, 'photo')} by the faces of ${plural(people, 'known person', 'known people')}. Loading the face models…\n`,
  );
  const starting = createArchiverParts(config, log);
  const stopOnCtrlC = interruptHandler(progress, starting);
  process.once('SIGINT', stopOnCtrlC);
  const parts = await starting;
  const { engine } = parts;
  out.write(
    `Face models ready: ${BACKEND_WORDS[engine.info.backend] ?? engine.info.backend}, ${plural(engine.info.workers, 'worker thread')}, match threshold ${threshold}.\n`,
  );
  log.info({ engine: engine.info, threshold, inputs, knownDir, outputDir, zipDir }, 'archive started');
  try {
    const job = new ArchiveJob({
      engine,
      decoder: parts.decoder,
      cache: parts.cache,
      maxBytes: parts.maxBytes,
      log,
      renderer: new SharpRenderer(),
      tagger: parts.tagger,
      progress,
    });
    const report = await job.run(plan, { startedAt });
    log.info({ photos: report.photos, faces: report.faces, errors: report.errors.length, elapsedMs: report.elapsedMs }, 'archive finished');
    out.write(formatSummary(report, outputDir, zipDir) + '\n');
    if (options.json) {
      await writeFile(options.json, JSON.stringify({ threshold, engine: engine.info, ...report }, null, 2) + '\n');
      out.write(`Report: ${shown(path.resolve(options.json))}\n`);
    }
  } finally {
    process.off('SIGINT', stopOnCtrlC);
    await parts.close();
  }
}

/** The backends in words: which hardware does the work, and how. */
const BACKEND_WORDS: Readonly<Record<string, string>> = {
  onnx: 'on the CPU through ONNX Runtime',
  wasm: 'on the CPU through WebAssembly',
  tensorflow: 'on the CPU through native TensorFlow',
};

/**
 * Ctrl-C: the progress bar gives the cursor back, one line says what happened, and the process
 * ends. Copies already made stay, and the next run adopts them (see the user guide's "Re-runs").
 */
function interruptHandler(progress: ArchiveProgress & { stop(): void }, parts: Promise<ArchiverParts>): () => void {
  return () => {
    progress.stop();
    process.stderr.write('\nfacefile: stopped by Ctrl-C. Copies made so far are kept; run it again to finish.\n');
    // onnxruntime aborts the whole process when a worker thread is torn down in the middle of a
    // model run, so the photos already in the workers are let finish (under a second) first.
    const closed = parts.then((p) => p.close());
    void Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 10_000).unref())]).finally(() => process.exit(130));
  };
}

/** What to put where, when the known or input folders are empty; undefined when both have content. */
function explainEmpty(plan: ArchivePlan): string | undefined {
  const { request } = plan;
  const noKnown = plan.known.every((k) => k.photos.length === 0);
  const noPhotos = plan.photos.length === 0;
  if (!noKnown && !noPhotos) return undefined;
  const lines: string[] = [];
  if (noPhotos && noKnown) lines.push('Nothing to archive yet.');
  if (noKnown) {
    lines.push(
      `- Known faces: make a folder per person in ${shown(request.knownDir)} with a few photos of them,`,
      `  e.g. ${shown(path.join(request.knownDir, 'Anna Smith', 'anna1.jpg'))}. The folder name is the name used.`,
    );
  }
  if (noPhotos) lines.push(`- Photos to sort: put them in ${shown(request.inputs[0] ?? '.')} (sub-folders are fine), or pass --input <folder or photos>.`);
  if (noPhotos) lines.push(`Then run \`npx facefile archive\` again; sorted copies go to ${shown(request.outputDir)}.`);
  else lines.push('Without known faces every photo is filed under _unknown or _no_faces.');
  return lines.join('\n');
}
