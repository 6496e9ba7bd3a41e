import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTemporalCli } from '../../worker/temporal-cli.ts';

let dir: string;
let fakeOnPath: string;
let explicit: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelship-cli-'));
  fakeOnPath = join(dir, 'temporal');
  explicit = join(dir, 'my-temporal');
  for (const file of [fakeOnPath, explicit]) {
    await writeFile(file, '#!/bin/sh\n');
    await chmod(file, 0o755);
  }
});

afterAll(() => rm(dir, { recursive: true, force: true }));

describe('findTemporalCli', () => {
  it('prefers $TEMPORAL_CLI over PATH', () => {
    expect(findTemporalCli({ TEMPORAL_CLI: explicit, PATH: dir })).toEqual({
      path: explicit,
      source: 'TEMPORAL_CLI',
    });
  });

  it('uses `temporal` on PATH when TEMPORAL_CLI is unset', () => {
    expect(findTemporalCli({ PATH: dir })).toEqual({ path: fakeOnPath, source: 'PATH' });
  });

  it('names a TEMPORAL_CLI that is not executable', () => {
    expect(() => findTemporalCli({ TEMPORAL_CLI: join(dir, 'missing'), PATH: '' })).toThrow(
      /TEMPORAL_CLI=.*missing is not an executable file/,
    );
  });
});
