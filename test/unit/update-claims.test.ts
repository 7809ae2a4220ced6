import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryUpdateClaims } from '../../src/adapters/telegram/index.ts';
import { updateClaimsContract } from '../contracts/update-claims.contract.ts';

updateClaimsContract('MemoryUpdateClaims, one process', () => Promise.resolve(new MemoryUpdateClaims()));

describe('MemoryUpdateClaims', () => {
  it('GIVEN done ids THEN they are remembered until pushed out by newer ones or too old', async () => {
    let now = 0;
    const claims = new MemoryUpdateClaims({ max: 3, maxAgeMs: 1000, now: () => now });
    for (const id of [1, 2, 3, 4]) {
      await claims.claim(id);
      await claims.done(id);
    }
    assert.equal(await claims.claim(1), true, 'the oldest of more than 3 done ids is forgotten');
    await claims.release(1);
    assert.equal(await claims.claim(4), false);
    now = 1000;
    assert.equal(await claims.claim(4), true, 'an id older than maxAgeMs is forgotten');
    assert.ok(claims.size <= 3);
  });
});
