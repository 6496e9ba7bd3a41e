/** What a scan reports: its checks, in order, and one finding per problem. A leaf module, so every check may import it. */
/** The checks a scan runs, in order. */
export const SCAN_CHECKS = [
  'size',
  'digest',
  'structure',
  'versions',
  'limits',
  'operators',
  'attributes',
  'external-data',
  'metadata',
] as const;
export type ScanCheckName = (typeof SCAN_CHECKS)[number];

export interface ScanFinding {
  check: ScanCheckName;
  /** `error` fails the scan; `warning` is reported and recorded but lets the model through. */
  severity: 'error' | 'warning';
  message: string;
  /** Where in the model, e.g. `graph:main/node:If_0/then_branch/node:Evil_3`. */
  location?: string;
}
