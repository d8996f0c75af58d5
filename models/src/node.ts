/**
 * The Node-only part of the models package: checkpoint folders on disk (read, save), atomic file
 * writes and gradient registration through Node's module loader. The main entry also exports
 * these in Node; a bundle for the browser gets `./browser` instead.
 */
export { openSafetensors, encodeSafetensors } from './hf/safetensors';
export type { TensorToWrite } from './hf/safetensors';
export { openCheckpointTensors, WEIGHTS_FILE, WEIGHTS_INDEX_FILE } from './hf/checkpointFiles';
export { loadCheckpoint, loadCheckpointWithReport } from './hf/loadCheckpoint';
export { saveCheckpoint } from './hf/saveCheckpoint';
export { ensureGradients, gradientsRegistered } from './models/ensureGradients';
export { writeFileAtomic, writeDirectoryAtomic, replaceDirectoryAtomic, temporarySibling } from './io/writeFileAtomic';
export type { AtomicWriteOptions } from './io/writeFileAtomic';
