import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../worker/config.ts';

describe('loadConfig', () => {
  it('has defaults that reach a local dev server and keep state in .modelship/', () => {
    const config = loadConfig({}, '/work/repo');
    expect(config).toEqual({
      home: '/work/repo/.modelship',
      temporal: { address: 'localhost:7233', namespace: 'default', apiKey: undefined, tls: false },
      taskQueue: 'modelship',
      auditUrl: undefined,
      logLevel: 'WARN',
      dataPlane: { url: 'http://127.0.0.1:8000', adminToken: undefined },
      evidenceKeyPath: undefined,
      prometheus: { urls: {} },
      git: {},
      maxArtifactBytes: undefined,
      registry: { urls: {} },
      desiredStateUrl: undefined,
      dataPlaneMode: 'admin',
    });
  });

  it('reads the OCI registries bundles are pushed to, with a user and password or a token', () => {
    expect(
      loadConfig(
        {
          MODELSHIP_REGISTRY_URL: 'https://registry.example.com/',
          MODELSHIP_REGISTRY_URLS: 'production=https://prod-registry.example.com',
          MODELSHIP_REGISTRY_USERNAME: 'ci',
          MODELSHIP_REGISTRY_PASSWORD: 'pw',
        },
        '/',
      ).registry,
    ).toEqual({
      url: 'https://registry.example.com',
      urls: { production: 'https://prod-registry.example.com' },
      credentials: { username: 'ci', password: 'pw' },
    });
    expect(loadConfig({ MODELSHIP_REGISTRY_TOKEN: 't0k' }, '/').registry.credentials).toEqual({
      token: 't0k',
    });
    expect(() => loadConfig({ MODELSHIP_REGISTRY_USERNAME: 'ci' }, '/')).toThrow(/must be set together/);
    expect(() => loadConfig({ MODELSHIP_REGISTRY_URL: 'registry.example.com' }, '/')).toThrow(
      /MODELSHIP_REGISTRY_URL/,
    );
    expect(() => loadConfig({ MODELSHIP_REGISTRY_URLS: 'production:https://r' }, '/')).toThrow(
      /MODELSHIP_REGISTRY_URLS/,
    );
  });

  it("reads Git credentials for the workers' fetches and the artifact size limit, and refuses a bad limit", () => {
    const config = loadConfig(
      {
        MODELSHIP_GIT_TOKEN: 'ghs_secret',
        MODELSHIP_GIT_SSH_KEY: 'keys/deploy',
        MODELSHIP_GIT_KNOWN_HOSTS: '/etc/ssh/known',
        MODELSHIP_MAX_ARTIFACT_BYTES: '1048576',
      },
      '/work/repo',
    );
    expect(config.git).toEqual({
      token: 'ghs_secret',
      sshKeyPath: '/work/repo/keys/deploy',
      knownHostsPath: '/etc/ssh/known',
    });
    expect(config.maxArtifactBytes).toBe(1_048_576);
    for (const bad of ['0', '4GB', '-1', '1.5'])
      expect(() => loadConfig({ MODELSHIP_MAX_ARTIFACT_BYTES: bad }, '/')).toThrow(
        /MODELSHIP_MAX_ARTIFACT_BYTES.*whole number of bytes/,
      );
  });

  it('reads Prometheus servers for every environment or per environment, and refuses a bad list', () => {
    expect(
      loadConfig(
        {
          MODELSHIP_PROMETHEUS_URL: 'http://prom:9090',
          MODELSHIP_PROMETHEUS_URLS:
            'production=http://prom-prod:9090, staging=https://prom-stg.example.com/prometheus',
        },
        '/',
      ).prometheus,
    ).toEqual({
      url: 'http://prom:9090',
      urls: { production: 'http://prom-prod:9090', staging: 'https://prom-stg.example.com/prometheus' },
    });
    expect(() => loadConfig({ MODELSHIP_PROMETHEUS_URLS: 'production:http://prom:9090' }, '/')).toThrow(
      /MODELSHIP_PROMETHEUS_URLS: must be a comma-separated list of environment=URL pairs/,
    );
  });

  it('refuses a data plane URL that is not http(s), naming the variable', () => {
    expect(() => loadConfig({ MODELSHIP_DATA_PLANE_URL: '127.0.0.1:8000' }, '/')).toThrow(
      /MODELSHIP_DATA_PLANE_URL/,
    );
  });

  it('takes a PostgreSQL MODELSHIP_AUDIT_URL and refuses anything else without echoing it', () => {
    const url = 'postgresql://modelship:s3cret@db.internal:5432/audit';
    expect(loadConfig({ MODELSHIP_AUDIT_URL: ` ${url} ` }, '/').auditUrl).toBe(url);
    expect(loadConfig({ MODELSHIP_AUDIT_URL: '' }, '/').auditUrl).toBeUndefined();
    expect(() => loadConfig({ MODELSHIP_AUDIT_URL: 'mysql://root:s3cret@db/audit' }, '/')).toThrow(
      new Error(
        'invalid environment: MODELSHIP_AUDIT_URL: must be a postgres:// or postgresql:// URL ' +
          '(e.g. postgres://modelship@db:5432/modelship); unset it to keep the audit log in SQLite under MODELSHIP_HOME',
      ),
    );
  });

  it('treats TEMPORAL_TLS=false as false (no Boolean("false") surprise) and an API key as TLS', () => {
    expect(loadConfig({ TEMPORAL_TLS: 'false' }, '/').temporal.tls).toBe(false);
    expect(loadConfig({ TEMPORAL_TLS: '1' }, '/').temporal.tls).toBe(true);
    expect(loadConfig({ TEMPORAL_API_KEY: 'k' }, '/').temporal.tls).toBe(true);
  });

  it('rejects a TEMPORAL_TLS value it does not understand, naming the variable', () => {
    expect(() => loadConfig({ TEMPORAL_TLS: 'yes' }, '/')).toThrow(/TEMPORAL_TLS/);
  });

  it('resolves a relative MODELSHIP_HOME against the working directory', () => {
    expect(loadConfig({ MODELSHIP_HOME: 'state' }, '/work/repo').home).toBe('/work/repo/state');
  });
});
