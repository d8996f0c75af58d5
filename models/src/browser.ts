/**
 * Models without Node: build a ViT/GPT from a config, load weights from bytes or a URL
 * (`fetchCheckpoint`, including the Hugging Face hub's `…/resolve/<revision>` layout), run
 * forward and generate. The `browser` condition of `@swapformer/models` resolves here; file IO
 * (checkpoint folders, atomic writes) is in `@swapformer/models/node`.
 */
export type { ForwardOptions, NamedVariable, SwapformerModel } from './models/SwapformerModel';
export { buildModel, checkAttentionSpec } from './models/buildModel';
export { buildVit } from './models/buildVit';
export type { VitModel } from './models/buildVit';
export { buildGpt } from './models/buildGpt';
export type { DecodingSupport, GptDecodingState, GptModel } from './models/buildGpt';
export type { BuildOptions } from './models/buildOptions';
export { normalizeModelConfig } from './models/modelConfig';
export type { ActivationName, GptModelConfig, ModelConfig, ModelConfigInput, PixelStageConfig, TokenizerConfig, VitModelConfig } from './models/modelConfig';
export type { HfLayout, ModelParameter } from './models/parameterStore';
export type { LayerOperator } from './models/selfAttention';
export { tensorFromJson, tensorToJson } from './models/tensorJson';
export type { TensorJson } from './models/tensorJson';
export { readSafetensorsBytes, MAX_SAFETENSORS_HEADER_BYTES, SAFETENSORS_DTYPES } from './hf/safetensorsFormat';
export type { SafetensorsDtype, SafetensorsEntry, SafetensorsFile } from './hf/safetensorsFormat';
export type { CheckpointTensors } from './hf/checkpointFiles';
export { fromHfConfig, toHfConfig, SUPPORTED_ARCHITECTURES } from './hf/hfConfig';
export type { HfModelDescription } from './hf/hfConfig';
export { modelFromCheckpoint } from './hf/modelFromCheckpoint';
export type { LoadCheckpointOptions, LoadReport } from './hf/modelFromCheckpoint';
export { fetchCheckpoint, huggingFaceUrl } from './hf/fetchCheckpoint';
export type { FetchCheckpointOptions } from './hf/fetchCheckpoint';
export { generate } from './decoding/generate';
export type { GenerateOptions, GenerateResult } from './decoding/generate';
export { sampleToken } from './decoding/sampleToken';
export type { SamplingOptions } from './decoding/sampleToken';
export { createCharTokenizer, charVocabulary } from './tokenizers/charTokenizer';
export { createGpt2Tokenizer, GPT2_VOCAB_SIZE } from './tokenizers/gpt2Tokenizer';
export { loadGpt2Tokenizer } from './tokenizers/loadGpt2Tokenizer';
export { tokenizerFor } from './tokenizers/tokenizerFor';
export type { Tokenizer } from './tokenizers/Tokenizer';
export { MODEL_CONFIG_KINDS } from './models/modelConfigKinds';
