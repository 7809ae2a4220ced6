/**
 * One child process of `ProcessImageDecoder`: a `SharpImageDecoder` answering one decode at a time
 * over the IPC channel. It has a process of its own because libvips works on libuv's thread pool,
 * which worker threads share with their parent, and no thread can be stopped in the middle of
 * native work: only a process can be killed there. It ends when its parent goes.
 */
import type { DecodeResult } from '../core/index.ts';
import { SharpImageDecoder, type DecoderLimits } from './sharp-decoder.ts';
import type { PhotoFormat } from './sniff.ts';

/** What the parent sends: a photo to decode. */
export interface DecodeRequest {
  readonly id: number;
  readonly bytes: Uint8Array;
}

/** What the child answers: ready once, then one answer per request. */
export type DecoderMessage = { readonly ready: true } | { readonly id: number; readonly result: DecodeResult };

/** The limits as they cross the command line (a set does not). */
export type WireLimits = Omit<DecoderLimits, 'formats'> & { readonly formats?: readonly PhotoFormat[] };

if (process.send) {
  const wire = JSON.parse(process.argv[2] ?? '{}') as WireLimits;
  const { formats, ...limits } = wire;
  const decoder = new SharpImageDecoder({ ...limits, ...(formats ? { formats: new Set(formats) } : {}) });
  const send = (message: DecoderMessage): void => {
    process.send?.(message);
  };
  process.on('message', (request: DecodeRequest) => {
    void decoder.decode(request.bytes).then(
      (result) => send({ id: request.id, result }),
      (error: unknown) => send({ id: request.id, result: { ok: false, failure: { reason: 'corrupt', detail: String(error) } } }),
    );
  });
  process.on('disconnect', () => process.exit(0));
  // Ctrl-C in a terminal and systemd's stop signal reach the whole process group: the parent
  // decides when its decodes end (it drains, then closes us), and we end with its channel.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => undefined);
  send({ ready: true });
}
