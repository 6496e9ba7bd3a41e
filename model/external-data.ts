/**
 * External data: tensors whose bytes live in another file, named by `external_data` entries
 * (`location`, `offset`, `length`, `checksum`). onnxruntime resolves `location` against the model
 * file's directory (the bundle) and reads `length` bytes from `offset`, so every part of that is
 * checked: the path may not leave the bundle (lexically, or through symlinks once resolved), the
 * entries must be unambiguous and well formed, and the byte range must lie inside the file and
 * be exactly as long as the tensor's dims and data type say.
 */
import { realpath, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { isAbsolute as isAbsolutePosix, normalize } from 'node:path/posix';
import { hasErrorCode, isWithin } from './files.ts';
import type { ScanFinding } from './findings.ts';
import { DATA_LOCATION_EXTERNAL, type TensorProto } from './proto.ts';
import { dataTypeName, dimsText, STRING_DATA_TYPE, tensorByteSize } from './tensor-size.ts';
import type { ModelContents, TensorSite } from './walk.ts';

const KNOWN_KEYS = new Set(['location', 'offset', 'length', 'checksum']);

/**
 * onnxruntime's marker for "the offset is a memory address in this process" (used for
 * initializers it creates itself). In a model file it would make onnxruntime read arbitrary
 * process memory, so it is refused by name.
 */
const ORT_MEMORY_ADDRESS_TAG = '*/_ORT_MEM_ADDR_/*';

/** Whether the tensor's payload lives in another file (marked EXTERNAL, or carrying entries). */
export function isExternal(tensor: TensorProto): boolean {
  return tensor.dataLocation === DATA_LOCATION_EXTERNAL || tensor.externalData.length > 0;
}

/** Tensors whose payload lives in another file. */
export function externalTensors(contents: ModelContents): TensorSite[] {
  return contents.tensors.filter(({ tensor }) => isExternal(tensor));
}

/**
 * Why an external-data `location` is unsafe, or undefined when it is a plain relative path.
 * Anything that can leave the model's directory (absolute, `..`, Windows separators it might
 * honour, NUL truncation) is refused.
 */
function unsafeLocationReason(location: string): string | undefined {
  if (location === '') return 'is empty';
  if (location.includes('\0')) return 'contains a NUL byte';
  if (location === ORT_MEMORY_ADDRESS_TAG) return "is onnxruntime's in-memory address tag";
  if (location.includes('\\')) return 'contains a backslash';
  if (isAbsolutePosix(location) || /^[a-zA-Z]:/.test(location)) return 'is an absolute path';
  if (location.split('/').includes('..')) return 'contains a ".." segment';
  if (normalize(location) === '.') return "names the model's own directory";
  return undefined;
}

/** The tensor's external-data entries, parsed; `problems` say what is wrong with them. */
interface ExternalReference {
  location: string | undefined;
  offset: number;
  length: number | undefined;
  problems: string[];
}

function parseEntries(tensor: TensorProto): ExternalReference {
  const reference: ExternalReference = { location: undefined, offset: 0, length: undefined, problems: [] };
  const counts = new Map<string, number>();
  for (const { key, value } of tensor.externalData) {
    counts.set(key, (counts.get(key) ?? 0) + 1);
    if (!KNOWN_KEYS.has(key)) {
      reference.problems.push(`has an unknown external_data key ${JSON.stringify(key)}`);
    } else if (key === 'location') {
      reference.location ??= value;
    } else if (key === 'offset' || key === 'length') {
      // Canonical decimal only: parsers disagree on "0x10", " 16", "-1" (stoull wraps it).
      const number = /^\d{1,16}$/.test(value) ? Number(value) : Number.NaN;
      if (!Number.isSafeInteger(number)) {
        reference.problems.push(
          `has external_data ${key} ${JSON.stringify(value)}, which is not a non-negative decimal integer`,
        );
      } else if (key === 'offset') {
        reference.offset = number;
      } else {
        reference.length = number;
      }
    }
  }
  for (const [key, count] of counts) {
    if (count > 1 && KNOWN_KEYS.has(key)) {
      reference.problems.push(
        `has ${count} ${JSON.stringify(key)} entries in external_data; readers disagree on which one counts`,
      );
    }
  }
  return reference;
}

/**
 * What can be said without the file system: entries well formed, location lexically safe. A
 * safe reference is still a warning, because a bundle carries model.onnx alone and the tensor's
 * bytes would be missing where it is served.
 */
export function checkExternalData(contents: ModelContents): ScanFinding[] {
  const findings: ScanFinding[] = [];
  for (const { tensor, location: at } of externalTensors(contents)) {
    const name = JSON.stringify(tensor.name);
    const error = (message: string) =>
      findings.push({ check: 'external-data', severity: 'error', message, location: at });
    const reference = parseEntries(tensor);
    for (const problem of reference.problems) error(`tensor ${name} ${problem}`);
    if (tensor.dataType === STRING_DATA_TYPE) {
      error(`tensor ${name} is a STRING tensor marked as external data; strings cannot be stored externally`);
    }
    const { location } = reference;
    if (location === undefined) {
      error(`tensor ${name} is marked as external data but names no location`);
      continue;
    }
    const reason = unsafeLocationReason(location);
    if (reason) {
      error(`tensor ${name} reads external data from ${JSON.stringify(location)}, which ${reason}`);
      continue;
    }
    findings.push({
      check: 'external-data',
      severity: 'warning',
      message: `tensor ${name} keeps its data outside the model file (${JSON.stringify(location)}); bundles carry model.onnx only`,
      location: at,
    });
  }
  return findings;
}

/**
 * What needs the file system, for the references that passed `checkExternalData` and whose file
 * exists: the real path (symlinks resolved) stays inside the bundle directory, it is a regular
 * file, and the byte range fits the file and the tensor. A file that does not exist is left to
 * the lexical warning: it cannot be read, and validation loads the model from a directory that
 * holds nothing else.
 */
export async function checkExternalDataFiles(
  contents: ModelContents,
  bundleDir: string,
): Promise<ScanFinding[]> {
  const findings: ScanFinding[] = [];
  const realBundle = await realpath(bundleDir);
  for (const { tensor, location: at } of externalTensors(contents)) {
    const reference = parseEntries(tensor);
    const { location } = reference;
    if (location === undefined || reference.problems.length > 0 || unsafeLocationReason(location)) continue;
    const name = JSON.stringify(tensor.name);
    const quoted = JSON.stringify(location);
    const error = (message: string) =>
      findings.push({ check: 'external-data', severity: 'error', message, location: at });

    const real = await realpath(resolve(bundleDir, location)).catch((failure: unknown) => {
      if (hasErrorCode(failure, 'ENOENT', 'ENOTDIR', 'ELOOP')) return undefined;
      throw failure;
    });
    if (real === undefined) continue;
    if (!isWithin(realBundle, real)) {
      error(
        `tensor ${name} reads external data from ${quoted}, which escapes the model's directory (it resolves to ${real})`,
      );
      continue;
    }
    const info = await stat(real);
    if (!info.isFile()) {
      const kind = info.isDirectory() ? 'a directory' : 'not a regular file';
      error(`tensor ${name} reads external data from ${quoted}, which is ${kind}`);
      continue;
    }
    const expected = tensorByteSize(tensor);
    const { offset, length } = reference;
    const shape = `its dims ${dimsText(tensor.dims)} of ${dataTypeName(tensor.dataType)}`;
    if (offset > info.size || (length !== undefined && offset + length > info.size)) {
      const range = length === undefined ? `from offset ${offset}` : `at offset ${offset}, length ${length}`;
      error(`tensor ${name} reads ${quoted} ${range}, past the end of the file (${info.size} bytes)`);
    } else if (expected !== undefined && length !== undefined && length !== expected) {
      error(
        `tensor ${name} reads ${length} bytes (external_data length) from ${quoted}, but ${shape} need ${expected}`,
      );
    } else if (expected !== undefined && length === undefined && info.size - offset !== expected) {
      error(
        `tensor ${name} reads the rest of ${quoted} from offset ${offset} (${info.size - offset} bytes, no external_data length), but ${shape} need ${expected}`,
      );
    }
  }
  return findings;
}
