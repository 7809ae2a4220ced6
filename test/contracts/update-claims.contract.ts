import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DeliveryInProgress, type UpdateClaims } from '../../src/adapters/telegram/index.ts';

/**
 * What every `UpdateClaims` must do: an update is handled by one delivery at a time, skipped once
 * done, and handled again after a failed delivery released it. `make` gives fresh claims.
 */
export function updateClaimsContract(name: string, make: () => Promise<UpdateClaims>): void {
  describe(`UpdateClaims contract: ${name}`, () => {
    it('GIVEN a first delivery THEN it is handled; WHEN it is done THEN every later delivery is skipped', async () => {
      const claims = await make();
      assert.equal(await claims.claim(1), true);
      await claims.done(1);
      assert.equal(await claims.claim(1), false);
      assert.equal(await claims.claim(1), false);
    });

    it('GIVEN a delivery being handled WHEN the same update arrives again THEN it is refused for now, never acknowledged unhandled', async () => {
      const claims = await make();
      assert.equal(await claims.claim(2), true);
      await assert.rejects(claims.claim(2), DeliveryInProgress);
      await claims.done(2);
      assert.equal(await claims.claim(2), false);
    });

    it('GIVEN a delivery that failed WHEN it is released THEN the next delivery handles it', async () => {
      const claims = await make();
      assert.equal(await claims.claim(3), true);
      await claims.release(3);
      assert.equal(await claims.claim(3), true);
    });

    it('THEN updates are claimed each on their own', async () => {
      const claims = await make();
      assert.equal(await claims.claim(4), true);
      assert.equal(await claims.claim(5), true);
    });
  });
}
