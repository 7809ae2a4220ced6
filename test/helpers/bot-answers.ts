import assert from 'node:assert/strict';

/** The number of photos in a /stats answer, however it is worded ("Photos: 12" or "12 photos"). */
export function photoCount(text: string): number {
  const match = /photos:\s*(\d+)/i.exec(text) ?? /(\d+)\s+photos/i.exec(text);
  assert.ok(match, `no photo count in: ${text}`);
  return Number(match[1]);
}
