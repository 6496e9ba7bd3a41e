/**
 * Splitting a long text into overlapping windows before secretlint sees it.
 *
 * Why: secretlint's duplicate filter compares every message with every later one, so a file
 * packed with token-shaped strings costs quadratic time (measured: 20,000 matches in 420 kB took
 * 100 s). Bounded windows bound that cost, and they let the caller stop at a findings cap.
 */

/** Characters whose findings a window owns. */
export const WINDOW_CORE_CHARS = 32 * 1024;
/**
 * Characters read past the core so a secret that starts in the core ends inside the window:
 * longer than the longest multi-line secret the preset matches (a PEM body of at most 10,000
 * characters plus its two armour lines).
 */
export const WINDOW_TRAIL_CHARS = 12 * 1024;
/** Characters read before a core that starts mid-line, so look-behinds see real context. */
const WINDOW_LEAD_CHARS = 64;

/** A window: `text.slice(start, end)` is scanned, findings starting in [coreStart, coreEnd) kept. */
export interface TextWindow {
  start: number;
  coreStart: number;
  coreEnd: number;
  end: number;
}

/** Where the core that begins at `coreStart` ends: the last line break inside it, when there is one. */
function coreEndFrom(text: string, coreStart: number): number {
  const limit = coreStart + WINDOW_CORE_CHARS;
  if (limit >= text.length) return text.length;
  const lastBreak = text.lastIndexOf('\n', limit - 1);
  return lastBreak >= coreStart ? lastBreak + 1 : limit;
}

/** Cores tile the text exactly, cut after a line break where possible; one window for short text. */
export function* textWindows(text: string): Generator<TextWindow> {
  let coreStart = 0;
  do {
    const coreEnd = coreEndFrom(text, coreStart);
    const startsMidLine = coreStart > 0 && text[coreStart - 1] !== '\n';
    yield {
      start: startsMidLine ? Math.max(0, coreStart - WINDOW_LEAD_CHARS) : coreStart,
      coreStart,
      coreEnd,
      end: Math.min(text.length, coreEnd + WINDOW_TRAIL_CHARS),
    };
    coreStart = coreEnd;
  } while (coreStart < text.length);
}
