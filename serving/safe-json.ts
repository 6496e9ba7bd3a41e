/**
 * `JSON.parse` for request bodies, with the nesting bounded before anything is parsed. V8's
 * parser copes with deep nesting, but everything after it walks values recursively (our own
 * checks, `JSON.stringify` in messages) and overflows the stack on a body of a million `[`; and
 * each level is an allocation the client chose. So the depth is found first, without parsing:
 * a count of `[` and `{` (native `indexOf`) settles most bodies at once, since nesting needs an
 * opener per level; only a body with more openers than the limit gets a full pass that skips
 * strings. Both cost a fraction of the parse, and nothing is allocated for a body refused.
 */
import { HttpError } from './http.ts';

const OPEN_ARRAY = 0x5b; // [
const OPEN_OBJECT = 0x7b; // {
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \

/**
 * The characters that open or close a level or a string; everything else is skipped by the regex
 * engine. One shared instance: the scan is synchronous and resets `lastIndex` first.
 */
const STRUCTURE = /["[\]{}]/g;

/** Whether `text` holds at most `limit` of `[` and `{` together (inside strings or not). */
function openersAtMost(text: string, limit: number): boolean {
  let count = 0;
  for (const opener of ['[', '{']) {
    for (let at = text.indexOf(opener); at !== -1; at = text.indexOf(opener, at + 1)) {
      count += 1;
      if (count > limit) return false;
    }
  }
  return true;
}

/** The offset just past the string whose content starts at `from`: its first unescaped quote. */
function endOfString(text: string, from: number): number {
  for (let quote = text.indexOf('"', from); quote !== -1; quote = text.indexOf('"', quote + 1)) {
    let backslashes = 0;
    while (quote - backslashes - 1 >= from && text.charCodeAt(quote - backslashes - 1) === BACKSLASH) {
      backslashes += 1;
    }
    if (backslashes % 2 === 0) return quote + 1;
  }
  return text.length;
}

/**
 * The offset (in UTF-16 units) of the first `[` or `{` that opens level `maxDepth + 1`, or -1
 * when the text never nests deeper than `maxDepth`. Brackets inside strings do not count. The
 * text need not be valid JSON: an unbalanced text is left for `JSON.parse` to refuse. Numbers,
 * most of a tensor request, are skipped by the regex engine rather than looked at one by one.
 */
export function tooDeepAt(text: string, maxDepth: number): number {
  // Nesting needs an opener per level: a body with few of them (most requests, with flat data)
  // cannot be too deep, and native indexOf finds that out fastest.
  if (openersAtMost(text, maxDepth)) return -1;
  const structure = STRUCTURE;
  structure.lastIndex = 0;
  let depth = 0;
  for (let match = structure.exec(text); match !== null; match = structure.exec(text)) {
    const at = match.index;
    const code = text.charCodeAt(at);
    if (code === QUOTE) {
      structure.lastIndex = endOfString(text, at + 1);
    } else if (code === OPEN_ARRAY || code === OPEN_OBJECT) {
      depth += 1;
      if (depth > maxDepth) return at;
    } else {
      depth -= 1;
    }
  }
  return -1;
}

/**
 * Parses a request body; a body nested deeper than `maxDepth` or not valid JSON is a 400 saying
 * where. The parser's own message quotes the body, which is the client's own text: fine to echo.
 */
export function parseJsonBody(text: string, maxDepth: number): unknown {
  const at = tooDeepAt(text, maxDepth);
  if (at !== -1) {
    throw new HttpError(
      400,
      `request body nests arrays and objects deeper than the limit of ${maxDepth} levels (maxJsonDepth), at character ${at}`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, `request body is not valid JSON: ${(error as Error).message}`);
  }
}
