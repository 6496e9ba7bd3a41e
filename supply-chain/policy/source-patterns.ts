/**
 * `artifacts.allowedSources`: does a model source fall under one of the patterns? Pure string
 * work with POSIX semantics, since sources are written with `/` in specs.
 *
 * - A pattern with `*` or `?` is a glob over the whole source: `*` and `?` stay within one path
 *   segment, `**` crosses segments (`models/**` admits `models/iris/v2/model.onnx`).
 * - Any other repository pattern names a file or a folder: `models` admits `models/x.onnx` but
 *   not `models-old/x.onnx`.
 * - Any other URI pattern is a prefix; the schema makes it end past the host, so
 *   `https://models.example.com/` cannot admit `https://models.example.com.attacker.test/`.
 */
import { normalizeRepoPath } from '../../specs/locations.ts';

const URI = /^[a-z][a-z0-9+.-]*:\/\//i;

/** The first pattern that admits `source`, or `undefined` when none does. */
export function matchingSourcePattern(source: string, patterns: readonly string[]): string | undefined {
  // `./models/../models/x.onnx` is `models/x.onnx` to the worker; judge what it will read.
  const subject = URI.test(source) ? source : (normalizeRepoPath(source) ?? source);
  return patterns.find((pattern) => admits(pattern, subject));
}

function admits(pattern: string, source: string): boolean {
  if (/[*?]/.test(pattern)) return globToRegExp(stripDotSlash(pattern)).test(source);
  if (URI.test(pattern)) return source.startsWith(pattern);
  if (URI.test(source)) return false;
  const folder = stripDotSlash(pattern).replace(/\/+$/, '');
  return source === folder || source.startsWith(`${folder}/`);
}

function stripDotSlash(pattern: string): string {
  return pattern.replace(/^(\.\/)+/, '');
}

/** A glob as an anchored regular expression. */
export function globToRegExp(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const char = glob.charAt(i);
    if (char === '*' && glob[i + 1] === '*') {
      // `**/` also matches no folder at all: `models/**/model.onnx` admits `models/model.onnx`.
      if (glob[i + 2] === '/') {
        out += '(?:.*/)?';
        i += 2;
      } else {
        out += '.*';
        i += 1;
      }
    } else if (char === '*') {
      out += '[^/]*';
    } else if (char === '?') {
      out += '[^/]';
    } else {
      out += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${out}$`);
}
