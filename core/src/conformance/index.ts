export { describeOperatorConformance } from './describeOperatorConformance';
export type { ConformanceCase, ConformanceSpec } from './describeOperatorConformance';
export { referenceAttention, toFloat64 } from './referenceAttention';
export type { Float64Tensor } from './referenceAttention';
export { randomAttentionInputs } from './randomAttentionInputs';
export type { AttentionShape } from './randomAttentionInputs';
export { expectTensorsClose, maxAbsDiff, relativeError } from './tensorComparison';
export { webGpuSuiteCheck } from './webGpuSuite';
