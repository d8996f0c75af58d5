import type { BackendService } from '../backend/BackendService';
import type { SwapformerHooks } from '../hooks/SwapformerHooks';
import type { Logger } from './Logger';
import type { RngService } from '../rng/RngService';
import type { KernelContext } from './KernelSettings';

/** The services a plugin receives from the container when it creates an operator. */
export interface OperatorServices {
  readonly backend: BackendService;
  readonly rng: RngService;
  readonly logger: Logger;
  readonly hooks: SwapformerHooks;
  /** The container's kernel settings and kernel resources; hand them to every kernel call. */
  readonly kernels: KernelContext;
}
