/** Service identifiers of the Swapformer container (`Symbol.for`, so duplicate bundles agree). */
export const SERVICE_IDS = {
  Backend: Symbol.for('swapformer.service.Backend'),
  Rng: Symbol.for('swapformer.service.Rng'),
  Logger: Symbol.for('swapformer.service.Logger'),
  Hooks: Symbol.for('swapformer.service.Hooks'),
  Kernels: Symbol.for('swapformer.service.Kernels'),
  Registry: Symbol.for('swapformer.service.Registry'),
} as const;
