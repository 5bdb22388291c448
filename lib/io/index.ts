// Saving and loading models in the TensorFlow.js Layers format.
export { loadModel, readArtifacts, modelFromArtifacts } from './load.js';
export type { LoadOptions, LoadHandler } from './load.js';
export { modelArtifacts, modelJSON, recoverCheckpoint } from './save.js';
export type { SaveTarget } from './save.js';
export type { ModelArtifacts, ModelJSON, SaveResult, WeightSpec, TrainingConfig } from './format.js';
