/** The KServe V2 REST protocol against a real server serving the committed iris models. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  call,
  infer,
  irisHoldout,
  irisRequest,
  makeBundle,
  outputsOf,
  scratchDir,
  startTestServer,
  type TestServer,
} from './support.ts';

describe('KServe V2 protocol', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let t: TestServer;
  let holdout: Awaited<ReturnType<typeof irisHoldout>>;

  beforeAll(async () => {
    dir = await scratchDir();
    holdout = await irisHoldout();
    t = await startTestServer();
    await t.admin.loadVersion({
      model: 'iris',
      version: 'v1',
      bundlePath: await makeBundle({ root: dir.path, version: 'v1' }),
    });
    await t.admin.loadVersion({
      model: 'iris',
      version: 'v2',
      bundlePath: await makeBundle({ root: dir.path, version: 'v2' }),
    });
  });
  afterAll(async () => {
    await t?.close();
    await dir?.remove();
  });

  it('holds readiness, not liveness, while the server says why (a replica not converged yet)', async () => {
    t.server.registry.holdReadiness('replica r1 has not applied the desired state of staging yet');
    try {
      expect(await call(`${t.url}/v2/health/live`)).toMatchObject({ status: 200 });
      const held = await call(`${t.url}/v2/health/ready`);
      expect(held.status).toBe(503);
      expect(JSON.stringify(held.body)).toContain('has not applied the desired state of staging yet');
    } finally {
      t.server.registry.holdReadiness(undefined);
    }
    expect((await call(`${t.url}/v2/health/ready`)).status).toBe(200);
  });

  it('answers health, server metadata and readiness', async () => {
    expect(await call(`${t.url}/v2/health/live`)).toMatchObject({ status: 200, body: { live: true } });
    expect(await call(`${t.url}/v2/health/ready`)).toMatchObject({ status: 200, body: { ready: true } });
    expect(await call(`${t.url}/v2`)).toMatchObject({ status: 200, body: { name: 'modelship' } });
    expect(await call(`${t.url}/v2/models/iris/ready`)).toMatchObject({
      status: 200,
      body: { name: 'iris', ready: true },
    });
    expect(await call(`${t.url}/v2/models/iris/versions/v2/ready`)).toMatchObject({
      status: 200,
      body: { name: 'iris', version: 'v2', ready: true },
    });
  });

  it('describes the model with KServe datatypes and -1 for dynamic dimensions', async () => {
    const reply = await call(`${t.url}/v2/models/iris`);
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({
      name: 'iris',
      versions: ['v1', 'v2'],
      platform: 'onnxruntime',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [
        { name: 'label', datatype: 'INT64', shape: [-1] },
        { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
      ],
    });
    const version = await call(`${t.url}/v2/models/iris/versions/v2`);
    expect(version.body).toMatchObject({ name: 'iris', versions: ['v2'], platform: 'onnxruntime' });
  });

  it('infers one row with flat data, echoing the id and naming the version', async () => {
    const reply = await infer(t.url, 'iris', irisRequest([holdout.rows[1] ?? []], { id: 'req-1' }));
    expect(reply.status).toBe(200);
    expect(reply.headers.get('x-modelship-version')).toBe('v1');
    expect(reply.body).toMatchObject({ model_name: 'iris', model_version: 'v1', id: 'req-1' });
    const [label, probabilities] = outputsOf(reply);
    expect(label).toEqual({ name: 'label', datatype: 'INT64', shape: [1], data: [1] });
    expect(probabilities?.shape).toEqual([1, 3]);
    expect(probabilities?.datatype).toBe('FP32');
    const sum = ((probabilities?.data ?? []) as number[]).reduce((a, b) => a + b, 0);
    expect(sum).toBeCloseTo(1, 5);
  });

  it('accepts nested data and answers a whole batch, one class per row', async () => {
    const rows = holdout.rows;
    const nested = { inputs: [{ name: 'input', shape: [rows.length, 4], datatype: 'FP32', data: rows }] };
    const flat = irisRequest(rows);
    const [a, b] = await Promise.all([infer(t.url, 'iris', nested), infer(t.url, 'iris', flat)]);
    expect(a.status).toBe(200);
    expect(outputsOf(a)).toEqual(outputsOf(b));
    const labels = outputsOf(a)[0]?.data as number[];
    expect(labels).toHaveLength(45);
    const correct = labels.filter((label, i) => label === holdout.labels[i]).length;
    // models/README.md: v1 scores 0.911 on the holdout, so 41 of 45.
    expect(correct).toBe(41);
  });

  it('returns only the outputs asked for, in the order asked', async () => {
    const reply = await infer(
      t.url,
      'iris',
      irisRequest([[5.1, 3.5, 1.4, 0.2]], { outputs: [{ name: 'probabilities' }] }),
    );
    expect(outputsOf(reply).map((output) => output.name)).toEqual(['probabilities']);
    const both = await infer(
      t.url,
      'iris',
      irisRequest([[5.1, 3.5, 1.4, 0.2]], { outputs: [{ name: 'probabilities' }, { name: 'label' }] }),
    );
    expect(outputsOf(both).map((output) => output.name)).toEqual(['probabilities', 'label']);
    expect(outputsOf(both)[1]?.data).toEqual([0]);
  });

  it('serves a given version under /versions/{version} and with the pin header', async () => {
    // Holdout row 30 is the one row where v1 (class 1) and v2 (class 2, the truth) disagree.
    const row = holdout.rows[30] ?? [];
    const byPath = await call(`${t.url}/v2/models/iris/versions/v2/infer`, { body: irisRequest([row]) });
    expect(byPath.status).toBe(200);
    expect(byPath.headers.get('x-modelship-version')).toBe('v2');
    expect(byPath.body).toMatchObject({ model_version: 'v2' });
    expect(outputsOf(byPath)[0]?.data).toEqual([2]);
    const byHeader = await infer(t.url, 'iris', irisRequest([row]), { 'x-modelship-version': 'v2' });
    expect(byHeader.headers.get('x-modelship-version')).toBe('v2');
    expect(outputsOf(byHeader)[0]?.data).toEqual([2]);
    const unpinned = await infer(t.url, 'iris', irisRequest([row]));
    expect(unpinned.headers.get('x-modelship-version')).toBe('v1');
    expect(outputsOf(unpinned)[0]?.data).toEqual([1]);
  });

  it('keeps one connection alive across requests', async () => {
    const { Agent, request } = await import('node:http');
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    const body = JSON.stringify(irisRequest([[5.1, 3.5, 1.4, 0.2]]));
    for (let i = 0; i < 5; i += 1) {
      await new Promise<void>((resolve, reject) => {
        const req = request(`${t.url}/v2/models/iris/infer`, { method: 'POST', agent }, (res) => {
          sockets.add(res.socket);
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', reject);
        req.end(body);
      });
    }
    agent.destroy();
    expect(sockets.size).toBe(1);
  });
});
