/**
 * fast-check arbitraries for the fuzzing suite: mutations of valid inputs (bit flips,
 * truncations, overwritten and inserted bytes, edge values written at the header fields) and
 * generated JSON (huge and negative numbers, deep nesting, unicode keys and strings).
 */
import fc from 'fast-check';

/** Integers at the edges of every width a header field might be read with. */
export const EDGE_NUMBERS: readonly number[] = [0, 1, -1, 2, 7, 8, 9, 255, 256, 65535, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53, -(2 ** 53), 1e308, -1e308, 0.5, -0];

/** 64-bit values for a little-endian u64 length field (safetensors' header length). */
export const EDGE_U64: readonly bigint[] = [0n, 1n, 2n, 7n, 8n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n, 100n * 1024n * 1024n, 100n * 1024n * 1024n + 1n];

/** One mutation of `base`. */
export function mutatedBytes(base: Uint8Array, fields: { u64At?: readonly number[]; u32BeAt?: readonly number[] } = {}): fc.Arbitrary<Uint8Array> {
  const copy = () => Uint8Array.from(base);
  const flips = fc.array(fc.nat(), { minLength: 1, maxLength: 8 }).map((bits) => {
    const out = copy();
    for (const b of bits) if (out.length > 0) out[Math.floor(b / 8) % out.length] ^= 1 << (b % 8);
    return out;
  });
  const truncated = fc.nat({ max: Math.max(0, base.length) }).map((n) => base.slice(0, n));
  const overwritten = fc.record({ at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 32 }) }).map(({ at, bytes }) => {
    const out = copy();
    if (out.length > 0) out.set(bytes.subarray(0, Math.max(0, out.length - (at % out.length))), at % out.length);
    return out;
  });
  const inserted = fc.record({ at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }).map(({ at, bytes }) => {
    const i = at % (base.length + 1);
    return Uint8Array.from([...base.subarray(0, i), ...bytes, ...base.subarray(i)]);
  });
  const options: Array<fc.Arbitrary<Uint8Array>> = [flips, truncated, overwritten, inserted];
  if (fields.u64At?.length) {
    options.push(
      fc.record({ field: fc.constantFrom(...fields.u64At), value: fc.oneof(fc.constantFrom(...EDGE_U64), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.constantFrom(BigInt(base.length), BigInt(base.length - 8), BigInt(base.length - 7), BigInt(base.length - 9))) }).map(({ field, value }) => {
        const out = copy();
        if (field + 8 <= out.length) new DataView(out.buffer).setBigUint64(field, value < 0n ? 0n : value, true);
        return out;
      }),
    );
  }
  if (fields.u32BeAt?.length) {
    options.push(
      fc.record({ field: fc.constantFrom(...fields.u32BeAt), value: fc.oneof(fc.constantFrom(0, 1, 2, 28, 255, 0x7fffffff, 0x80000000, 0xffffffff), fc.nat({ max: 0xffffffff })) }).map(({ field, value }) => {
        const out = copy();
        if (field + 4 <= out.length) new DataView(out.buffer).setUint32(field, value, false);
        return out;
      }),
    );
  }
  return fc.oneof(...options);
}

/** JSON-able values with the awkward cases weighted in: edge numbers, unicode, nesting past any limit. */
export function awkwardJson(): fc.Arbitrary<unknown> {
  const leaf = fc.oneof(fc.constantFrom(...EDGE_NUMBERS), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(), fc.string({ unit: 'binary', maxLength: 12 }), fc.boolean(), fc.constant(null));
  const deep = fc.nat({ max: 400 }).map((depth) => {
    let v: unknown = 1;
    for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
    return v;
  });
  return fc.oneof({ weight: 4, arbitrary: fc.jsonValue({ maxDepth: 4 }) }, { weight: 2, arbitrary: leaf }, { weight: 1, arbitrary: deep }, { weight: 1, arbitrary: fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 8 }), leaf, { maxKeys: 6 }) });
}

/**
 * `base` with one value replaced by an awkward one at a random path (or a key renamed, or one
 * deleted): mutations that keep most of a valid document, so the checks past the first one run.
 */
export function mutatedJson(base: unknown): fc.Arbitrary<unknown> {
  const paths: Array<Array<string | number>> = [];
  const walk = (v: unknown, at: Array<string | number>) => {
    paths.push(at);
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...at, i]));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...at, k]);
  };
  walk(base, []);
  return fc.record({ path: fc.constantFrom(...paths), value: awkwardJson(), how: fc.constantFrom('replace', 'delete', 'rename', 'string') }).map(({ path, value, how }) => {
    const doc = structuredClone(base) as Record<string | number, unknown>;
    if (path.length === 0) return how === 'replace' ? value : doc;
    const parent = path.slice(0, -1).reduce<Record<string | number, unknown>>((o, k) => o[k] as Record<string | number, unknown>, doc);
    const key = path[path.length - 1];
    if (how === 'delete') delete parent[key];
    else if (how === 'rename' && !Array.isArray(parent)) {
      parent[`${String(key)}\u200b`] = parent[key];
      delete parent[key];
    } else if (how === 'string') parent[key] = JSON.stringify(parent[key] ?? null);
    else parent[key] = value;
    return doc;
  });
}

/** Text of a JSON document, mutated as text: cut, a character inserted, or a byte-order mark / NUL / lone surrogate added. */
export function mutatedJsonText(base: string): fc.Arbitrary<string> {
  return fc.oneof(
    fc.nat({ max: base.length }).map((n) => base.slice(0, n)),
    fc.record({ at: fc.nat({ max: base.length }), s: fc.oneof(fc.string({ unit: 'binary', maxLength: 4 }), fc.constantFrom('\ufeff', '\u0000', '\ud800', '//', '/*', ',', '}', ']', '"', '\\', '1e999', '-', '[', '{')) }).map(({ at, s }) => base.slice(0, at) + s + base.slice(at)),
    fc.nat({ max: 3000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth)),
  );
}
