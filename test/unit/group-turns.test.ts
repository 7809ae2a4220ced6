import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GroupTurns } from '../../src/jobs/group-turns.ts';

describe('GroupTurns: photos imported from a chat history wait behind live ones', () => {
  it('GIVEN imported photos queued before a live one WHEN a place frees THEN the live photo goes first', () => {
    const turns = new GroupTurns();
    turns.push('01', 'g1', true);
    turns.push('02', 'g1', true);
    turns.push('03', 'g2');
    assert.equal(turns.take(0, 2)?.id, '03');
  });

  it('GIVEN only imported photos THEN they never take the last free place, which stays for whoever posts next', () => {
    const turns = new GroupTurns();
    for (const id of ['01', '02', '03']) turns.push(id, 'g1', true);
    turns.push('04', 'g2', true);
    assert.equal(turns.take(0, 3)?.id, '01');
    assert.equal(turns.take(1, 3)?.id, '04');
    assert.equal(turns.take(2, 3), undefined, 'an import took the last place');
    turns.push('05', 'g3');
    assert.equal(turns.take(2, 3)?.id, '05');
  });

  it('GIVEN one place and nothing running THEN an imported photo may start (an import alone still moves)', () => {
    const turns = new GroupTurns();
    turns.push('01', 'g1', true);
    assert.equal(turns.take(0, 1)?.id, '01');
    assert.equal(turns.size, 0);
  });
});
