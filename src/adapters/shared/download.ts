/**
 * The bytes behind a URL, or undefined when they exceed `limitBytes` (by the declared length, or
 * while streaming, so a lying server cannot make us hold more). Throws for HTTP errors.
 */
export async function downloadLimited(url: string | URL, limitBytes: number, timeoutMs = 120_000): Promise<Uint8Array | undefined> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok || !response.body) throw new Error(`download failed with HTTP ${response.status}`);
  if (Number(response.headers.get('content-length') ?? 0) > limitBytes) {
    await response.body.cancel();
    return undefined;
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    total += chunk.byteLength;
    if (total > limitBytes) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
