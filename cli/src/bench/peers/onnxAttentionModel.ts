/**
 * A tiny ONNX writer for one graph: exact softmax attention, the way an exporter emits it.
 *
 *   out = Softmax(MatMul(Q, Transpose(K, [0, 1, 3, 2])) · scale, axis = −1) · V
 *
 * Q, K, V are float32 `[b, h, n, d]` with symbolic b and n, so one model serves every sequence
 * length of a sweep. The protobuf wire format is written by hand (varints and length-delimited
 * fields only, onnxProto.ts).
 */

import { onnxNode as node, onnxValueInfo as valueInfo, ProtoWriter } from './onnxProto';

const FLOAT = 1; // TensorProto.DataType.FLOAT

/** Shape of the exported graph: heads and head dim are fixed, batch and length symbolic. */
export interface OnnxAttentionShape {
  readonly heads: number;
  readonly headDim: number;
}

/**
 * Serialized ONNX model (opset 17) of exact attention: inputs `q`, `k`, `v` `[batch, heads, n, d]`,
 * output `out`. Scale 1/sqrt(d) is an initializer multiplied after the first MatMul.
 *
 * @example const bytes = exactAttentionOnnxModel({ heads: 4, headDim: 64 }); await InferenceSession.create(bytes);
 */
export function exactAttentionOnnxModel(shape: OnnxAttentionShape): Uint8Array {
  const dims = ['batch', shape.heads, 'n', shape.headDim];
  const scale = 1 / Math.sqrt(shape.headDim);
  const model = new ProtoWriter();
  model.int(1, 8); // ir_version 8 (onnx 1.10+)
  model.string(2, 'swapformer-bench');
  model.message(8, (opset) => opset.string(1, '').int(2, 17));
  model.message(7, (graph) => {
    node(graph, 'Transpose', ['k'], 'kT', [{ name: 'perm', ints: [0, 1, 3, 2] }]);
    node(graph, 'MatMul', ['q', 'kT'], 'logits');
    node(graph, 'Mul', ['logits', 'scale'], 'scaled');
    node(graph, 'Softmax', ['scaled'], 'probs', [{ name: 'axis', int: -1 }]);
    node(graph, 'MatMul', ['probs', 'v'], 'out');
    graph.string(2, 'exact_attention');
    graph.message(5, (t) => t.int(2, FLOAT).string(8, 'scale').bytes(9, new Uint8Array(new Float32Array([scale]).buffer)));
    valueInfo(graph, 11, 'q', dims);
    valueInfo(graph, 11, 'k', dims);
    valueInfo(graph, 11, 'v', dims);
    valueInfo(graph, 12, 'out', dims);
  });
  return model.finish();
}
