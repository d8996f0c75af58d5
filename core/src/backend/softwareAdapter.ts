/** The parts of a WebGPU adapter that tell a software one from a GPU. */
export interface AdapterDescription {
  readonly isFallbackAdapter?: boolean;
  readonly info?: { readonly vendor?: string; readonly architecture?: string; readonly device?: string; readonly description?: string };
}

/** CPU implementations of Vulkan/WebGPU: correct, but slower than the wasm backend by far. */
const SOFTWARE_NAMES = /llvmpipe|lavapipe|swiftshader|softpipe|warp|microsoft basic render/i;

/**
 * Why `adapter` is a software (CPU) implementation, or null for a real GPU. Checked by `auto`,
 * which once chose lavapipe on a machine without a GPU and trained for minutes with no output.
 */
export function softwareAdapterReason(adapter: AdapterDescription): string | null {
  if (adapter.isFallbackAdapter === true) return 'the adapter is a fallback (software) adapter';
  const info = adapter.info ?? {};
  if (info.architecture?.toLowerCase() === 'software') return `the adapter is a software renderer (${info.description || info.device || info.vendor})`;
  const named = [info.vendor, info.device, info.description].find((s) => s !== undefined && SOFTWARE_NAMES.test(s));
  return named ? `the adapter is a software renderer (${named})` : null;
}
