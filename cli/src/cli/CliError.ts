import { SwapformerError } from '@swapformer/core';

/** Prints an error the CLI way: one readable message, the stack only with --verbose. Returns the exit code. */
export function reportCliError(error: unknown, verbose: boolean, stream: NodeJS.WriteStream = process.stderr): number {
  const message = SwapformerError.is(error) || error instanceof Error ? error.message : String(error);
  stream.write(`swapformer: error: ${message}\n`);
  if (verbose && error instanceof Error && error.stack) stream.write(`${error.stack}\n`);
  else if (!SwapformerError.is(error)) stream.write('  (run with --verbose for the stack trace)\n');
  return 1;
}
