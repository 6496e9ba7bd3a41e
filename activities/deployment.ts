export type { CommitAuthor, DeploymentRef } from '../domain/deployment.ts';
