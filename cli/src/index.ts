export { CONFIG_KINDS } from './config/configKinds';
export { compareOperators } from './compare/compareOperators';
export type { CompareOptions, CompareReport, CompareRow } from './compare/compareOperators';
export { formatTable, formatMarkdownTable } from './cli/formatTable';
export { createProgressBar } from './cli/progressBar';
export type { ProgressBar } from './cli/progressBar';
