// For the GPU scripts: when DAWN_FLAGS is set (space-separated `webgpu` create flags, e.g.
// `enable-dawn-features=enable_integer_range_analysis_in_robustness` or
// `disable-dawn-features=timestamp_quantization`, which gives timestamp queries their full
// resolution instead of Dawn's browser-like 65 µs steps), installs a Dawn navigator.gpu made with
// them before core.useBackend('webgpu'), which then keeps it (subgroups wrapped as core does).
// Returns the flags used, or undefined.
function installDawnFlags(flags = process.env.DAWN_FLAGS) {
  if (!flags) return undefined;
  const dawn = require('webgpu');
  const { withSubgroups } = require('../../core/dist/backend/dawnSubgroups');
  Object.assign(globalThis, dawn.globals);
  Object.defineProperty(globalThis, 'navigator', { value: { gpu: withSubgroups(dawn.create(flags.split(' '))) }, configurable: true, writable: true });
  return flags;
}

module.exports = { installDawnFlags };
