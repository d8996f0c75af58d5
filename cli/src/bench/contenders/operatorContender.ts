import * as tf from '@tensorflow/tfjs-core';
import { createKernelContext, instantiateOperator, type AttentionContext, type OperatorGeometry } from '@swapformer/core';
import type { OperatorRegistry } from '@swapformer/registry';
import type { Contender } from '../benchTypes';
import { tfjsRunner } from './forceResult';

/**
 * One registered operator with its schema defaults (the paper-default options), non-causal,
 * created once per sweep point for that n (operators may size buffers by `maxSeqLen`).
 *
 * @example const exact = operatorContender(registry, 'exact', { maxN: 16384, seed: 0 });
 */
export function operatorContender(
  registry: OperatorRegistry,
  name: string,
  settings: { readonly maxN: number; readonly seed: number; readonly options?: Readonly<Record<string, unknown>>; readonly tfjsOpsOnly?: boolean },
): Contender {
  const record = registry.get(name);
  const resolved = registry.resolve({ name, options: settings.options ?? {} }, { causal: false });
  const options = Object.keys(settings.options ?? {}).length ? ` ${JSON.stringify(settings.options)}` : ' (default options)';
  const opsOnly = settings.tfjsOpsOnly === true;
  const { services } = registry;
  // the same services, except kernels whose settings turn the WGSL programs off (own resources too)
  const opsOnlyServices = opsOnly ? { ...services, kernels: createKernelContext({ threads: services.kernels.threads, webGpuFusedAttention: services.kernels.webGpuFusedAttention, webGpuPrograms: false }) } : services;
  const create = (geometry: OperatorGeometry) => (opsOnly ? instantiateOperator(resolved.plugin, resolved.options, opsOnlyServices, geometry) : resolved.create(geometry));
  return {
    name: opsOnly ? `${name}, tfjs ops` : name,
    kind: opsOnly ? 'variant' : 'operator',
    detail: `${record.packageName ?? name}@${record.meta.version}${options}${opsOnly ? ', its WGSL programs turned off (kernel setting webGpuPrograms: false): the tfjs-op composition' : ''}`,
    approximatesSoftmax: resolved.capabilities.dropInForPretrained,
    maxN: settings.maxN,
    async prepare(inputs) {
      const operator = create({ heads: inputs.heads, headDim: inputs.dim, valueDim: inputs.dim, modelDim: inputs.heads * inputs.dim, maxSeqLen: inputs.n, layerIndex: 0 });
      const ctx: AttentionContext = { causal: false, seed: settings.seed, layerIndex: 0 };
      const forward = () => tf.tidy(() => operator.forward(inputs.q, inputs.k, inputs.v, ctx));
      const runner = tfjsRunner(forward, opsOnlyServices.kernels);
      return {
        ...runner,
        dispose() {
          runner.dispose();
          operator.dispose();
        },
      };
    },
    dispose: () => undefined,
  };
}
