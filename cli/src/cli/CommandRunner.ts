/** Runs a command body; errors become one readable message and exit code 1. */
export type CommandRunner = (body: () => Promise<void>) => Promise<void>;
