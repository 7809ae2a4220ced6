import type { DecodedImage, DetectedFace, EngineInfo, FaceEngine } from '../../src/core/index.ts';
import { sha256Hex } from '../../src/core/hash.ts';

/**
 * Wraps a real engine and remembers its answer per image, so that test scenarios which post the
 * same photos to several fresh libraries pay for inference once. The answers are the real
 * engine's; `calls` counts the real detections.
 */
export class MemoFaceEngine implements FaceEngine {
  private readonly answers = new Map<string, Promise<DetectedFace[]>>();
  calls = 0;

  constructor(private readonly inner: FaceEngine) {}

  get info(): EngineInfo {
    return this.inner.info;
  }

  async detect(image: DecodedImage): Promise<DetectedFace[]> {
    const key = `${image.width}x${image.height}:${sha256Hex(image.pixels)}`;
    let answer = this.answers.get(key);
    if (!answer) {
      this.calls++;
      answer = this.inner.detect(image);
      this.answers.set(key, answer);
    }
    return answer;
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
