/** The workflow bundle's entry: every workflow the worker registers. */
export { DeployModel } from './deploy-model.ts';
export { MonitorModel } from './monitor-model.ts';
export { Reconcile } from './reconcile.ts';
export { RetireModel } from './retire-model.ts';
