import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RetryBudget, abortableSleep, classifyNetworkError, isRetryableStatus, parseRetryAfter, retryDelay } from './retry.ts';
import { Semaphore, TokenBucket } from './limiter.ts';
import { SourceError, parseImsxStatus, sanitizeProviderText } from './errors.ts';
import { fakeClock } from './test-support.ts';

const policy = { maxAttempts: 4, maxElapsedMs: 10_000, baseDelayMs: 100, maxDelayMs: 1_000 };

test('Retry-After: delta-seconds, HTTP-date, past date, garbage', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  assert.equal(parseRetryAfter('3', now), 3000);
  assert.equal(parseRetryAfter(' 0 ', now), 0);
  assert.equal(parseRetryAfter('Wed, 01 Jan 2025 00:00:07 GMT', now), 7000);
  assert.equal(parseRetryAfter('Tue, 31 Dec 2024 23:00:00 GMT', now), 0);
  assert.equal(parseRetryAfter('soon', now), undefined);
  assert.equal(parseRetryAfter(undefined, now), undefined);
});

test('backoff: full jitter within the exponential ceiling, Retry-After capped by maxDelayMs', () => {
  assert.equal(retryDelay(1, policy, undefined, () => 0.999), 99);
  assert.equal(retryDelay(3, policy, undefined, () => 0.5), 200);
  assert.equal(retryDelay(10, policy, undefined, () => 0.999), 999);
  assert.equal(retryDelay(1, policy, undefined, () => 0), 0);
  assert.equal(retryDelay(1, policy, 5_000, () => 0.5), 1_000);
  assert.equal(retryDelay(1, policy, 250, () => 0.5), 250);
});

test('RetryBudget stops at maxAttempts and before the elapsed cap would be passed', () => {
  const clock = fakeClock();
  const b = new RetryBudget(policy, clock, () => 1);
  for (let i = 0; i < 3; i++) {
    b.begin();
    const d = b.next(undefined);
    assert.equal(d.retry, true);
  }
  b.begin();
  assert.deepEqual(b.next(undefined), { retry: false, reason: 'attempts' });

  const b2 = new RetryBudget({ ...policy, maxAttempts: 100, maxElapsedMs: 1_500 }, clock, () => 1);
  b2.begin();
  clock.t += 1_000;
  assert.equal(b2.next(400).retry, true);
  assert.deepEqual(b2.next(600), { retry: false, reason: 'elapsed' });
});

test('retryable statuses and network errors', () => {
  assert.deepEqual([429, 502, 503, 504].map(isRetryableStatus), [true, true, true, true]);
  assert.deepEqual([400, 401, 403, 404, 500, 501].map(isRetryableStatus), [false, false, false, false, false, false]);
  assert.equal(classifyNetworkError(Object.assign(new Error('x'), { code: 'ECONNRESET' })).retry, true);
  assert.equal(classifyNetworkError(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' })).retry, true);
  assert.equal(classifyNetworkError(new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code: 'ECONNRESET' }) })).retry, true);
  assert.deepEqual(classifyNetworkError(Object.assign(new Error('t'), { code: 'UND_ERR_HEADERS_TIMEOUT' })), { retry: true, cause: 'UND_ERR_HEADERS_TIMEOUT', timeout: true });
  assert.equal(classifyNetworkError(Object.assign(new Error('x'), { code: 'ENOTFOUND' })).retry, false);
  assert.equal(classifyNetworkError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })).retry, false);
});

test('abortableSleep rejects with aborted', async () => {
  const ac = new AbortController();
  const p = abortableSleep(10_000, ac.signal);
  ac.abort();
  await assert.rejects(p, (e: unknown) => e instanceof SourceError && e.code === 'aborted');
});

test('Semaphore: at most N holders, FIFO hand-over, abort while waiting', async () => {
  const s = new Semaphore(2);
  const r1 = await s.acquire();
  const r2 = await s.acquire();
  assert.equal(s.inUse, 2);
  const order: number[] = [];
  const p3 = s.acquire().then((r) => { order.push(3); return r; });
  const ac = new AbortController();
  const p4 = s.acquire(ac.signal);
  const p5 = s.acquire().then((r) => { order.push(5); return r; });
  ac.abort();
  await assert.rejects(p4, (e: unknown) => e instanceof SourceError && e.code === 'aborted');
  r1();
  r1(); // idempotent
  const r3 = await p3;
  assert.equal(s.inUse, 2);
  r2();
  const r5 = await p5;
  assert.deepEqual(order, [3, 5]);
  r3();
  r5();
  assert.equal(s.inUse, 0);
});

test('TokenBucket spaces requests at the configured rate', async () => {
  const clock = fakeClock();
  const b = new TokenBucket(2, clock);
  const t0 = clock.t;
  const times: number[] = [];
  await Promise.all([0, 1, 2, 3].map(() => b.take().then(() => times.push(clock.t - t0))));
  assert.deepEqual(times, [0, 500, 1000, 1500]);
});

test('imsx status parsing: 1.1 statusInfoSet, 1.2 bare object, codeMinor object or string', () => {
  assert.deepEqual(parseImsxStatus({ statusInfoSet: [{ imsx_codeMajor: 'failure', imsx_severity: 'error', imsx_description: 'Unknown filter field: foo', imsx_codeMinor: 'invalid_filter_field' }] }), {
    codeMajor: 'failure', severity: 'error', codeMinor: 'invalid_filter_field', description: 'Unknown filter field: foo',
  });
  assert.deepEqual(parseImsxStatus({
    imsx_codeMajor: 'failure', imsx_severity: 'error', imsx_description: 'bad',
    imsx_CodeMinor: { imsx_codeMinorField: [{ imsx_codeMinorFieldName: 'TargetEndSystem', imsx_codeMinorFieldValue: 'invaliddata' }] },
  }), { codeMajor: 'failure', severity: 'error', codeMinor: 'invaliddata', description: 'bad' });
  assert.equal(parseImsxStatus({ imsx_StatusInfo: { imsx_codeMajor: 'failure', imsx_codeMinor: 'x' } })?.codeMinor, 'x');
  assert.equal(parseImsxStatus({ users: [] }), undefined);
  assert.equal(parseImsxStatus('<html>'), undefined);
});

test('provider text is shortened and e-mail addresses / secrets are masked', () => {
  assert.equal(sanitizeProviderText('no user jane.doe@school.org here, secret hunter22', ['hunter22']), 'no user <email> here, secret ***');
  assert.equal(sanitizeProviderText('x'.repeat(500)).length, 300);
});
