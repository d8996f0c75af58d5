import type { OperatorCapabilities } from './OperatorCapabilities';

/** What a call site (a model graph, a CLI command) needs from an operator. */
export interface OperatorRequirements {
  /** The operator must apply causal masking (GPT). */
  readonly causal?: boolean;
  /** Key-padding masks will be passed. */
  readonly keyPaddingMask?: boolean;
  /** Incremental decoding through `operator.decoder` is needed (kv-cache generation). */
  readonly decoding?: boolean;
  /** The operator is swapped into a model whose weights were trained with softmax attention. */
  readonly pretrainedWeights?: boolean;
  /** The user fine-tunes or trains, so operators with their own parameters are acceptable in a pretrained swap. */
  readonly training?: boolean;
  /** nq ≠ nk will occur. */
  readonly crossAttention?: boolean;
}

/**
 * Every reason the capabilities cannot meet the requirements (empty when they can) — the
 * declarative form of xformers' `not_supported_reasons`.
 *
 * @example unmetRequirements(plugin.capabilities, { causal: true }) // ['causal masking: ...']
 */
export function unmetRequirements(caps: OperatorCapabilities, req: OperatorRequirements): string[] {
  const reasons: string[] = [];
  if (req.causal && caps.causal !== 'native') {
    reasons.push('causal masking: capabilities.causal is "none", so it would attend to future tokens');
  }
  if (req.keyPaddingMask && !caps.keyPaddingMask) {
    reasons.push('key-padding masks: capabilities.keyPaddingMask is false');
  }
  if (req.decoding && caps.decoding === 'none') {
    reasons.push('incremental decoding: capabilities.decoding is "none" (no kv-cache or recurrent state)');
  }
  if (req.crossAttention && !caps.crossAttention) {
    reasons.push('nq ≠ nk (cross-attention / cached queries): capabilities.crossAttention is false');
  }
  if (req.pretrainedWeights && !caps.dropInForPretrained && !req.training) {
    reasons.push(
      'drop-in use with pretrained softmax weights: capabilities.dropInForPretrained is false ' +
        (caps.trainableParameters
          ? '(it owns trainable parameters that a softmax checkpoint does not contain, so they would stay at their initial values); '
          : '(its outputs are not an approximation of softmax attention); ') +
        // quotes every real switch: a message pointing at a flag that does not exist strands the user
        (caps.trainableParameters
          ? 'to train them from the softmax model first, run `swapformer adapt --checkpoint <trained checkpoint> --config <its training config> --attention \'<this selection>\' --output <dir>` and load <dir>/final (it carries them); '
          : '') +
        'to use it anyway (for fine-tuning), allow operators that need training: `--allow-untrained-operators` on the swapformer CLI, `{ training: true }` in loadCheckpoint/buildModel options',
    );
  }
  return reasons;
}
