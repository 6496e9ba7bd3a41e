/** The versions of the secret scanner actually installed, for the evidence manifest. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { z } from 'zod';

const SCANNER_PACKAGES = ['@secretlint/core', '@secretlint/secretlint-rule-preset-recommend'] as const;
type ScannerPackage = (typeof SCANNER_PACKAGES)[number];

const PackageJson = z.object({ name: z.string(), version: z.string() });

/**
 * `{ '@secretlint/core': '12.0.0', … }` read from the installed package.json files, not from our
 * own package.json: evidence must name what ran, whatever a lockfile drift installed.
 */
export function secretScannerVersions(): Record<ScannerPackage, string> {
  const require = createRequire(import.meta.url);
  const versionOf = (name: ScannerPackage): string => {
    const file = require.resolve(`${name}/package.json`);
    const parsed = PackageJson.parse(JSON.parse(readFileSync(file, 'utf8')));
    if (parsed.name !== name) throw new Error(`${file}: names package ${parsed.name}, expected ${name}`);
    return parsed.version;
  };
  return {
    '@secretlint/core': versionOf('@secretlint/core'),
    '@secretlint/secretlint-rule-preset-recommend': versionOf('@secretlint/secretlint-rule-preset-recommend'),
  };
}
