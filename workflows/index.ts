/** The workflow bundle's entry: every workflow the worker registers. */
export { DeployModel, statusQuery } from './deploy-model.ts';
