/**
 * The slice of protobuf's wire format an ONNX model needs (varints, fixed32 floats and
 * length-delimited fields), written by hand so the benchmarks need no protobuf dependency.
 * Bytes are kept as chunks, so initializers of a real-size model (hundreds of MB) are copied
 * once into the final buffer instead of byte by byte. Field numbers are those of onnx/onnx.proto.
 */
export class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];
  private pending: number[] = [];
  private size = 0;

  private flush(): void {
    if (this.pending.length === 0) return;
    this.chunks.push(Uint8Array.from(this.pending));
    this.size += this.pending.length;
    this.pending = [];
  }

  private varint(value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value));
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) byte |= 0x80;
      this.pending.push(byte);
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
    this.pending.push(...new Uint8Array(new Float32Array([value]).buffer));
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.key(field, 2);
    this.varint(value.length);
    if (value.length < 64) this.pending.push(...value);
    else {
      this.flush();
      this.chunks.push(value);
      this.size += value.length;
    }
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
    this.flush();
    if (this.chunks.length === 1) return this.chunks[0];
    const out = new Uint8Array(this.size);
    let offset = 0;
    for (const c of this.chunks) {
      out.set(c, offset);
      offset += c.length;
    }
    return out;
  }
}

/** TensorProto.DataType values the benchmark graphs use. */
export const ONNX_FLOAT = 1;
export const ONNX_INT64 = 7;

const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_INTS = 7;

export type OnnxAttribute = { name: string; int?: number; float?: number; ints?: readonly number[] };

/** NodeProto (GraphProto field 1). */
export function onnxNode(w: ProtoWriter, opType: string, inputs: readonly string[], outputs: string | readonly string[], attributes: readonly OnnxAttribute[] = []): void {
  const outs = typeof outputs === 'string' ? [outputs] : outputs;
  w.message(1, (n) => {
    for (const i of inputs) n.string(1, i);
    for (const o of outs) n.string(2, o);
    n.string(3, `${opType.toLowerCase()}_${outs[0]}`);
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

/** ValueInfoProto (graph input 11 / output 12) of a tensor with dims given as numbers or symbolic names. */
export function onnxValueInfo(w: ProtoWriter, field: number, name: string, dims: ReadonlyArray<number | string>, dataType = ONNX_FLOAT): void {
  w.message(field, (vi) => {
    vi.string(1, name);
    vi.message(2, (type) =>
      type.message(1, (tensor) => {
        tensor.int(1, dataType);
        tensor.message(2, (shape) => {
          for (const d of dims) shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
        });
      }),
    );
  });
}

/** TensorProto initializer (GraphProto field 5) holding `data` as raw little-endian bytes. */
export function onnxInitializer(w: ProtoWriter, name: string, dims: readonly number[], data: Float32Array | BigInt64Array): void {
  w.message(5, (t) => {
    for (const d of dims) t.int(1, d);
    t.int(2, data instanceof Float32Array ? ONNX_FLOAT : ONNX_INT64).string(8, name);
    t.bytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  });
}
