/**
 * Models without Node: build a model from a config, load weights from bytes or a URL
 * (`fetchCheckpoint`, including the Hugging Face hub's `…/resolve/<revision>` layout), run
 * forward and generate. The `browser` condition of `@swapformer/models` resolves here; file IO
 * (checkpoint folders and caches, image files, atomic writes) is in `@swapformer/models/node`.
 */
export type { ForwardOptions, NamedVariable, SwapformerModel } from './models/SwapformerModel';
export { buildModel, checkAttentionSpec } from './models/buildModel';
export type { BuildModelOptions } from './models/buildModel';
export { buildVit } from './families/vit/buildVit';
export type { VitModel } from './families/vit/buildVit';
export { buildGpt } from './families/gpt/buildGpt';
export type { GptDecodingState, GptModel } from './families/gpt/buildGpt';
export { buildLlama } from './families/llama/buildLlama';
export type { LlamaModel } from './families/llama/buildLlama';
export type { DecoderModel, DecoderState, DecodingSupport } from './models/DecoderModel';
export type { BuildOptions } from './models/buildOptions';
export { normalizeModelConfig } from './models/modelConfig';
export type { ActivationName, GptModelConfig, LlamaModelConfig, ModelConfig, ModelConfigBase, ModelConfigInput, PixelStageConfig, RopeConfig, TokenizerConfig, VitModelConfig } from './models/modelConfig';
export { BUILT_IN_FAMILIES } from './families/builtInFamilies';
export type { BuiltInModel, BuiltInModelConfig } from './families/builtInFamilies';
export type { FamilyTable, HfCheckpointRules, ModelFamily, ParameterSource, StoredTensors } from './families/ModelFamily';
export { familyForHfConfig, familyNamed } from './families/familyTable';
export { vitFamily } from './families/vit/vitFamily';
export { gptFamily } from './families/gpt/gptFamily';
export { llamaFamily } from './families/llama/llamaFamily';
export { rotaryInverseFrequencies } from './families/llama/rotaryEmbedding';
export { MAX_MODEL_PARAMETERS, MAX_HIDDEN_STATE, assertModelFits } from './models/modelSizeLimits';
export type { ModelSize } from './models/modelSizeLimits';
export type { HfLayout, ModelParameter } from './models/parameterStore';
export type { LayerOperator } from './models/selfAttention';
export { tensorFromJson, tensorToJson } from './models/tensorJson';
export type { TensorJson } from './models/tensorJson';
export type { CheckpointTensors } from './hf/checkpointFiles';
export { fromHfConfig, toHfConfig, SUPPORTED_ARCHITECTURES } from './hf/hfConfig';
export type { HfModelDescription } from './hf/hfConfig';
export { generate } from './decoding/generate';
export type { GenerateOptions, GenerateResult } from './decoding/generate';
export { sampleToken } from './decoding/sampleToken';
export type { SamplingOptions } from './decoding/sampleToken';
export { createCharTokenizer, charVocabulary } from './tokenizers/charTokenizer';
export { createGpt2Tokenizer, GPT2_VOCAB_SIZE } from './tokenizers/gpt2Tokenizer';
export { loadGpt2Tokenizer } from './tokenizers/loadGpt2Tokenizer';
export { tokenizerFor } from './tokenizers/tokenizerFor';
export type { Tokenizer } from './tokenizers/Tokenizer';
export { MODEL_CONFIG_KINDS, modelConfigKinds } from './models/modelConfigKinds';
export { createHfTokenizer, SUPPORTED_TOKENIZER_MODELS } from './tokenizers/hfTokenizer';
export type { HfTokenizer } from './tokenizers/hfTokenizer';
export { preloadCheckpoint } from './hf/preloadCheckpoint';
export type { CheckpointPreload } from './hf/preloadCheckpoint';
export type { InitialValues, ParameterDescription } from './models/parameterStore';
export { resizeImage } from './images/resizeImage';
export { readSafetensorsBytes } from './hf/safetensorsFormat';
export { modelFromCheckpoint } from './hf/modelFromCheckpoint';
export { fetchCheckpoint, huggingFaceUrl } from './hf/fetchCheckpoint';
export type { FetchCheckpointOptions } from './hf/fetchCheckpoint';
export { MAX_SAFETENSORS_HEADER_BYTES, SAFETENSORS_DTYPES } from './hf/safetensorsFormat';
export type { SafetensorsDtype, SafetensorsEntry, SafetensorsFile } from './hf/safetensorsFormat';
export type { LoadCheckpointOptions, LoadReport } from './hf/modelFromCheckpoint';
