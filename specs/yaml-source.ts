/**
 * YAML text → one document with positions. Keeps the parsed `Document` and its `LineCounter`
 * so that any error found later (schema, rules, plan) can be placed on the line the author wrote.
 */
import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseAllDocuments,
  parseDocument,
  visit,
  type YAMLError,
} from 'yaml';
import type { FieldPath, SpecError } from './errors.ts';

/** A parsed spec document and what is needed to turn a field path into a position. */
export interface SpecSource {
  file: string;
  /** The text as read, e.g. to record exactly what was deployed. */
  text: string;
  document: Document.Parsed;
  lineCounter: LineCounter;
}

/** The outcome of reading YAML: the document (if there is one to check) and its YAML errors. */
interface YamlReadResult {
  /** Absent when there is nothing to check (an empty file). */
  source?: SpecSource;
  /** The document as plain data; `undefined` when there is no source. */
  data: unknown;
  errors: SpecError[];
}

/**
 * The first document of `text` as plain data, or undefined when it cannot be read at all. For
 * questions asked of specs that may be invalid (which deployment, which files, which base): they
 * must be answered for a spec with a typo too, so YAML errors are not reported here.
 */
export function looseYamlData(text: string): unknown {
  try {
    return parseDocument(text, { prettyErrors: false }).toJS();
  } catch {
    return undefined;
  }
}

/** A 1-based position in the file. */
export interface Position {
  line: number;
  column: number;
}

/**
 * Parses YAML text, collecting every syntax error the `yaml` library recovers from rather than
 * stopping at the first, so that one run shows the author all of them.
 */
export function readYaml(text: string, file: string): YamlReadResult {
  const lineCounter = new LineCounter();
  // prettyErrors off: its messages embed a source excerpt; our errors carry the position instead.
  const documents = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  const at = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const errors: SpecError[] = [];
  const yamlError = (error: YAMLError): SpecError => ({
    file,
    ...at(error.pos[0]),
    path: '',
    message: `invalid YAML: ${lowerFirst(error.message)}`,
  });

  // A lone `---` or a trailing `...` makes a document with no content; only real ones count.
  const filled = documents.filter((doc) => doc.contents !== null || doc.errors.length > 0);
  const first = filled[0];
  if (first === undefined) {
    errors.push({
      file,
      line: 1,
      column: 1,
      path: '',
      message: 'empty file: expected one ModelDeployment document',
    });
    return { data: undefined, errors };
  }
  for (const doc of filled) errors.push(...doc.errors.map(yamlError), ...doc.warnings.map(yamlError));
  const second = filled[1];
  if (second !== undefined) {
    errors.push({
      file,
      ...at(second.range[0]),
      path: '',
      message: `a spec file holds one document, found ${filled.length}: put each spec in its own file`,
    });
  }

  const source: SpecSource = { file, text, document: first, lineCounter };
  try {
    return { source, data: first.toJS(), errors };
  } catch (error) {
    // toJS throws on an alias to an undefined anchor, or on alias expansion past the limit
    // (the "billion laughs" guard); neither shows up in doc.errors.
    errors.push({
      file,
      ...(unresolvedAliasPosition(source) ?? { line: 1, column: 1 }),
      path: '',
      message: `invalid YAML: ${lowerFirst((error as Error).message)}`,
    });
    return { data: undefined, errors };
  }
}

/**
 * Where the node at `path` was written. When the path does not exist in full (a missing key,
 * or a field filled in by a default) it falls back to the deepest part that does: for a missing
 * key, the map that should hold it. An empty value (`model:`) is placed at its key, since the
 * empty value itself sits at the end of the line. With `at: 'key'`, a map entry is placed at its
 * key rather than its value (for unknown keys).
 */
export function positionOf(source: SpecSource, path: FieldPath, at: 'value' | 'key' = 'value'): Position {
  const { document, lineCounter } = source;
  const position = (node: { range?: readonly number[] | null | undefined } | null | undefined): Position => {
    const { line, col } = lineCounter.linePos(node?.range?.[0] ?? 0);
    return { line, column: col };
  };

  let node: Node | null = document.contents;
  for (const [index, segment] of path.entries()) {
    const last = index === path.length - 1;
    if (isAlias(node)) node = node.resolve(document) ?? null;
    if (isMap(node)) {
      const pair = node.items.find(
        (item) => isScalar(item.key) && String(item.key.value) === String(segment),
      );
      if (pair === undefined) return position(node);
      const value = pair.value as Node | null;
      if ((last && at === 'key') || isEmpty(value)) return position(pair.key as Node);
      node = value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment] as Node | null | undefined;
      if (item === undefined || item === null) return position(node);
      node = item;
    } else {
      return position(node);
    }
  }
  return position(node);
}

function isEmpty(node: Node | null): boolean {
  return node === null || (isScalar(node) && node.value === null && node.source === '');
}

function unresolvedAliasPosition(source: SpecSource): Position | undefined {
  let found: Position | undefined;
  visit(source.document, {
    Alias(_, alias) {
      if (alias.resolve(source.document) !== undefined) return undefined;
      const { line, col } = source.lineCounter.linePos(alias.range?.[0] ?? 0);
      found = { line, column: col };
      return visit.BREAK;
    },
  });
  return found;
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}
