import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** RGBA pixels out of a HEIF file, or why there are none. */
export type HeifResult =
  | { readonly ok: true; readonly width: number; readonly height: number; readonly rgba: Uint8Array }
  | { readonly ok: false; readonly reason: 'too-many-pixels' | 'corrupt'; readonly detail: string };

/** HEVC-coded HEIF brands: what iPhones write. AVIF (AV1 in HEIF) is left to sharp, which reads it. */
const HEVC_BRANDS = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'hevm', 'hevs']);

/** Whether the bytes are a HEVC-coded HEIF file, from the brands of its `ftyp` box. */
export function isHevcHeif(bytes: Uint8Array): boolean {
  if (bytes.length < 16) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = view.getUint32(0);
  const fourcc = (at: number): string => String.fromCharCode(...bytes.subarray(at, at + 4));
  if (fourcc(4) !== 'ftyp' || size < 16 || size > bytes.length) return false;
  const brands = [fourcc(8)];
  for (let at = 16; at + 4 <= size; at += 4) brands.push(fourcc(at));
  return brands.some((brand) => HEVC_BRANDS.has(brand)) && !brands.includes('avif');
}

/**
 * The worker's code. libheif-js (libheif and libde265 compiled to WebAssembly, the binary inside the
 * npm package) decodes synchronously: in a worker a hostile file cannot block the caller, and a
 * decode past the time limit is ended by terminating the worker. libheif-js reports its errors
 * through console.log; they are caught as the failure's detail instead of reaching stdout.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const said = [];
console.log = console.error = console.warn = (...args) => { said.push(args.map(String).join(' ')); };
const libheif = require(workerData.libheif);
parentPort.on('message', ({ id, bytes, maxPixels }) => {
  said.length = 0;
  const fail = (reason, detail) => parentPort.postMessage({ id, ok: false, reason, detail: detail || said.join('; ') || 'libheif could not read it' });
  try {
    const decoder = new libheif.HeifDecoder();
    const images = decoder.decode(bytes);
    const image = images.find((i) => i.is_primary()) || images[0];
    if (!image) return fail('corrupt');
    const width = image.get_width();
    const height = image.get_height();
    if (!(width > 0 && height > 0)) return fail('corrupt', 'no image size');
    if (width * height > maxPixels) return fail('too-many-pixels', width + 'x' + height + ' is over the limit of ' + maxPixels + ' pixels');
    const data = new Uint8ClampedArray(width * height * 4);
    image.display({ data, width, height }, (shown) => {
      for (const i of images) i.free();
      if (!shown) return fail('corrupt');
      parentPort.postMessage({ id, ok: true, width, height, rgba: data }, [data.buffer]);
    });
  } catch (error) {
    fail('corrupt', String(error && error.message || error));
  }
});
`;

interface Pending {
  resolve(result: HeifResult): void;
  timer: NodeJS.Timeout;
}

/**
 * Decodes HEIC/HEIF through libheif-js in one long-lived worker thread (the WebAssembly module takes
 * about half a second to start, once). Decodes run one at a time; a decode that takes longer than
 * the limit ends the worker, and the next decode starts a fresh one. The worker never keeps the
 * process alive.
 */
export class HeifWorker {
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly limits: { readonly maxPixels: number; readonly timeoutSeconds: number }) {}

  decode(bytes: Uint8Array): Promise<HeifResult> {
    const run = this.queue.then(() => this.decodeNow(bytes));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private decodeNow(bytes: Uint8Array): Promise<HeifResult> {
    const worker = this.start();
    const id = this.nextId++;
    return new Promise<HeifResult>((resolve) => {
      const timer = setTimeout(() => {
        this.stop(`the decode took longer than ${this.limits.timeoutSeconds} s`);
      }, this.limits.timeoutSeconds * 1000);
      this.pending.set(id, { resolve, timer });
      worker.postMessage({ id, bytes, maxPixels: this.limits.maxPixels });
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const libheif = createRequire(import.meta.url).resolve('libheif-js/wasm-bundle');
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { libheif } });
    worker.on('message', (message: HeifResult & { id: number }) => {
      const pending = this.pending.get(message.id);
      if (!pending) return;
      this.pending.delete(message.id);
      clearTimeout(pending.timer);
      const { id: _id, ...result } = message;
      pending.resolve(result);
    });
    worker.on('error', (error) => this.stop(`the HEIF decoder failed: ${error.message}`));
    worker.on('exit', () => {
      if (this.worker === worker) this.stop('the HEIF decoder stopped');
    });
    // After the listeners: attaching a 'message' listener refs the worker's port again.
    worker.unref();
    this.worker = worker;
    return worker;
  }

  /** Ends the worker and fails whatever it was doing; the next decode starts a new one. */
  private stop(detail: string): void {
    const worker = this.worker;
    this.worker = undefined;
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.resolve({ ok: false, reason: 'corrupt', detail });
      this.pending.delete(id);
    }
    void worker?.terminate();
  }
}
