/**
 * Attributes that name a file. ONNX operators take their data from tensors, never from files;
 * an attribute that points at one (by its name, like `model_path` or EPContext's
 * `ep_cache_context`, or by a value that is a path, like `/etc/passwd` or `../x`) is a way for
 * a kernel, a custom operator or a future onnxruntime feature to read or write outside the
 * bundle. Refused wherever it appears: nodes of every graph and subgraph, and function defaults.
 */
import type { ScanFinding } from './findings.ts';
import { type ModelContents, qualifiedOp } from './walk.ts';

/** Attribute names that say "this is a file": `path`, `model_path`, `cache_file`, `ep_cache_context`, ... */
const FILE_NAMING_ATTRIBUTE =
  /(^|_)(path|paths|file|files|filename|filenames|filepath|dir|directory|folder|location|uri|url)$|^ep_cache_context$/i;

/** Values that are unmistakably file references, whatever the attribute is called. */
const PATH_VALUE = [
  /^\/[^/\s]/, // absolute POSIX path
  /^[a-zA-Z]:[\\/]/, // Windows drive
  /^\\\\/, // UNC share
  /^~[\\/]/, // home directory
  /^file:/i, // file URI
  /(^|[\\/])\.\.([\\/]|$)/, // a parent-directory segment
];

const decoder = new TextDecoder('utf-8');

/** The value for a message: quoted, NUL made visible, long ones shortened. */
function shown(value: string): string {
  const text = value.length > 80 ? `${value.slice(0, 77)}...` : value;
  return JSON.stringify(text);
}

/** True for an attribute name that means "a file". Exported for tests and the corpus. */
function namesFile(attributeName: string): boolean {
  return FILE_NAMING_ATTRIBUTE.test(attributeName);
}

/** True for a string value that is a file reference. */
function looksLikePath(value: string): boolean {
  return value.includes('\0') || PATH_VALUE.some((pattern) => pattern.test(value));
}

/** Every attribute (node attributes and function defaults) that names a file. */
export function checkAttributes(contents: ModelContents): ScanFinding[] {
  const findings: ScanFinding[] = [];
  for (const { attribute, node, location } of contents.attributes) {
    const values = [attribute.s, ...attribute.strings]
      .filter((bytes) => bytes.length > 0)
      .map((bytes) => decoder.decode(bytes));
    if (values.length === 0) continue;
    const owner = node ? `node ${JSON.stringify(node.name)} (${qualifiedOp(node)}) ` : 'function default ';
    const subject = `${owner}attribute ${JSON.stringify(attribute.name)}`;
    if (namesFile(attribute.name)) {
      findings.push({
        check: 'attributes',
        severity: 'error',
        message: `${subject} names a file (${shown(values[0] ?? '')}); attributes that name files are not accepted, ship the data as tensors`,
        location,
      });
      continue;
    }
    const path = values.find(looksLikePath);
    if (path !== undefined) {
      findings.push({
        check: 'attributes',
        severity: 'error',
        message: `${subject} holds a file path (${shown(path)}); attributes that name files are not accepted`,
        location,
      });
    }
  }
  return findings;
}
