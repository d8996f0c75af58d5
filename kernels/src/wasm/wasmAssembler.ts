/**
 * A minimal WebAssembly binary writer: enough to emit the fused attention kernel at run time,
 * so no compiler toolchain and no opaque binary blob are part of the repo. It knows the
 * instructions the kernel uses (i32/f32 scalars, 128-bit SIMD, structured control flow) and
 * the sections of a module that imports one memory and exports functions.
 *
 * Encodings follow the WebAssembly core spec 2.0 (SIMD opcodes: prefix 0xfd + LEB128 index).
 */

export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;
export type ValType = typeof I32 | typeof F32 | typeof V128;

function uleb(value: number, out: number[]): void {
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
}

function sleb(value: number, out: number[]): void {
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return;
  }
}

function vec(items: number[][], out: number[]): void {
  uleb(items.length, out);
  for (const it of items) out.push(...it);
}

function name(s: string): number[] {
  const bytes = Array.from(new TextEncoder().encode(s));
  const out: number[] = [];
  uleb(bytes.length, out);
  return out.concat(bytes);
}

/** SIMD instruction indices (after the 0xfd prefix). */
const SIMD = {
  load: 0x00,
  load32Splat: 0x09,
  store: 0x0b,
  const: 0x0c,
  i32x4Splat: 0x11,
  f32x4Splat: 0x13,
  f32x4ExtractLane: 0x1f,
  f32x4Lt: 0x43,
  f32x4Gt: 0x44,
  f32x4Ge: 0x46,
  and: 0x4e,
  bitselect: 0x52,
  f32x4Nearest: 0x6a,
  i32x4Shl: 0xab,
  i32x4Add: 0xae,
  f32x4Abs: 0xe0,
  f32x4Neg: 0xe1,
  f32x4Add: 0xe4,
  f32x4Sub: 0xe5,
  f32x4Mul: 0xe6,
  f32x4Div: 0xe7,
  f32x4Min: 0xe8,
  f32x4Max: 0xe9,
  i32x4TruncSatF32x4S: 0xf8,
  f32x4RelaxedMadd: 0x105,
} as const;

/**
 * Instructions of one function body. Methods append bytes and return `this`, so code reads as
 * a stack-machine listing. Locals are numbered: parameters first, then `local()` declarations.
 */
export class FunctionBody {
  readonly code: number[] = [];
  private readonly locals: ValType[] = [];

  constructor(private readonly paramCount: number) {}

  /** Declares a local and returns its index. */
  local(type: ValType): number {
    this.locals.push(type);
    return this.paramCount + this.locals.length - 1;
  }

  private op(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }

  private simd(index: number, ...rest: number[]): this {
    this.code.push(0xfd);
    uleb(index, this.code);
    this.code.push(...rest);
    return this;
  }

  private memarg(align: number, offset: number): number[] {
    const out = [align];
    uleb(offset, out);
    return out;
  }

  // control
  block(): this { return this.op(0x02, 0x40); }
  loop(): this { return this.op(0x03, 0x40); }
  if(): this { return this.op(0x04, 0x40); }
  else(): this { return this.op(0x05); }
  end(): this { return this.op(0x0b); }
  br(depth: number): this { return this.op(0x0c, depth); }
  brIf(depth: number): this { return this.op(0x0d, depth); }
  return(): this { return this.op(0x0f); }
  drop(): this { return this.op(0x1a); }
  select(): this { return this.op(0x1b); }

  // locals
  get(i: number): this { this.op(0x20); uleb(i, this.code); return this; }
  set(i: number): this { this.op(0x21); uleb(i, this.code); return this; }
  tee(i: number): this { this.op(0x22); uleb(i, this.code); return this; }

  // memory
  i32Load(offset = 0): this { return this.op(0x28, ...this.memarg(2, offset)); }
  i32Store(offset = 0): this { return this.op(0x36, ...this.memarg(2, offset)); }
  f32Load(offset = 0): this { return this.op(0x2a, ...this.memarg(2, offset)); }
  f32Store(offset = 0): this { return this.op(0x38, ...this.memarg(2, offset)); }
  v128Load(offset = 0): this { return this.simd(SIMD.load, ...this.memarg(4, offset)); }
  v128Store(offset = 0): this { return this.simd(SIMD.store, ...this.memarg(4, offset)); }
  v128Load32Splat(offset = 0): this { return this.simd(SIMD.load32Splat, ...this.memarg(2, offset)); }

  // i32
  i32(value: number): this { this.op(0x41); sleb(value, this.code); return this; }
  i32Eqz(): this { return this.op(0x45); }
  i32LtS(): this { return this.op(0x48); }
  i32GtS(): this { return this.op(0x4a); }
  i32LeS(): this { return this.op(0x4c); }
  i32GeS(): this { return this.op(0x4e); }
  i32Add(): this { return this.op(0x6a); }
  i32Sub(): this { return this.op(0x6b); }
  i32Mul(): this { return this.op(0x6c); }
  i32Shl(): this { return this.op(0x74); }
  i32And(): this { return this.op(0x71); }
  f32ConvertI32S(): this { return this.op(0xb2); }

  // f32
  f32(value: number): this {
    this.op(0x43);
    this.code.push(...new Uint8Array(new Float32Array([value]).buffer));
    return this;
  }
  f32Gt(): this { return this.op(0x5e); }
  f32Add(): this { return this.op(0x92); }
  f32Sub(): this { return this.op(0x93); }
  f32Mul(): this { return this.op(0x94); }
  f32Div(): this { return this.op(0x95); }
  f32Max(): this { return this.op(0x97); }
  f32Min(): this { return this.op(0x96); }

  // v128
  f32x4Const(value: number): this {
    const bytes = new Uint8Array(new Float32Array([value, value, value, value]).buffer);
    return this.simd(SIMD.const, ...bytes);
  }
  f32x4Splat(): this { return this.simd(SIMD.f32x4Splat); }
  i32x4Splat(): this { return this.simd(SIMD.i32x4Splat); }
  f32x4ExtractLane(lane: number): this { return this.simd(SIMD.f32x4ExtractLane, lane); }
  f32x4Add(): this { return this.simd(SIMD.f32x4Add); }
  f32x4Sub(): this { return this.simd(SIMD.f32x4Sub); }
  f32x4Mul(): this { return this.simd(SIMD.f32x4Mul); }
  f32x4Div(): this { return this.simd(SIMD.f32x4Div); }
  f32x4Max(): this { return this.simd(SIMD.f32x4Max); }
  f32x4Min(): this { return this.simd(SIMD.f32x4Min); }
  f32x4Ge(): this { return this.simd(SIMD.f32x4Ge); }
  f32x4Gt(): this { return this.simd(SIMD.f32x4Gt); }
  f32x4Abs(): this { return this.simd(SIMD.f32x4Abs); }
  f32x4Neg(): this { return this.simd(SIMD.f32x4Neg); }
  f32x4Nearest(): this { return this.simd(SIMD.f32x4Nearest); }
  i32x4TruncSatF32x4S(): this { return this.simd(SIMD.i32x4TruncSatF32x4S); }
  i32x4Add(): this { return this.simd(SIMD.i32x4Add); }
  i32x4Shl(): this { return this.simd(SIMD.i32x4Shl); }
  v128And(): this { return this.simd(SIMD.and); }
  /** (a, b, mask) → bits of a where mask is 1, of b elsewhere. */
  v128Bitselect(): this { return this.simd(SIMD.bitselect); }
  /** a·b + c, fused or not at the engine's choice (relaxed SIMD proposal). */
  f32x4RelaxedMadd(): this { return this.simd(SIMD.f32x4RelaxedMadd); }

  /** The encoded body (locals + code + end). */
  encode(): number[] {
    const groups: number[][] = [];
    for (const t of this.locals) {
      const last = groups[groups.length - 1];
      if (last && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    const body: number[] = [];
    uleb(groups.length, body);
    for (const [count, type] of groups) {
      uleb(count, body);
      body.push(type);
    }
    body.push(...this.code, 0x0b);
    const out: number[] = [];
    uleb(body.length, out);
    return out.concat(body);
  }
}

export interface FunctionSpec {
  readonly name: string;
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
  readonly body: FunctionBody;
}

function section(id: number, content: number[], out: number[]): void {
  out.push(id);
  uleb(content.length, out);
  out.push(...content);
}

/**
 * A module importing `env.memory` (shared when `sharedMaxPages` is given, so worker threads can
 * run the same code on the same memory) and exporting the functions.
 *
 * @example const bytes = assembleModule([{ name: 'f', params: [I32], results: [], body }], { minPages: 1 });
 */
export function assembleModule(functions: readonly FunctionSpec[], memory: { readonly minPages: number; readonly sharedMaxPages?: number }): Uint8Array {
  const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const types = functions.map((f) => {
    const t = [0x60];
    vec(f.params.map((p) => [p]), t);
    vec(f.results.map((r) => [r]), t);
    return t;
  });
  const typeSec: number[] = [];
  vec(types, typeSec);
  section(1, typeSec, out);
  const limits: number[] = [];
  if (memory.sharedMaxPages !== undefined) {
    limits.push(0x03);
    uleb(memory.minPages, limits);
    uleb(memory.sharedMaxPages, limits);
  } else {
    limits.push(0x00);
    uleb(memory.minPages, limits);
  }
  const importSec: number[] = [];
  vec([[...name('env'), ...name('memory'), 0x02, ...limits]], importSec);
  section(2, importSec, out);
  const funcSec: number[] = [];
  vec(functions.map((_, i) => { const b: number[] = []; uleb(i, b); return b; }), funcSec);
  section(3, funcSec, out);
  const exportSec: number[] = [];
  vec(functions.map((f, i) => { const b = [...name(f.name), 0x00]; uleb(i, b); return b; }), exportSec);
  section(7, exportSec, out);
  const codeSec: number[] = [];
  vec(functions.map((f) => f.body.encode()), codeSec);
  section(10, codeSec, out);
  return Uint8Array.from(out);
}
