/**
 * How people see a commit or a digest: its first 12 hex digits, as Git and container tools
 * show them. One definition, so the CLI, the plan, the Web UI and the audit agree.
 */
export function shortId(hex: string): string {
  return hex.slice(0, 12);
}
