/** A one-line progress bar on stderr (a line per step when stderr is not a terminal). */
export interface ProgressBar {
  tick(label?: string): void;
  done(label?: string): void;
}

export interface ProgressBarOptions {
  /** What a tick counts, for the rate ("steps/s"); default "items". */
  readonly unit?: string;
  /** Units per tick (train ticks once per logEvery steps); default 1. */
  readonly perTick?: number;
  /** Milliseconds since an arbitrary origin (tests pass a fake clock). */
  readonly now?: () => number;
}

/** 75 → "1:15", 3725 → "1:02:05". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return hh > 0 ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

/** "3.2 steps/s" or "12 s/steps" turned around for slow work ("8.4 s/step"), and the ETA. */
function rateAndEta(done: number, total: number, elapsedS: number, unit: string, perTick: number): string {
  if (done === 0 || elapsedS <= 0) return 'rate –, ETA –';
  const perSecond = (done * perTick) / elapsedS;
  const rate = perSecond >= 1 ? `${perSecond.toFixed(perSecond >= 10 ? 0 : 1)} ${unit}/s` : `${(1 / perSecond).toFixed(1)} s/${unit.replace(/s$/, '')}`;
  return `${rate}, ETA ${formatDuration(((total - done) * elapsedS) / done)}`;
}

export function createProgressBar(total: number, title: string, stream: NodeJS.WriteStream = process.stderr, options: ProgressBarOptions = {}): ProgressBar {
  const now = options.now ?? Date.now;
  let current = 0;
  const started = now();
  const tty = stream.isTTY === true;
  const render = (label = '') => {
    const width = 24;
    const filled = total > 0 ? Math.round((current / total) * width) : width;
    const elapsed = (now() - started) / 1000;
    // rate and ETA: a long run that only says "step 0" looks hung (issue 23)
    const pace = current < total ? ` ${rateAndEta(current, total, elapsed, options.unit ?? 'items', options.perTick ?? 1)}` : '';
    const line = `${title} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${current}/${total} ${formatDuration(elapsed)}${pace} ${label}`;
    stream.write(tty ? `\r${line.padEnd(100).slice(0, 160)}` : `${line}\n`);
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
