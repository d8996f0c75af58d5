/**
 * A builder for one ONNX graph (opset 17): every node gets a fresh output name unless one is
 * given, constants become initializers. Serialized with the hand-written wire format of
 * ../peers/onnxProto.ts, so model benches build their onnxruntime graphs from the very weights
 * the Swapformer graph holds.
 */
import { onnxInitializer, onnxNode, onnxValueInfo, ONNX_FLOAT, ONNX_INT64, ProtoWriter, type OnnxAttribute } from '../peers/onnxProto';

export type Dims = ReadonlyArray<number | string>;

export class OnnxGraph {
  private readonly graph = new ProtoWriter();
  private count = 0;

  /** Adds a node; returns its output names (fresh ones unless `outputs` names them). */
  ops(opType: string, inputs: readonly string[], outputs: number | readonly string[], attributes: readonly OnnxAttribute[] = []): string[] {
    const names = typeof outputs === 'number' ? Array.from({ length: outputs }, () => `t${this.count++}`) : [...outputs];
    onnxNode(this.graph, opType, inputs, names, attributes);
    return names;
  }

  /** A node with one output. */
  op(opType: string, inputs: readonly string[], attributes: readonly OnnxAttribute[] = [], output?: string): string {
    return this.ops(opType, inputs, output ? [output] : 1, attributes)[0];
  }

  /** A float32 initializer under `name`. */
  weight(name: string, dims: readonly number[], data: Float32Array): string {
    onnxInitializer(this.graph, name, dims, data);
    return name;
  }

  /** A float32 constant (a scalar unless `dims` says otherwise). */
  float(values: readonly number[], dims: readonly number[] = []): string {
    return this.weight(`c${this.count++}`, dims, Float32Array.from(values));
  }

  /** A rank-1 int64 constant (shapes, split sizes, indices); a scalar with `scalar`. */
  int64(values: readonly number[], scalar = false): string {
    const name = `c${this.count++}`;
    onnxInitializer(
      this.graph,
      name,
      scalar ? [] : [values.length],
      BigInt64Array.from(values, (v) => BigInt(v)),
    );
    return name;
  }

  input(name: string, dims: Dims, int64 = false): string {
    onnxValueInfo(this.graph, 11, name, dims, int64 ? ONNX_INT64 : ONNX_FLOAT);
    return name;
  }

  output(name: string, dims: Dims): void {
    onnxValueInfo(this.graph, 12, name, dims);
  }

  /** The serialized ModelProto (IR 8, opset 17). */
  finish(name: string): Uint8Array {
    this.graph.string(2, name);
    const model = new ProtoWriter();
    model.int(1, 8);
    model.string(2, 'swapformer-bench');
    model.message(8, (opset) => opset.string(1, '').int(2, 17));
    model.bytes(7, this.graph.finish());
    return model.finish();
  }
}
