/** `$id`s of the schemas this package ships (use them in a config's `$schema` for editor completion). */
export const SCHEMA_IDS = {
  operatorSelection: 'https://swapformer.dev/schemas/operator-selection.schema.json',
  attentionConfig: 'https://swapformer.dev/schemas/attention-config.schema.json',
  backendSettings: 'https://swapformer.dev/schemas/backend-settings.schema.json',
  pluginMeta: 'https://swapformer.dev/schemas/plugin-meta.schema.json',
  vitModelConfig: 'https://swapformer.dev/schemas/vit-model-config.schema.json',
  gptModelConfig: 'https://swapformer.dev/schemas/gpt-model-config.schema.json',
  llamaModelConfig: 'https://swapformer.dev/schemas/llama-model-config.schema.json',
} as const;
