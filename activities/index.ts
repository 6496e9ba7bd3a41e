/** Every activity the worker registers, built from its dependencies. */
import type { AuditStore } from '../audit/store.ts';
import { createArtifactActivities } from './artifact.ts';
import { createAuditActivities } from './audit.ts';
import { createPackageActivities } from './package.ts';
import { createScanActivities } from './scan.ts';
import { createValidateActivities } from './validate.ts';

export interface ActivityDeps {
  /** Absolute MODELSHIP_HOME. */
  home: string;
  audit: AuditStore;
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...createArtifactActivities({ home: deps.home }),
    ...createValidateActivities({ home: deps.home }),
    ...createScanActivities({ home: deps.home }),
    ...createPackageActivities({ home: deps.home }),
    ...createAuditActivities({ audit: deps.audit }),
  };
}
