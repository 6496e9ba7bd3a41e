/**
 * The demo's voice. Its own progress lines start with `demo:`; what modelship's commands print
 * (apply, audit verify) is indented under them, so a newcomer sees which is which.
 */

/** One progress line: what happens and why. */
export function say(line: string): void {
  console.log(`demo: ${line}`);
}

/** A line printed by a modelship command the demo ran, shown as that command printed it. */
export function echo(line: string): void {
  console.log(`  ${line}`);
}
