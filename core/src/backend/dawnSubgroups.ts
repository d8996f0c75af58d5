/**
 * Subgroups for the Dawn device Swapformer creates in Node. tfjs-webgpu asks its adapter for a
 * device with a fixed feature list (no `subgroups`), and places its own declarations before a
 * program's code, where WGSL forbids an `enable` directive. So for the `navigator.gpu` we install
 * from the `webgpu` package (never a browser's), the adapter's device also gets `subgroups` when
 * the adapter has it, and that device's shader modules get their `enable` lines moved to the top.
 * Programs check `device.features` before they use subgroup built-ins, so a device without the
 * feature runs the same programs' other paths.
 */

interface DawnDevice {
  createShaderModule(descriptor: { code: string; label?: string }): unknown;
}

interface DawnAdapter {
  readonly features: ReadonlySet<string>;
  requestDevice(descriptor?: { requiredFeatures?: Iterable<string> }): Promise<DawnDevice>;
}

export interface DawnGpu {
  requestAdapter(options?: unknown): Promise<DawnAdapter | null>;
}

const ENABLE_DIRECTIVE = /^[ \t]*enable[ \t]+[A-Za-z0-9_, \t]+;[ \t]*$/gm;

/**
 * WGSL `code` with its `enable …;` lines first (each once), the rest unchanged.
 *
 * @example hoistEnableDirectives('struct U { n : i32 };\nenable subgroups;\nfn f() {}') // 'enable subgroups;\nstruct U …'
 */
export function hoistEnableDirectives(code: string): string {
  const directives = code.match(ENABLE_DIRECTIVE);
  if (!directives) return code;
  const unique = [...new Set(directives.map((d) => d.trim()))];
  return `${unique.join('\n')}\n${code.replace(ENABLE_DIRECTIVE, '')}`;
}

/** `gpu` whose adapters make devices with subgroups (where offered) and hoisted `enable` directives. */
export function withSubgroups(gpu: DawnGpu): DawnGpu {
  return {
    async requestAdapter(options?: unknown) {
      const adapter = await gpu.requestAdapter(options);
      if (!adapter || !adapter.features.has('subgroups')) return adapter;
      const requestDevice = adapter.requestDevice.bind(adapter);
      adapter.requestDevice = async (descriptor = {}) => {
        const requiredFeatures = [...new Set([...(descriptor.requiredFeatures ?? []), 'subgroups'])];
        const device = await requestDevice({ ...descriptor, requiredFeatures });
        const createShaderModule = device.createShaderModule.bind(device);
        device.createShaderModule = (module) => createShaderModule({ ...module, code: hoistEnableDirectives(module.code) });
        return device;
      };
      return adapter;
    },
  };
}
