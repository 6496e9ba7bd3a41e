import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { LoadTargetError, runLoad } from '../../serving/loadgen/run.ts';
import type { TransportKind } from '../../serving/loadgen/transport.ts';
import { repoPath } from '../support/paths.ts';
import { type StubAnswer, type StubRequest, type StubServer, startStubServer } from './stub-server.ts';

const HOLDOUT = repoPath('models/iris/holdout.csv');

/** The holdout's label for each row of features, so a stub can answer right or wrong on purpose. */
const LABELS = new Map(
  readFileSync(HOLDOUT, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => {
      const cells = line.split(',').map(Number);
      return [cells.slice(0, 4).join(','), cells[4] ?? -1] as const;
    }),
);
const labelOf = (request: StubRequest) => LABELS.get(request.data.join(',')) ?? -1;

let server: StubServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function stub(answer: (request: StubRequest) => StubAnswer): Promise<StubServer> {
  server = await startStubServer(answer);
  return server;
}

const base = (url: string) => ({ url, model: 'iris', holdout: HOLDOUT, preflight: false });

describe('runLoad', () => {
  it('open loop: offers the requested rate on a wall-clock schedule', async () => {
    const { url, seen } = await stub(() => ({ version: 'v1' }));
    const summary = await runLoad({ ...base(url), mode: { kind: 'rate', ratePerS: 200 }, durationMs: 1500 });
    expect(summary.mode).toBe('rate');
    expect(summary.offeredRate).toBe(200);
    expect(summary.stoppedBy).toBe('duration');
    // 1.5 s at 200/s is 300 slots (0 ms … 1495 ms).
    expect(summary.sent).toBeGreaterThanOrEqual(297);
    expect(summary.sent).toBeLessThanOrEqual(301);
    expect(seen.requests).toBe(summary.sent);
    expect(Math.abs((summary.sendRate ?? 0) - 200) / 200).toBeLessThan(0.03);
    expect(Math.abs(summary.achievedRate - 200) / 200).toBeLessThan(0.05);
    expect(summary.errors).toBe(0);
  });

  it('open loop: a server slower than the schedule allows shows up as late sends and a lower achieved rate', async () => {
    const { url } = await stub(() => ({ version: 'v1', delayMs: 50 }));
    const summary = await runLoad({
      ...base(url),
      mode: { kind: 'rate', ratePerS: 400, maxInFlight: 4 },
      durationMs: 1000,
    });
    // At most 4 in flight × 20 answers/s each = 80/s, far below 400/s: the shortfall is reported.
    expect(summary.achievedRate).toBeLessThan(120);
    expect(summary.lateSends).toBeGreaterThan(0);
    expect(summary.maxLagMs).toBeGreaterThan(100);
  });

  it('closed loop: keeps exactly N requests in flight and stops at the request bound', async () => {
    const { url, seen } = await stub(() => ({ version: 'v1', delayMs: 5 }));
    const summary = await runLoad({
      ...base(url),
      mode: { kind: 'concurrency', concurrency: 4 },
      requests: 123,
    });
    expect(seen.maxInFlight).toBe(4);
    expect(summary).toMatchObject({
      sent: 123,
      requests: 123,
      ok: 123,
      concurrency: 4,
      stoppedBy: 'requests',
    });
    expect(seen.requests).toBe(123);
  });

  it('stops at the duration bound', async () => {
    const { url } = await stub(() => ({ version: 'v1', delayMs: 2 }));
    const summary = await runLoad({
      ...base(url),
      mode: { kind: 'concurrency', concurrency: 2 },
      durationMs: 300,
    });
    expect(summary.stoppedBy).toBe('duration');
    expect(summary.durationS).toBeGreaterThanOrEqual(0.3);
    expect(summary.durationS).toBeLessThan(0.6);
    expect(summary.requests).toBeGreaterThan(20);
  });

  it('stops early on abort and still returns the summary', async () => {
    const { url } = await stub(() => ({ version: 'v1', delayMs: 1 }));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const summary = await runLoad(
      { ...base(url), mode: { kind: 'rate', ratePerS: 100 }, durationMs: 30_000 },
      { signal: controller.signal },
    );
    expect(summary.stoppedBy).toBe('interrupt');
    expect(summary.durationS).toBeLessThan(1);
    expect(summary.requests).toBe(summary.sent);
  });

  it.each<TransportKind>(['http', 'raw', 'fetch'])(
    'counts shares per version from the header and accuracy per version (%s transport)',
    async (transport) => {
      // Every fourth request goes to v2, which always predicts the wrong class.
      const { url } = await stub((request) =>
        request.n % 4 === 3
          ? { version: 'v2', prediction: (labelOf(request) + 1) % 3, chunked: true }
          : { version: 'v1', prediction: labelOf(request) },
      );
      const summary = await runLoad({
        ...base(url),
        transport,
        mode: { kind: 'concurrency', concurrency: 3 },
        requests: 400,
      });
      expect(summary.versions.v1).toMatchObject({ requests: 300, share: 0.75, accuracy: 1, scored: 300 });
      expect(summary.versions.v2).toMatchObject({ requests: 100, share: 0.25, accuracy: 0, scored: 100 });
      expect(summary.errors).toBe(0);
    },
  );

  it('counts errors by status, and timeouts as timeouts', async () => {
    const { url } = await stub((request) => {
      if (request.n % 10 === 0) return { status: 503, version: 'v2' };
      if (request.n % 10 === 1) return { status: 400 };
      if (request.n === 5) return { hang: true };
      return { version: 'v1', prediction: labelOf(request) };
    });
    const summary = await runLoad({
      ...base(url),
      mode: { kind: 'concurrency', concurrency: 2 },
      requests: 100,
      timeoutMs: 300,
    });
    expect(summary.errorsByStatus).toEqual({ '400': 10, '503': 10, timeout: 1 });
    expect(summary).toMatchObject({ requests: 100, ok: 79, errors: 21 });
    expect(summary.versions.v2).toMatchObject({ requests: 10, errors: 10, scored: 0 });
    expect(summary.firstError).toMatch(/^HTTP 503: .*stub says 503/);
  });

  it('sends route keys cycling over the callers, and the version pin', async () => {
    const { url, seen } = await stub(() => ({ version: 'v2' }));
    await runLoad({
      ...base(url),
      mode: { kind: 'concurrency', concurrency: 1 },
      requests: 50,
      routeKeyPrefix: 'user-',
      routeKeys: 7,
      pinVersion: 'v2',
    });
    const keys = new Set(seen.log.map((request) => request.headers['x-modelship-route-key']));
    expect([...keys].sort()).toEqual(['user-0', 'user-1', 'user-2', 'user-3', 'user-4', 'user-5', 'user-6']);
    expect(new Set(seen.log.map((request) => request.headers['x-modelship-version']))).toEqual(
      new Set(['v2']),
    );
  });

  it('cycles the holdout rows as single-row FP32 tensors', async () => {
    const { url, seen } = await stub(() => ({}));
    await runLoad({ ...base(url), mode: { kind: 'concurrency', concurrency: 1 }, requests: 46 });
    expect(seen.log[0]?.data).toEqual([7.3, 2.9, 6.3, 1.8]);
    expect(seen.log[45]?.data).toEqual(seen.log[0]?.data);
    expect(new Set(seen.log.slice(0, 45).map((r) => r.data.join(','))).size).toBe(45);
  });

  it('calls onProgress while running', async () => {
    const { url } = await stub(() => ({ version: 'v1' }));
    const seen: number[] = [];
    await runLoad(
      { ...base(url), mode: { kind: 'rate', ratePerS: 100 }, durationMs: 450, progressIntervalMs: 100 },
      { onProgress: (progress) => seen.push(progress.requests) },
    );
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
  });

  it('refuses to start when the server is unreachable, or has no such model', async () => {
    const { url } = await stub(() => ({ status: 404 }));
    await expect(
      runLoad({ ...base(url), preflight: true, mode: { kind: 'rate', ratePerS: 10 }, durationMs: 100 }),
    ).rejects.toThrow(/answered 404 for model "iris"/);
    const gone = url;
    await server?.close();
    server = undefined;
    await expect(
      runLoad({ ...base(gone), preflight: true, mode: { kind: 'rate', ratePerS: 10 }, durationMs: 100 }),
    ).rejects.toThrow(LoadTargetError);
  });

  it('needs a bound', async () => {
    await expect(
      runLoad({ ...base('http://127.0.0.1:9'), mode: { kind: 'rate', ratePerS: 1 } }),
    ).rejects.toThrow(/needs a bound/);
  });
});
