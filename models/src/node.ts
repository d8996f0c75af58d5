/**
 * The Node-only part of the models package: checkpoint folders on disk (read, save, the hub
 * cache), image and tokenizer files, atomic file writes and gradient registration through Node's
 * module loader. The main entry also exports these in Node; a bundle for the browser gets
 * `./browser` instead.
 */
export { openSafetensors, encodeSafetensors } from './hf/safetensors';
export type { TensorToWrite } from './hf/safetensors';
export { openCheckpointTensors, WEIGHTS_FILE, WEIGHTS_INDEX_FILE } from './hf/checkpointFiles';
export type { CheckpointTensors } from './hf/checkpointFiles';
export { loadCheckpoint, loadCheckpointWithReport } from './hf/loadCheckpoint';
export { saveCheckpoint } from './hf/saveCheckpoint';
export { ensureGradients, gradientsRegistered } from './models/ensureGradients';
export { writeFileAtomic, writeDirectoryAtomic, replaceDirectoryAtomic, temporarySibling } from './io/writeFileAtomic';
export type { AtomicWriteOptions } from './io/writeFileAtomic';
export { readCheckpointTokenizer, tokenizerForCheckpoint, TOKENIZER_FILE } from './tokenizers/checkpointTokenizer';
export { resolveCheckpointFolder } from './hf/cacheFolder';
export type { ChunkProducer } from './io/writeFileAtomic';
export { writeTensorOutputs, OUTPUT_FORMATS } from './io/writeTensorOutputs';
export type { OutputTensor } from './io/writeTensorOutputs';
export { decodeImage, decodeImageFile } from './images/decodeImage';
export type { RasterImage } from './images/decodeImage';
export { preprocessImage, readImageProcessorConfig, PREPROCESSOR_FILE } from './images/imageProcessor';
export type { ImageProcessorConfig } from './images/imageProcessor';
export { checkAttentionAgainstCheckpoint, type CheckpointShape } from './hf/checkAgainstCheckpoint';
