/** Minimal logger service; the default writes warnings and errors to stderr (the console in a browser). */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 };

/** Node's stderr stream where there is one; pages and workers have only the console. */
function stderrWriter(): ((line: string) => void) | null {
  const stderr = (globalThis as { process?: { stderr?: { write?: (s: string) => unknown } } }).process?.stderr;
  return typeof stderr?.write === 'function' ? (line) => void stderr.write!(line) : null;
}

const CONSOLE_METHOD = { debug: 'debug', info: 'info', warn: 'warn', error: 'error' } as const;

/** A stderr logger (console.debug/info/warn/error where there is no stderr) that drops messages below `level`. */
export function createConsoleLogger(level: LogLevel = 'warn'): Logger {
  const write = stderrWriter();
  const at = (l: Exclude<LogLevel, 'silent'>) => (message: string) => {
    if (ORDER[l] < ORDER[level]) return;
    if (write) write(`[swapformer] ${l}: ${message}\n`);
    else console[CONSOLE_METHOD[l]](`[swapformer] ${l}: ${message}`);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** A logger that records messages (tests). */
export function createMemoryLogger(): Logger & { readonly lines: string[] } {
  const lines: string[] = [];
  const at = (l: string) => (message: string) => void lines.push(`${l}: ${message}`);
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
