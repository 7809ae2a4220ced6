/**
 * One child process of `ProcessImageDecoder`: a `SharpImageDecoder` answering one decode at a time
 * over the IPC channel. It has a process of its own because libvips works on libuv's thread pool,
 * which worker threads share with their parent, and no thread can be stopped in the middle of
 * native work: only a process can be killed there. It ends when its parent goes.
 *
 * A decoded photo's pixels do not cross in the IPC message: they follow it as plain bytes on a pipe
 * of their own (`PIXELS_FD`). A 12 MP photo is 36 MB; serialised into a message it was copied four
 * times on the way (serialising, the parent gathering the message's chunks into one buffer,
 * deserialising, the engine's copy), most of it on the parent's main thread.
 */
import net from 'node:net';
import type { DecodeFailure, DecodedImage } from '../core/index.ts';
import { SharpImageDecoder, type DecoderLimits } from './sharp-decoder.ts';
import type { PhotoFormat } from './sniff.ts';

/** The child's file descriptor its pixels are written to (0-2 are stdio, 3 the IPC channel). */
export const PIXELS_FD = 4;

/** What the parent sends: a photo to decode. */
export interface DecodeRequest {
  readonly id: number;
  readonly bytes: Uint8Array;
}

/**
 * What the child answers: ready once, then one answer per request. A decoded photo's answer carries
 * its size and metadata; its `pixelBytes` bytes of pixels follow on `PIXELS_FD`.
 */
export type DecoderMessage =
  | { readonly ready: true }
  | { readonly id: number; readonly decoded: Omit<DecodedImage, 'pixels'>; readonly pixelBytes: number }
  | { readonly id: number; readonly failure: DecodeFailure };

/** The limits as they cross the command line (a set does not). */
export type WireLimits = Omit<DecoderLimits, 'formats'> & { readonly formats?: readonly PhotoFormat[] };

if (process.send) {
  const wire = JSON.parse(process.argv[2] ?? '{}') as WireLimits;
  const { formats, ...limits } = wire;
  const decoder = new SharpImageDecoder({ ...limits, ...(formats ? { formats: new Set(formats) } : {}) });
  const pixels = new net.Socket({ fd: PIXELS_FD, readable: false, writable: true });
  const send = (message: DecoderMessage): void => {
    process.send?.(message);
  };
  process.on('message', (request: DecodeRequest) => {
    void decoder.decode(request.bytes).then(
      (result) => {
        if (!result.ok) return send({ id: request.id, failure: result.failure });
        const { pixels: bytes, ...decoded } = result.image;
        send({ id: request.id, decoded, pixelBytes: bytes.byteLength });
        pixels.write(bytes);
      },
      (error: unknown) => send({ id: request.id, failure: { reason: 'corrupt', detail: String(error) } }),
    );
  });
  process.on('disconnect', () => process.exit(0));
  // Ctrl-C in a terminal and systemd's stop signal reach the whole process group: the parent
  // decides when its decodes end (it drains, then closes us), and we end with its channel.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => undefined);
  send({ ready: true });
}
