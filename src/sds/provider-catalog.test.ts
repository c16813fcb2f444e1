import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CUSTOM_PROVIDER,
  PROVIDERS,
  connectionHints,
  filterProviders,
  findProvider,
  formatSetupGuide,
  type Provider,
} from './provider-catalog.ts';

function get(nameOrId: string): Provider {
  const p = findProvider(nameOrId);
  assert.ok(p !== undefined, `provider ${nameOrId}`);
  return p;
}

test('the catalog holds the 46 table rows in the seed order, then Informat, then custom', () => {
  const listed = PROVIDERS.filter((p) => p.listed);
  assert.equal(listed.length, 46);
  assert.equal(PROVIDERS.length, 48);
  assert.equal(listed[0]!.name, 'Aequitas Q');
  assert.equal(listed[45]!.name, 'Zuria');
  assert.equal(PROVIDERS[46]!.id, 'informat');
  assert.equal(PROVIDERS[47], CUSTOM_PROVIDER);
  // 36 detail tables in the seed, every one attached to a provider
  assert.equal(PROVIDERS.filter((p) => p.details !== undefined).length, 36);
});

test('ids are unique kebab-case slugs', () => {
  const ids = PROVIDERS.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const id of ids) assert.match(id, /^[a-z0-9]+(-[a-z0-9]+)*$/, id);
  assert.equal(get('VULCAN UONET+').id, 'vulcan-uonet');
  assert.equal(get('Infinite Campus').id, 'infinite-campus');
});

test('statuses and capabilities exactly as the seed table says (spot checks)', () => {
  const rows: Array<[string, string | undefined, string | undefined, boolean, boolean, boolean]> = [
    // name, SDS (Classic), SDS, contacts, demographics, user flags
    ['Aequitas Q', 'Yes', 'Yes', true, true, false],
    ['Aeries', 'Yes', 'Yes', false, false, false],
    ['Bubblecon', 'No', 'Yes', false, false, false],
    ['CloudClass', 'No', 'Test', false, false, false],
    ['Eventful', 'Yes', 'Yes', true, false, false],
    ['Follett Aspen', 'Test', 'Test', false, false, false],
    ['NordicCloud', 'Test', 'Yes', false, false, false],
    ['Skyward', 'Yes', 'Yes', false, true, false],
    ['Synergy SIS', 'Yes', 'Yes', true, true, false],
    ['Visma InSchool', 'Test', 'Yes', false, false, false],
    ['Zuria', 'No', 'Test', true, true, false],
  ];
  for (const [name, classic, sds, contacts, demographics, userFlags] of rows) {
    const p = get(name);
    assert.equal(p.classicStatus, classic, `${name} classic`);
    assert.equal(p.status, sds, `${name} status`);
    assert.deepEqual({ ...p.supports }, { contacts, demographics, userFlags }, `${name} supports`);
  }
  // No row supports user flags; no row has SDS status No.
  assert.equal(filterProviders({ supports: 'userFlags' }).length, 0);
  assert.equal(filterProviders({ status: 'No' }).length, 0);
});

test('source glitches are tidied and detail-only vendors keep no invented status', () => {
  const my = get('myschool');
  assert.equal(my.name, 'MySchool');
  for (const p of PROVIDERS) assert.ok(!p.name.includes('](#'), p.name);
  assert.equal(my.details?.vendor, 'MySchool Ltd');
  const informat = get('Informat');
  assert.equal(informat.listed, false);
  assert.equal(informat.status, undefined);
  assert.equal(informat.classicStatus, undefined);
  assert.equal(informat.supports, undefined);
  assert.ok(informat.details?.specificInstructions?.endsWith('Koppeling-Office-365'), 'trailing | removed');
});

test('vendor details are attached to the right providers, including renamed vendors', () => {
  assert.equal(get('Aequitas Q').details?.vendor, 'Aequitas Solutions, Inc');
  assert.equal(get('Aequitas Q').details?.help, 'Contact Support at (909) 946-1600');
  assert.equal(get('rediker software').details?.vendor, 'TeacherPlus Gradebook by Rediker Software');
  assert.equal(get('Eum School SIS').details?.vendor, 'DataEum');
  assert.equal(get('INACAP API SDS').details?.vendor, 'INACAP SDS API');
  assert.equal(get('Skyward').details?.minimumVersion, '05.20.10.00.10');
  assert.equal(get('Bubblecon').details?.minimumVersion, undefined);
  assert.equal(get('Bubblecon').details?.specificInstructions, 'Reachout to Bubblecon Customer support team.');
  assert.deepEqual(get('ClassLink').details?.notes, ['If there are issues connecting, ensure that the Web Access URL has "/ims/oneroster/v1p1" to point to the correct connectors.']);
  assert.equal(get('CloudClass').details, undefined);
});

test('findProvider: by id, table name, vendor name; case and spacing ignored', () => {
  assert.equal(findProvider('aeries')?.name, 'Aeries');
  assert.equal(findProvider('  AERIES ')?.name, 'Aeries');
  assert.equal(findProvider('infinite campus')?.id, 'infinite-campus');
  assert.equal(findProvider('Infinite_Campus')?.id, 'infinite-campus');
  assert.equal(findProvider('LIBRUS')?.id, 'librus');
  assert.equal(findProvider('iSAMS by IRIS')?.id, 'isams');
  assert.equal(findProvider('dataeum')?.id, 'eum-school-sis');
  assert.equal(findProvider('custom'), CUSTOM_PROVIDER);
  assert.equal(findProvider('PowerSchool'), undefined);
  assert.equal(findProvider(''), undefined);
});

test('filterProviders by status and capability', () => {
  const test = filterProviders({ status: 'Test' }).map((p) => p.name);
  assert.deepEqual(test, ['CloudClass', 'Follett Aspen', 'Fujitsu', 'INACAP API SDS', 'Infinitas Learning', 'Michigan Data Hub', 'Realtime', 'Sycamore School', 'Zuria']);
  assert.equal(filterProviders({ status: 'Yes' }).length, 37);
  assert.deepEqual(filterProviders({ status: 'not-listed' }).map((p) => p.id), ['informat']);
  assert.deepEqual(filterProviders({ supports: ['contacts', 'demographics'] }).map((p) => p.name), ['Aequitas Q', 'Blackbaud Education Management', 'Eum School SIS', 'Synergy SIS', 'Zuria']);
  assert.deepEqual(filterProviders({ status: 'Test', supports: 'contacts' }).map((p) => p.name), ['Zuria']);
  assert.deepEqual(filterProviders({ classicStatus: 'No' }).map((p) => p.name), ['Bubblecon', 'CloudClass', 'Eum School SIS', 'Fujitsu', 'Zuria']);
  assert.equal(filterProviders().length, 47);
  assert.equal(filterProviders({ includeCustom: true }).length, 48);
  assert.ok(filterProviders({ supports: 'contacts', includeCustom: true }).includes(CUSTOM_PROVIDER));
});

test('formatSetupGuide shows statuses, vendor details, notes and hints', () => {
  const ic = formatSetupGuide(get('Infinite Campus'));
  assert.match(ic, /^Infinite Campus \(id: infinite-campus\)/);
  assert.match(ic, /SDS status: Yes {4}SDS \(Classic\) status: Yes/);
  assert.match(ic, /Minimum version of software:\n {2}For roster provisioning, the minimum version is Campus\.1821\./);
  assert.match(ic, /period/);
  for (const line of ic.split('\n')) assert.ok(line.length <= 100, `line too long: ${line}`);
  const cloud = formatSetupGuide(get('CloudClass'));
  assert.match(cloud, /SDS status: Test/);
  assert.match(cloud, /rostersync providers flight cloudclass/);
  assert.match(cloud, /no vendor details/);
  assert.match(formatSetupGuide(get('Informat')), /SDS status: not listed/);
  assert.match(formatSetupGuide(CUSTOM_PROVIDER), /Any OneRoster 1\.1 REST API/);
  assert.match(formatSetupGuide(get('Aeries')), /Optional data: contacts no, demographics no, user flags no/);
});

test('connectionHints: ClassLink URL path, Infinite Campus period, token URL', () => {
  const classlink = get('ClassLink');
  assert.deepEqual(connectionHints(classlink, { baseUrl: 'https://x.oneroster.com/ims/oneroster/v1p1' }), { errors: [], warnings: [] });
  const bad = connectionHints(classlink, { baseUrl: 'https://x.oneroster.com/' });
  assert.equal(bad.errors.length, 1);
  assert.match(bad.errors[0]!, /\/ims\/oneroster\/v1p1/);
  assert.match(connectionHints(classlink, { baseUrl: 'https://x.oneroster.com/ims/OneRoster/v1p1' }).errors[0]!, /another letter case/);

  const ic = connectionHints(get('infinite-campus'), { baseUrl: 'https://ic.example/campus/api/ims/oneroster/v1p1' });
  assert.deepEqual(ic.errors, []);
  assert.equal(ic.warnings.length, 1);
  assert.match(ic.warnings[0]!, /"period" is not selected/);

  const aeries = get('Aeries');
  assert.deepEqual(connectionHints(aeries, { baseUrl: 'https://a.example/ims/oneroster/v1p1', tokenUrl: 'https://a.example/token' }), { errors: [], warnings: [] });
  assert.match(connectionHints(aeries, { baseUrl: 'https://a.example/ims/oneroster/v1p1', tokenUrl: 'https://a.example/ims/oneroster/v1p1/' }).errors[0]!, /Access Token URL is the same/);
});
