import cliProgress from 'cli-progress';
import type { ArchiveProgress } from '../archive/index.ts';

const LABELS = { known: 'known faces', photos: 'photos' } as const;

/** Progress that can also be stopped midway (Ctrl-C): a bar then gives the cursor back. */
export interface StoppableProgress extends ArchiveProgress {
  stop(): void;
}

/** A progress bar on a terminal; on anything else (a log, CI) a plain line every few seconds. */
export function createProgress(stream: NodeJS.WriteStream = process.stderr): StoppableProgress {
  return stream.isTTY ? new BarProgress(stream) : new LineProgress(stream);
}

class BarProgress implements StoppableProgress {
  private bar: cliProgress.SingleBar | undefined;

  constructor(private readonly stream: NodeJS.WriteStream) {}

  begin(phase: 'known' | 'photos', total: number): void {
    if (total === 0) return;
    this.bar = new cliProgress.SingleBar(
      {
        stream: this.stream,
        format: `${LABELS[phase].padEnd(11)} [{bar}] {value}/{total} {percentage}% | {eta_formatted} left`,
        hideCursor: true,
        etaBuffer: 20,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(total, 0);
  }

  advance(): void {
    this.bar?.increment();
  }

  end(): void {
    this.bar?.stop();
    this.bar = undefined;
  }

  stop(): void {
    this.end();
    // cli-progress shows the cursor again only when a bar was running; be sure either way.
    this.stream.write('\u001b[?25h');
  }
}

class LineProgress implements StoppableProgress {
  private total = 0;
  private done = 0;
  private phase: 'known' | 'photos' = 'photos';
  private lastPrint = 0;

  constructor(
    private readonly stream: NodeJS.WritableStream,
    private readonly everyMs = 5000,
  ) {}

  begin(phase: 'known' | 'photos', total: number): void {
    this.phase = phase;
    this.total = total;
    this.done = 0;
    this.lastPrint = Date.now();
  }

  advance(): void {
    this.done++;
    if (Date.now() - this.lastPrint >= this.everyMs) {
      this.lastPrint = Date.now();
      this.stream.write(`${LABELS[this.phase]}: ${this.done}/${this.total}\n`);
    }
  }

  end(): void {
    if (this.total > 0) this.stream.write(`${LABELS[this.phase]}: ${this.done}/${this.total} done\n`);
  }

  stop(): void {
    this.total = 0;
  }
}
