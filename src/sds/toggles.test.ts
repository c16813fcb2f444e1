import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CUSTOM_PROVIDER, findProvider, type Provider } from './provider-catalog.ts';
import { ToggleError, canChoose, effectiveStatus, resolveToggles, toggleStates, type ToggleRequest } from './toggles.ts';

function get(name: string): Provider {
  const p = findProvider(name);
  assert.ok(p);
  return p;
}

test('resolveToggles: on by default when supported, the admin may turn any off', () => {
  const cases: Array<[string, ToggleRequest, { contacts: boolean; demographics: boolean; userFlags: boolean }]> = [
    ['Synergy SIS', {}, { contacts: true, demographics: true, userFlags: false }],
    ['Synergy SIS', { contacts: false }, { contacts: false, demographics: true, userFlags: false }],
    ['Synergy SIS', { contacts: false, demographics: false }, { contacts: false, demographics: false, userFlags: false }],
    ['Synergy SIS', { demographics: true }, { contacts: true, demographics: true, userFlags: false }],
    ['Skyward', {}, { contacts: false, demographics: true, userFlags: false }],
    ['Eventful', {}, { contacts: true, demographics: false, userFlags: false }],
    ['Aeries', {}, { contacts: false, demographics: false, userFlags: false }],
    ['Aeries', { contacts: false, userFlags: false }, { contacts: false, demographics: false, userFlags: false }],
    ['custom', {}, { contacts: true, demographics: true, userFlags: true }],
    ['custom', { userFlags: false }, { contacts: true, demographics: true, userFlags: false }],
  ];
  for (const [name, req, want] of cases) assert.deepEqual({ ...resolveToggles(get(name), req) }, want, `${name} ${JSON.stringify(req)}`);
});

test('resolveToggles refuses a toggle the provider lacks, like the greyed-out SDS toggle', () => {
  assert.throws(() => resolveToggles(get('Aeries'), { contacts: true }), (err: unknown) => {
    assert.ok(err instanceof ToggleError);
    assert.equal(err.code, 'toggle_unavailable');
    assert.equal(err.providerId, 'aeries');
    assert.deepEqual(err.toggles, ['contacts']);
    assert.equal(err.message, 'Aeries does not support contacts in SDS; the contacts toggle is unavailable (greyed out).');
    return true;
  });
  assert.throws(() => resolveToggles(get('Skyward'), { contacts: true, userFlags: true, demographics: true }), (err: unknown) => {
    assert.ok(err instanceof ToggleError);
    assert.deepEqual(err.toggles, ['contacts', 'userFlags']);
    assert.match(err.message, /Skyward does not support user flags in SDS; the user flags toggle is unavailable/);
    return true;
  });
  assert.throws(() => resolveToggles(get('Informat'), { demographics: true }), /not listed in the SDS provider table/);
});

test('toggleStates describes each toggle for a settings screen', () => {
  const s = toggleStates(get('Skyward'));
  assert.deepEqual(s.map((x) => [x.toggle, x.available, x.defaultOn]), [['contacts', false, false], ['demographics', true, true], ['userFlags', false, false]]);
  assert.match(s[0]!.reason!, /greyed out/);
  assert.equal(s[1]!.reason, undefined);
});

test('canChoose: Yes always, Test only when flighted or promoted, unlisted never', () => {
  const none = { flighted: new Set<string>(), promoted: new Set<string>() };
  assert.deepEqual(canChoose(get('Aeries'), none), { ok: true, via: 'listed' });
  assert.deepEqual(canChoose(CUSTOM_PROVIDER, none), { ok: true, via: 'custom' });
  const cloud = get('CloudClass');
  const refused = canChoose(cloud, none);
  assert.equal(refused.ok, false);
  assert.match(!refused.ok ? refused.reason : '', /CloudClass has SDS status Test.*rostersync providers flight cloudclass/);
  assert.deepEqual(canChoose(cloud, { flighted: new Set(['cloudclass']), promoted: new Set() }), { ok: true, via: 'flighted' });
  assert.deepEqual(canChoose(cloud, { flighted: new Set(), promoted: new Set(['cloudclass']) }), { ok: true, via: 'promoted' });
  // flighting another provider does not help
  assert.equal(canChoose(cloud, { flighted: new Set(['zuria']), promoted: new Set() }).ok, false);
  const informat = canChoose(get('Informat'), none);
  assert.equal(informat.ok, false);
  assert.match(!informat.ok ? informat.reason : '', /not listed.*custom/);
  // NordicCloud: Test in Classic but Yes in SDS — the SDS status decides
  assert.equal(canChoose(get('NordicCloud'), none).ok, true);
});

test('effectiveStatus counts a local promotion from Test to Yes', () => {
  assert.equal(effectiveStatus(get('Zuria'), new Set()), 'Test');
  assert.equal(effectiveStatus(get('Zuria'), new Set(['zuria'])), 'Yes');
  assert.equal(effectiveStatus(get('Informat'), new Set(['informat'])), undefined);
});
