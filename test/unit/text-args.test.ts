import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseEnroll, parseName, parseThreshold } from '../../src/bot/text-args.ts';

describe('parseEnroll', () => {
  it('GIVEN a name THEN the whole name', () => assert.deepEqual(parseEnroll(' Anna  Smith '), { me: false, name: 'Anna Smith' }));
  it('GIVEN a name and a number THEN the face number', () => assert.deepEqual(parseEnroll('Anna Smith 2'), { me: false, name: 'Anna Smith', face: 2 }));
  it('GIVEN "me" THEN me', () => assert.deepEqual(parseEnroll('me'), { me: true, name: '' }));
  it('GIVEN "me 3" THEN me and face 3', () => assert.deepEqual(parseEnroll('ME 3'), { me: true, name: '', face: 3 }));
  it('GIVEN only a number THEN no name', () => assert.deepEqual(parseEnroll('2'), { me: false, name: '', face: 2 }));
  it('GIVEN a name that ends in a year THEN the year is part of the name', () =>
    assert.deepEqual(parseEnroll('Class of 2024'), { me: false, name: 'Class of 2024' }));
});

describe('parseName', () => {
  it('GIVEN a number and a name THEN both', () => assert.deepEqual(parseName('3 Anna Smith'), { cluster: 3, name: 'Anna Smith' }));
  it('GIVEN "#3" THEN the number', () => assert.deepEqual(parseName('#3 Anna'), { cluster: 3, name: 'Anna' }));
  it('GIVEN no name THEN nothing', () => assert.equal(parseName('3'), undefined));
});

describe('parseThreshold', () => {
  it('GIVEN nothing THEN show', () => assert.deepEqual(parseThreshold(''), { kind: 'show' }));
  it('GIVEN a value THEN set, with a decimal comma too', () => assert.deepEqual(parseThreshold('0,91'), { kind: 'set', value: 0.91 }));
  it('GIVEN report THEN report', () => assert.deepEqual(parseThreshold('report'), { kind: 'report' }));
  it('GIVEN report and a value THEN the proposal', () => assert.deepEqual(parseThreshold('Report 0.95'), { kind: 'report', proposed: 0.95 }));
  it('GIVEN words THEN invalid', () => assert.deepEqual(parseThreshold('high please'), { kind: 'invalid' }));
});
