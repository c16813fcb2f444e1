import { test } from 'node:test';
import assert from 'node:assert/strict';
import { USER_FLAGS, formatUserFlags, parseUserFlags } from './user-flags.ts';

test('parseUserFlags: any order, any case, blanks ignored, normalised to the SDS defaults', () => {
  const cases: Array<[string, string[], string[]]> = [
    // text, flags (canonical order), unknown
    ['freeLunch,homeless,giftedOrTalented', ['freeLunch', 'homeless', 'giftedOrTalented'], []],
    ['giftedOrTalented,homeless,freeLunch', ['freeLunch', 'homeless', 'giftedOrTalented'], []],
    ['iep,ell', ['ELL', 'IEP'], []],
    ['  IEP , lep ,  504  ', ['504', 'LEP', 'IEP'], []],
    ['FREELUNCH,ReducedLunch', ['freeLunch', 'reducedLunch'], []],
    ['reducedLunch', ['reducedLunch'], []], // omitted from MS's test array, listed in its comment: accepted
    ['IEP,iep,Iep', ['IEP'], []],
    ['', [], []],
    [' , ,', [], []],
    ['freeLunch,,IEP,', ['freeLunch', 'IEP'], []],
    ['freeLunch,superStar', ['freeLunch'], ['superStar']],
    ['honorRoll, HONORROLL ,title1', [], ['honorRoll', 'title1']],
    ['free lunch', [], ['free lunch']],
    ['504;IEP', [], ['504;IEP']],
  ];
  for (const [text, flags, unknown] of cases) {
    const r = parseUserFlags(text);
    assert.deepEqual([...r.flags], flags, `flags of ${JSON.stringify(text)}`);
    assert.deepEqual([...r.unknown], unknown, `unknown of ${JSON.stringify(text)}`);
    assert.equal(r.normalised, flags.join(','));
  }
});

test('parseUserFlags results are frozen and memoised', () => {
  const a = parseUserFlags('IEP,ELL');
  assert.equal(parseUserFlags('IEP,ELL'), a);
  assert.ok(Object.isFrozen(a) && Object.isFrozen(a.flags));
  assert.throws(() => (a.flags as string[]).push('x'));
});

test('formatUserFlags joins in canonical order without duplicates', () => {
  assert.equal(formatUserFlags(['IEP', 'freeLunch', 'IEP']), 'freeLunch,IEP');
  assert.equal(formatUserFlags([...USER_FLAGS].reverse()), USER_FLAGS.join(','));
  assert.equal(formatUserFlags([]), '');
});
