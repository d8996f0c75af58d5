/** Cross-entropy losses for the two model kinds (mean over examples / positions, in nats). */
import * as tf from '@tensorflow/tfjs-core';
import type { Scalar, Tensor } from '@tensorflow/tfjs-core';

/**
 * Mean softmax cross-entropy of `logits [..., c]` against integer `labels [...]`, with
 * optional label smoothing (the target puts `1 − ε + ε/c` on the label and `ε/c` elsewhere).
 *
 * @example const loss = crossEntropy(model.forward(pixels), labels, 0.1);
 */
export function crossEntropy(logits: Tensor, labels: Tensor, labelSmoothing = 0): Scalar {
  return tf.tidy(() => {
    const classes = logits.shape[logits.rank - 1];
    const flat = tf.reshape(logits, [-1, classes]); // [n, c]
    const logProbs = tf.logSoftmax(flat);
    const onehot = tf.oneHot(tf.reshape(tf.cast(labels, 'int32'), [-1]), classes); // [n, c]
    const target = labelSmoothing > 0 ? tf.add(tf.mul(onehot, 1 - labelSmoothing), labelSmoothing / classes) : onehot;
    return tf.neg(tf.mean(tf.sum(tf.mul(target, logProbs), -1))) as Scalar;
  });
}

/** Number of rows of `logits [n, c]` whose argmax equals the label. */
export async function countCorrect(logits: Tensor, labels: Int32Array): Promise<number> {
  const argMax = tf.argMax(logits, -1);
  const predicted = (await argMax.data()) as Int32Array;
  argMax.dispose();
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) correct += 1;
  return correct;
}
