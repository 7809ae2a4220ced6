import { fork, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { DecodeResult, DecodedImage, ImageDecoder } from '../core/index.ts';
import { PIXELS_FD, type DecodeRequest, type DecoderMessage, type WireLimits } from './decoder-process.ts';
import { DEFAULT_DECODER_LIMITS, MAX_JPEG_SCANS, failure, screen, type DecoderLimits } from './sharp-decoder.ts';

export interface ProcessDecoderOptions extends DecoderLimits {
  /** Child processes decoding at once; more decodes wait for one. */
  readonly processes: number;
  /** A child idle this long ends; the next decode starts one again (about half a second). */
  readonly idleSeconds?: number;
}

/**
 * glibc's allocator in the decoder processes: a fixed threshold above which memory is mapped
 * anew, and transparent huge pages asked for on those maps. Each decode's pixels (36 MB for 12 MP)
 * are new memory; in 4 KB pages the kernel's first-touch faults cost more than the decode on the
 * benchmarks' machine (2 x 12 MP decodes at once: 145-150 ms a photo, 48-50 ms with these).
 * Elsewhere (musl, an older glibc, huge pages off) they change nothing.
 */
const DECODER_MALLOC = 'glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=33554432';

/** How long a child may take to load sharp before the install is taken as broken. */
const START_TIMEOUT_MS = 60_000;

/**
 * Decodes in child processes, each a `SharpImageDecoder`, under a hard wall-clock limit: a decode
 * past `timeoutSeconds` has its process killed (SIGKILL), which ends libvips' native work wherever
 * it is. sharp's own timeout is only checked between progress events, and a thread cannot be
 * stopped at all; a hostile file decoded in this process holds libuv's thread pool, so that even
 * the small file writes that acknowledge other groups' photos wait. The cheap checks (size,
 * format from the bytes, JPEG scans) run here first, so refused files never cross.
 *
 * A decoded photo's pixels come back in a `SharedArrayBuffer`: the engine's worker threads read
 * them where they are, without a copy each (`PooledFaceEngine`).
 */
export class ProcessImageDecoder implements ImageDecoder {
  private readonly idle: DecoderChild[] = [];
  private readonly waiting: ((child: DecoderChild | undefined) => void)[] = [];
  private readonly children = new Set<DecoderChild>();
  private readonly memory: PixelMemory;
  private closed = false;

  constructor(private readonly options: ProcessDecoderOptions = { ...DEFAULT_DECODER_LIMITS, processes: 2 }) {
    if (!(options.processes >= 1)) throw new Error('a process decoder needs at least one process');
    this.memory = new PixelMemory(2 * options.processes, (options.idleSeconds ?? 30) * 1000);
  }

  async decode(bytes: Uint8Array): Promise<DecodeResult> {
    const refused = screen(bytes, this.options);
    if (refused) return refused;
    const child = await this.acquire().catch((error: unknown) => {
      // A child killed by `close` while it started is the closing, not a broken install.
      if (this.closed) return undefined;
      throw error;
    });
    if (!child) return failure('corrupt', 'the decoder is closing');
    try {
      return await child.decode(bytes, this.options.timeoutSeconds * 1000);
    } finally {
      this.giveBack(child);
    }
  }

  release(image: DecodedImage): void {
    this.memory.release(image.pixels);
  }

  /** Ends every child; decodes running now fail, later ones are refused. */
  close(): Promise<void> {
    this.closed = true;
    this.memory.clear();
    for (const wake of this.waiting.splice(0)) wake(undefined);
    for (const child of this.children) child.kill('the decoder is closing');
    return Promise.resolve();
  }

  /** Child processes alive now (idle or busy), for tests and metrics. */
  get processes(): number {
    return this.children.size;
  }

  /** Their process ids, for tests. */
  get pids(): number[] {
    return [...this.children].flatMap((child) => child.pid ?? []);
  }

  private acquire(): Promise<DecoderChild | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    const idle = this.idle.pop();
    if (idle) return Promise.resolve(idle.claim());
    if (this.children.size < this.options.processes) return this.spawn();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private giveBack(child: DecoderChild): void {
    const wake = this.waiting.shift();
    if (!child.alive) {
      this.children.delete(child);
      if (wake) void this.spawn().then(wake, () => wake(undefined));
      return;
    }
    if (wake) wake(child);
    else this.idle.push(child.rest(() => this.retire(child)));
  }

  private async spawn(): Promise<DecoderChild> {
    const { processes: _processes, idleSeconds, formats, maxJpegScans, ...limits } = this.options;
    // JSON has no Infinity: an unbounded scan count crosses as the largest safe number.
    const scans = Math.min(maxJpegScans ?? MAX_JPEG_SCANS, Number.MAX_SAFE_INTEGER);
    const wire: WireLimits = { ...limits, maxJpegScans: scans, ...(formats ? { formats: [...formats] } : {}) };
    const child = new DecoderChild(wire, (idleSeconds ?? 30) * 1000, (bytes) => this.memory.take(bytes));
    this.children.add(child);
    try {
      await child.started;
      return child;
    } catch (error) {
      this.children.delete(child);
      throw error;
    }
  }

  private retire(child: DecoderChild): void {
    const at = this.idle.indexOf(child);
    if (at >= 0) this.idle.splice(at, 1);
    this.children.delete(child);
    child.kill('idle');
  }
}

/** One child process and the decode it is doing. */
class DecoderChild {
  readonly started: Promise<void>;
  private readonly process: ChildProcess;
  private nextId = 0;
  private pending: { readonly id: number; resolve(result: DecodeResult): void } | undefined;
  /** The decoded photo whose pixels are arriving, and how many have. */
  private receiving: { readonly image: DecodedImage; filled: number } | undefined;
  /** Pixel bytes that came before the answer they belong to (the pipe and the channel are not ordered). */
  private early: Buffer[] = [];
  private idleTimer: NodeJS.Timeout | undefined;
  private exited = false;

  constructor(
    private readonly limits: WireLimits,
    private readonly idleMs: number,
    private readonly allocate: (bytes: number) => Uint8Array,
  ) {
    const source = import.meta.url.endsWith('.ts');
    const file = new URL(`./decoder-process.${source ? 'ts' : 'js'}`, import.meta.url);
    // Its own flags only: the parent's may hold a debugger port or the test runner's.
    this.process = fork(file, [JSON.stringify(limits)], {
      serialization: 'advanced',
      execArgv: source ? ['--import', import.meta.resolve('tsx')] : [],
      env: { ...process.env, GLIBC_TUNABLES: [process.env.GLIBC_TUNABLES, DECODER_MALLOC].filter(Boolean).join(':') },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc', 'pipe'],
    });
    this.started = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the image decoder process did not start')), START_TIMEOUT_MS);
      this.process.once('message', () => {
        clearTimeout(timer);
        resolve();
      });
      this.process.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`the image decoder process ended as it started (${signal ?? code})`));
      });
    });
    this.started.catch(() => this.kill('it did not start'));
    this.process.on('message', (message: DecoderMessage) => {
      if (!('id' in message)) return;
      if (message.id !== this.pending?.id || this.receiving) return this.kill('it answered out of turn');
      if ('failure' in message) return this.settle({ ok: false, failure: message.failure });
      this.expect(message.decoded, message.pixelBytes);
    });
    this.pixels.on('data', (chunk: Buffer) => this.take(chunk));
    // The pipe ends with the process, whose exit settles the decode.
    this.pixels.on('error', () => undefined);
    this.process.on('exit', (code, signal) => {
      this.exited = true;
      this.settle(failure('corrupt', `the decoder process ended (${signal ?? code}) while reading the image`));
    });
    this.process.on('error', () => this.kill('its process failed'));
    this.unref();
  }

  private get pixels(): Readable {
    return this.process.stdio[PIXELS_FD] as Readable;
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  get alive(): boolean {
    return !this.exited && this.process.exitCode === null && this.process.signalCode === null;
  }

  decode(bytes: Uint8Array, timeoutMs: number): Promise<DecodeResult> {
    const id = this.nextId++;
    return new Promise<DecodeResult>((resolve) => {
      const timer = setTimeout(() => {
        this.kill(`took longer than ${timeoutMs / 1000} s`);
      }, timeoutMs);
      this.pending = {
        id,
        resolve: (result) => {
          clearTimeout(timer);
          resolve(result);
        },
      };
      const request: DecodeRequest = { id, bytes };
      this.process.send(request, (error) => {
        if (error) this.kill(`it could not be sent the image (${error.message})`);
      });
    });
  }

  /** Marks the child busy again: its idle timer stops. */
  claim(): this {
    clearTimeout(this.idleTimer);
    return this;
  }

  /** Marks the child idle: after `idleMs` without work, `retire` ends it. */
  rest(retire: () => void): this {
    this.idleTimer = setTimeout(retire, this.idleMs).unref();
    return this;
  }

  /** Kills the process at once (SIGKILL: native work ends too) and fails its decode with why. */
  kill(why: string): void {
    clearTimeout(this.idleTimer);
    this.settle(failure('corrupt', `the decode was stopped: ${why}`));
    this.exited = true;
    this.process.kill('SIGKILL');
  }

  /**
   * An answer that a photo decoded: its pixels follow on the pipe, into shared memory. A size that
   * the limits rule out, or that does not match the picture, ends the child.
   */
  private expect(decoded: Omit<DecodedImage, 'pixels'>, pixelBytes: number): void {
    const { width, height } = decoded;
    const sane = Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0;
    if (!sane || width > this.limits.maxSide || height > this.limits.maxSide || pixelBytes !== width * height * 3) {
      return this.kill(`it answered with ${pixelBytes} bytes for ${width}x${height} pixels`);
    }
    this.receiving = { image: { ...decoded, pixels: this.allocate(pixelBytes) }, filled: 0 };
    for (const chunk of this.early.splice(0)) this.take(chunk);
  }

  /** Bytes from the pixels pipe: into the photo being received, or kept until its answer comes. */
  private take(chunk: Buffer): void {
    const receiving = this.receiving;
    if (!receiving) {
      if (!this.pending) return this.kill('it sent pixels unasked');
      this.early.push(chunk);
      return;
    }
    const { pixels } = receiving.image;
    if (receiving.filled + chunk.length > pixels.length) return this.kill('it sent more pixels than it announced');
    pixels.set(chunk, receiving.filled);
    receiving.filled += chunk.length;
    if (receiving.filled === pixels.length) {
      this.receiving = undefined;
      this.settle({ ok: true, image: receiving.image });
    }
  }

  private settle(result: DecodeResult): void {
    const pending = this.pending;
    this.pending = undefined;
    this.receiving = undefined;
    this.early = [];
    pending?.resolve(result);
  }

  /** An idle child never keeps the parent alive; a pending decode's timer does. */
  private unref(): void {
    this.process.unref();
    (this.process.channel as { unref?: () => void } | undefined)?.unref?.();
    (this.pixels as Readable & { unref?: () => void }).unref?.();
  }
}

/**
 * Shared memory for decoded pixels, kept for the next photo of the same size once the caller has
 * released the last one (`ImageDecoder.release`). Every byte of a new buffer is a page the kernel
 * must find and clear on first touch: on the 2-core machine of the benchmarks that was 90 ms of
 * the main thread for each 12 MP photo, and a folder of phone photos is all one size. A buffer is
 * only reused at exactly its size, so a view never holds another photo's pixels past its end; the
 * kept ones go after a while without decodes.
 */
class PixelMemory {
  private readonly free: SharedArrayBuffer[] = [];
  /** Buffers handed out and not yet released: a release of anything else (twice, or foreign) is ignored. */
  private readonly lent = new WeakSet<SharedArrayBuffer>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly keep: number,
    private readonly idleMs: number,
  ) {}

  take(bytes: number): Uint8Array {
    const at = this.free.findIndex((buffer) => buffer.byteLength === bytes);
    const buffer = at >= 0 ? this.free.splice(at, 1)[0]! : new SharedArrayBuffer(bytes);
    this.lent.add(buffer);
    return new Uint8Array(buffer);
  }

  release(pixels: Uint8Array): void {
    const buffer = pixels.buffer;
    if (!(buffer instanceof SharedArrayBuffer) || !this.lent.delete(buffer)) return;
    this.free.push(buffer);
    if (this.free.length > this.keep) this.free.shift();
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.clear(), this.idleMs).unref();
  }

  clear(): void {
    clearTimeout(this.timer);
    this.free.length = 0;
  }
}
