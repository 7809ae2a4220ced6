import type { DecodedImage, DetectedFace, FaceEngine } from '../../src/core/index.ts';

/**
 * Holds work until the test opens it, so that a test can stop a bot "in the middle of a burst"
 * without racing a timer: whatever the machine's speed, nothing held has finished before `open()`.
 * A gate starts closed; `close()` holds what comes after it again.
 */
export class Gate {
  private release: () => void = () => undefined;
  private opened = this.closed();
  /** How many callers are waiting at the gate now. */
  waiting = 0;

  constructor(open = false) {
    if (open) this.open();
  }

  open(): void {
    this.release();
  }

  close(): void {
    this.release();
    this.opened = this.closed();
  }

  async pass(): Promise<void> {
    this.waiting++;
    try {
      await this.opened;
    } finally {
      this.waiting--;
    }
  }

  private closed(): Promise<void> {
    return new Promise<void>((resolve) => (this.release = resolve));
  }
}

/** `engine`, with every detection held at `gate` until it opens. */
export function gatedEngine(engine: FaceEngine, gate: Gate): FaceEngine {
  return {
    info: engine.info,
    async detect(image: DecodedImage): Promise<DetectedFace[]> {
      await gate.pass();
      return engine.detect(image);
    },
    close: () => engine.close(),
  };
}

/** What `countedEngine` holds to: photos still let through, the gate of the hold, and whether one waits there already. */
export interface CountedHold {
  passes: number;
  gate: Gate;
  held: boolean;
}

/**
 * `engine`, letting `hold.passes` detections through and holding the next ones at `hold.gate`;
 * the first held one writes "HELD" on standard output (for a parent process to read).
 */
export function countedEngine(engine: FaceEngine, hold: CountedHold): FaceEngine {
  return {
    info: engine.info,
    async detect(image: DecodedImage): Promise<DetectedFace[]> {
      if (hold.passes > 0) hold.passes--;
      else {
        if (!hold.held) process.stdout.write('HELD\n');
        hold.held = true;
        await hold.gate.pass();
      }
      return engine.detect(image);
    },
    close: () => engine.close(),
  };
}
