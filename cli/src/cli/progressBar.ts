/** A one-line progress bar on stderr (a line per step when stderr is not a terminal). */
export interface ProgressBar {
  tick(label?: string): void;
  done(label?: string): void;
}

export function createProgressBar(total: number, title: string, stream: NodeJS.WriteStream = process.stderr): ProgressBar {
  let current = 0;
  const started = Date.now();
  const tty = stream.isTTY === true;
  const render = (label = '') => {
    const width = 24;
    const filled = total > 0 ? Math.round((current / total) * width) : width;
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    const line = `${title} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${current}/${total} ${secs}s ${label}`;
    stream.write(tty ? `\r${line.padEnd(100).slice(0, 120)}` : `${line}\n`);
  };
  return {
    tick(label) {
      current = Math.min(total, current + 1);
      render(label);
    },
    done(label) {
      current = total;
      render(label ?? 'done');
      if (tty) stream.write('\n');
    },
  };
}
