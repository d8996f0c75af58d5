/**
 * A tiny ONNX writer for one graph: exact softmax attention, the way an exporter emits it.
 *
 *   out = Softmax(MatMul(Q, Transpose(K, [0, 1, 3, 2])) · scale, axis = −1) · V
 *
 * Q, K, V are float32 `[b, h, n, d]` with symbolic b and n, so one model serves every sequence
 * length of a sweep. The protobuf wire format is written by hand (varints and length-delimited
 * fields only) — ONNX needs nothing else for this graph, and it keeps the benchmark free of a
 * protobuf dependency. Field numbers are those of onnx/onnx.proto (ModelProto, GraphProto, …).
 */

/** Bytes of a protobuf message under construction. */
class ProtoWriter {
  private readonly parts: number[] = [];

  private varint(value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value));
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) byte |= 0x80;
      this.parts.push(byte);
    } while (v !== 0n);
  }

  private key(field: number, wireType: 0 | 2 | 5): void {
    this.varint((field << 3) | wireType);
  }

  int(field: number, value: number): this {
    this.key(field, 0);
    this.varint(value);
    return this;
  }

  float(field: number, value: number): this {
    this.key(field, 5);
    const b = new Uint8Array(new Float32Array([value]).buffer);
    this.parts.push(...b);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.key(field, 2);
    this.varint(value.length);
    for (const b of value) this.parts.push(b);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, build: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

const FLOAT = 1; // TensorProto.DataType.FLOAT
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_INTS = 7;

type Attribute = { name: string; int?: number; float?: number; ints?: readonly number[] };

function node(w: ProtoWriter, opType: string, inputs: readonly string[], output: string, attributes: readonly Attribute[] = []): void {
  w.message(1, (n) => {
    for (const i of inputs) n.string(1, i);
    n.string(2, output);
    n.string(3, `${opType.toLowerCase()}_${output}`);
    n.string(4, opType);
    for (const a of attributes) {
      n.message(5, (attr) => {
        attr.string(1, a.name);
        if (a.float !== undefined) attr.float(2, a.float).int(20, ATTR_FLOAT);
        else if (a.int !== undefined) attr.int(3, a.int).int(20, ATTR_INT);
        else {
          for (const x of a.ints ?? []) attr.int(8, x);
          attr.int(20, ATTR_INTS);
        }
      });
    }
  });
}

/** ValueInfoProto of a float32 tensor with dims given as numbers or symbolic names. */
function valueInfo(w: ProtoWriter, field: number, name: string, dims: ReadonlyArray<number | string>): void {
  w.message(field, (vi) => {
    vi.string(1, name);
    vi.message(2, (type) =>
      type.message(1, (tensor) => {
        tensor.int(1, FLOAT);
        tensor.message(2, (shape) => {
          for (const d of dims) shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
        });
      }),
    );
  });
}

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
