import type { InitialValues } from './parameterStore';

/** How a model graph is built: what the operators must support beyond the model's own needs. */
export interface BuildOptions {
  /**
   * The weights come from a checkpoint trained with softmax attention: operators that are not
   * drop-in replacements (own trainable parameters, not an approximation of softmax) are refused
   * unless `training` is set too.
   */
  readonly pretrainedWeights?: boolean;
  /** The model will be trained or fine-tuned (allows non-drop-in operators in a pretrained swap). */
  readonly training?: boolean;
  /** First values of the graph's own parameters (a checkpoint loader's); default: the seeded `Init` draws. */
  readonly initialValues?: InitialValues;
}
