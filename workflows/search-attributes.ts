/**
 * Custom search attributes that make rollouts findable in the Temporal Web UI
 * (e.g. `ModelName = "iris" AND RolloutStage = "validating"`). The dev server registers them at
 * start; a production namespace needs them created once with `temporal operator search-attribute create`.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const ModelNameKey = defineSearchAttributeKey('ModelName', SearchAttributeType.KEYWORD);
export const EnvironmentKey = defineSearchAttributeKey('Environment', SearchAttributeType.KEYWORD);
export const RolloutStageKey = defineSearchAttributeKey('RolloutStage', SearchAttributeType.KEYWORD);
export const GitCommitKey = defineSearchAttributeKey('GitCommit', SearchAttributeType.KEYWORD);

/** `Name=Type` pairs for `temporal server start-dev --search-attribute`. */
export const SEARCH_ATTRIBUTE_FLAGS = ['ModelName', 'Environment', 'RolloutStage', 'GitCommit'].map(
  (name) => `${name}=Keyword`,
);
