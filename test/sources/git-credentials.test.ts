/**
 * How credentials reach Git: read from the worker's environment, sent only where they belong,
 * and cut out of every text a message is built from.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { authConfig, gitCredentialsFromEnv, redactor, sshCommand } from '../../sources/git/credentials.ts';
import { parseRepositoryUrl } from '../../sources/git/repository-url.ts';

describe('gitCredentialsFromEnv', () => {
  it('reads the token, user name and ssh files, blank values unset, paths absolute', () => {
    expect(
      gitCredentialsFromEnv({
        MODELSHIP_GIT_TOKEN: ' ghs_token ',
        MODELSHIP_GIT_USERNAME: '',
        MODELSHIP_GIT_SSH_KEY: 'keys/deploy',
        MODELSHIP_GIT_KNOWN_HOSTS: '/etc/ssh/known',
      }),
    ).toEqual({
      token: 'ghs_token',
      sshKeyPath: join(process.cwd(), 'keys/deploy'),
      knownHostsPath: '/etc/ssh/known',
    });
    expect(gitCredentialsFromEnv({})).toEqual({});
  });
});

describe('authConfig', () => {
  const token = 'ghs_token0123';
  const basic = Buffer.from(`x-access-token:${token}`).toString('base64');

  it('sends the token as Basic auth to the repository origin only, and follows no redirect', () => {
    expect(authConfig({ token }, parseRepositoryUrl('https://github.com/acme/models.git'))).toEqual([
      ['http.https://github.com/.extraHeader', `Authorization: Basic ${basic}`],
      ['http.followRedirects', 'false'],
    ]);
    const named = authConfig({ token, username: 'ci' }, parseRepositoryUrl('https://git.example.com/m.git'));
    expect(named[0]?.[1]).toBe(`Authorization: Basic ${Buffer.from(`ci:${token}`).toString('base64')}`);
  });

  it('never sends it in clear text across a network, nor over ssh or to a path', () => {
    expect(authConfig({ token }, parseRepositoryUrl('http://git.example.com/models.git'))).toEqual([]);
    expect(authConfig({ token }, parseRepositoryUrl('http://127.0.0.1:8080/models.git'))).toHaveLength(2);
    expect(authConfig({ token }, parseRepositoryUrl('git@github.com:acme/models.git'))).toEqual([]);
    expect(authConfig({ token }, parseRepositoryUrl('/srv/models'))).toEqual([]);
  });

  it('is nothing without a token', () => {
    expect(authConfig({}, parseRepositoryUrl('https://github.com/acme/models.git'))).toEqual([]);
  });
});

describe('redactor', () => {
  it('cuts the token, its Basic encoding and URL passwords out of text', () => {
    const token = 'ghs_token0123';
    const redact = redactor({ token });
    const basic = Buffer.from(`x-access-token:${token}`).toString('base64');
    expect(
      redact(`> Authorization: Basic ${basic}\nfatal: https://user:${token}@host/x.git and https://u:pw@h/y`),
    ).toBe('> Authorization: Basic ***\nfatal: https://user:***@host/x.git and https://u:***@h/y');
    expect(redactor({})('fatal: nothing secret')).toBe('fatal: nothing secret');
  });
});

describe('sshCommand', () => {
  it('never prompts, and with files offers only that key and accepts only those host keys', () => {
    expect(sshCommand({})).toBe(
      'ssh -o BatchMode=yes -o ConnectTimeout=30 -o ServerAliveInterval=15 -o ServerAliveCountMax=4',
    );
    expect(sshCommand({ sshKeyPath: "/keys/it's mine", knownHostsPath: '/keys/known hosts' })).toBe(
      'ssh -o BatchMode=yes -o ConnectTimeout=30 -o ServerAliveInterval=15 -o ServerAliveCountMax=4 ' +
        `-i '/keys/it'\\''s mine' -o IdentitiesOnly=yes ` +
        `-o UserKnownHostsFile='/keys/known hosts' -o StrictHostKeyChecking=yes`,
    );
  });
});
