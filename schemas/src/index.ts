export { SCHEMA_IDS } from './schemaIds';
export { validateAgainst, registerSchema, getAjv } from './validateAgainst';
export type { ValidationResult } from './validateAgainst';
export { formatIssues, toConfigIssues } from './formatIssues';
export type { ConfigIssue } from './formatIssues';
export { default as operatorSelectionSchema } from './json/operator-selection.schema.json';
export { default as attentionConfigSchema } from './json/attention-config.schema.json';
export { default as backendSettingsSchema } from './json/backend-settings.schema.json';
export { default as pluginMetaSchema } from './json/plugin-meta.schema.json';
