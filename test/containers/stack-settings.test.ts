/**
 * The stack's settings against compose.yaml: the defaults `modelship stack up` assumes are the ones
 * compose.yaml spells, so the HAProxy and Prometheus files it writes name the ports the services
 * really use; bad ports are refused by name; the healer acts only on killed or unhealthy containers.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EngineContainer } from '../../containers/engine-api.ts';
import { createHealer, healAction } from '../../containers/healer.ts';
import { writeStackFiles } from '../../containers/stack-files.ts';
import {
  haproxyConfig,
  prometheusConfig,
  STACK_PORT_DEFAULTS,
  STACK_VALUE_DEFAULTS,
  stackSettings,
} from '../../containers/stack-settings.ts';
import { SEARCH_ATTRIBUTE_FLAGS } from '../../workflows/search-attributes.ts';
import { repoPath } from '../support/paths.ts';

const composeText = await readFile(repoPath('compose.yaml'), 'utf8');
const composeDefaults = new Map<string, Set<string>>();
for (const match of composeText.matchAll(/\$\{(MODELSHIP_[A-Z0-9_]+):-([^}]*)\}/g)) {
  const [, name, value] = match as unknown as [string, string, string];
  composeDefaults.set(name, (composeDefaults.get(name) ?? new Set()).add(value));
}

describe('stack settings', () => {
  it('use the defaults compose.yaml spells, one per variable', () => {
    const ours: Record<string, string> = {
      ...Object.fromEntries(Object.entries(STACK_PORT_DEFAULTS).map(([name, port]) => [name, String(port)])),
      ...STACK_VALUE_DEFAULTS,
    };
    for (const [name, values] of composeDefaults) {
      if (!(name in ours)) continue; // runtime values (project, socket, stack dir) set by `stack up`
      expect([...values], name).toEqual([ours[name]]);
    }
    // Every setting but the balancer's port (which only haproxy.cfg names) is read by compose.yaml.
    for (const name of Object.keys(ours)) {
      if (name === 'MODELSHIP_STACK_LOADBALANCER_PORT') continue;
      expect(composeDefaults.has(name), name).toBe(true);
    }
  });

  it("register every search attribute the workflows set on compose.yaml's Temporal", () => {
    for (const flag of SEARCH_ATTRIBUTE_FLAGS) expect(composeText).toContain(`- --search-attribute=${flag}`);
  });

  it('refuse a port that is not one, and two services on one port, naming the variables', () => {
    expect(() => stackSettings({ MODELSHIP_STACK_POSTGRES_PORT: '70000' }, '/x')).toThrow(
      /MODELSHIP_STACK_POSTGRES_PORT="70000" is not a TCP port/,
    );
    expect(() => stackSettings({ MODELSHIP_STACK_REGISTRY_PORT: '5k' }, '/x')).toThrow(
      /MODELSHIP_STACK_REGISTRY_PORT/,
    );
    expect(() => stackSettings({ MODELSHIP_STACK_PROMETHEUS_PORT: '8101' }, '/x')).toThrow(
      /MODELSHIP_STACK_PROMETHEUS_PORT and MODELSHIP_STACK_REPLICA_1_PORT both say port 8101/,
    );
  });

  it('write HAProxy and Prometheus files naming the ports set', () => {
    const settings = stackSettings(
      { MODELSHIP_STACK_REPLICA_1_PORT: '9101', MODELSHIP_STACK_LOADBALANCER_PORT: '9000' },
      '/x',
    );
    expect(haproxyConfig(settings)).toContain('bind 127.0.0.1:9000');
    expect(haproxyConfig(settings)).toContain('server replica-1 127.0.0.1:9101 check');
    expect(prometheusConfig(settings)).toContain("targets: ['127.0.0.1:9101']");
    expect(prometheusConfig(settings)).toContain("targets: ['127.0.0.1:8102']");
    // The workers' health servers, where the monitors' findings are counted.
    expect(prometheusConfig(settings)).toContain(
      "targets: ['127.0.0.1:8081']\n        labels: { worker: worker-1 }",
    );
  });

  it('make the secrets once, keep them, and refuse an incomplete set', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'modelship-stack-files-'));
    try {
      const settings = stackSettings({}, dir);
      const first = await writeStackFiles(settings);
      expect(first.createdSecrets).toBe(true);
      const key = await readFile(first.evidenceKey, 'utf8');
      expect(key).toContain('PRIVATE KEY');
      expect((await stat(join(dir, 'secrets'))).mode & 0o777).toBe(0o700);
      const feedback = await readFile(first.feedbackToken, 'utf8');
      expect(feedback.trim()).not.toBe((await readFile(first.adminToken, 'utf8')).trim());
      const again = await writeStackFiles(settings);
      expect(again.createdSecrets).toBe(false);
      expect(await readFile(again.evidenceKey, 'utf8')).toBe(key);
      expect(await readFile(again.feedbackToken, 'utf8')).toBe(feedback);
      // A stack set up before feedback existed gets its token on the next start, keeping the rest.
      await rm(first.feedbackToken);
      const upgraded = await writeStackFiles(settings);
      expect(upgraded.createdSecrets).toBe(false);
      expect((await readFile(upgraded.feedbackToken, 'utf8')).trim()).toMatch(/^[A-Za-z0-9_-]{43}$/);
      await rm(first.adminToken);
      await expect(writeStackFiles(settings)).rejects.toThrow(
        /only some of evidence.key, evidence.pub and admin-token/,
      );
      await writeFile(first.adminToken, 'x');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

const container = (over: Partial<EngineContainer>): EngineContainer => ({
  id: 'c1',
  name: 'p_replica-1_1',
  service: 'replica-1',
  state: 'running',
  exitCode: 0,
  health: 'healthy',
  ...over,
});

describe('the healer', () => {
  it('starts a killed container, restarts an unhealthy one, leaves a cleanly stopped one alone', () => {
    expect(healAction(container({ state: 'exited', exitCode: 137 }))).toBe('start');
    expect(healAction(container({ health: 'unhealthy' }))).toBe('restart');
    expect(healAction(container({ state: 'exited', exitCode: 0 }))).toBe('none');
    expect(healAction(container({ state: 'exited', exitCode: 143 }))).toBe('none');
    expect(healAction(container({ health: 'starting' }))).toBe('none');
    expect(healAction(container({ state: 'restarting', exitCode: 137 }))).toBe('none');
  });

  it('acts once per grace period on a container, and asks only for its project and label', async () => {
    let clock = 0;
    const calls: string[] = [];
    const healOnce = createHealer({
      project: 'p',
      graceMs: 60_000,
      now: () => clock,
      engine: {
        containers: async (labels) => {
          calls.push(`list ${labels.join(' ')}`);
          return [container({ state: 'exited', exitCode: 137 })];
        },
        start: async (id) => {
          calls.push(`start ${id}`);
        },
        restart: async () => {},
      },
    });
    expect(await healOnce()).toEqual({ 'p_replica-1_1': 'start' });
    clock = 30_000;
    expect(await healOnce()).toEqual({});
    clock = 61_000;
    expect(await healOnce()).toEqual({ 'p_replica-1_1': 'start' });
    expect(calls[0]).toBe('list com.docker.compose.project=p modelship.heal=true');
    expect(calls.filter((call) => call.startsWith('start'))).toHaveLength(2);
  });
});
