/** Linear warmup then cosine decay, the schedule of nanoGPT and of the ViT recipes. */

export interface LearningRateSchedule {
  /** Peak learning rate, reached at the end of warmup. */
  readonly peak: number;
  readonly warmupSteps: number;
  /** Step at which the cosine reaches `minRatio · peak` (the run's total steps). */
  readonly totalSteps: number;
  /** Final learning rate as a fraction of the peak. */
  readonly minRatio: number;
}

/**
 * The learning rate of (0-based) `step`: `peak · (step + 1) / warmupSteps` during warmup, then
 * a half cosine from `peak` down to `minRatio · peak` at `totalSteps`, flat after.
 *
 * @example learningRateAt({ peak: 1e-3, warmupSteps: 100, totalSteps: 1000, minRatio: 0.1 }, 550) // 5.5e-4
 */
export function learningRateAt(schedule: LearningRateSchedule, step: number): number {
  const { peak, warmupSteps, totalSteps, minRatio } = schedule;
  if (step < warmupSteps) return (peak * (step + 1)) / warmupSteps;
  const span = Math.max(1, totalSteps - warmupSteps);
  const progress = Math.min(1, (step - warmupSteps) / span);
  const floor = peak * minRatio;
  return floor + 0.5 * (peak - floor) * (1 + Math.cos(Math.PI * progress));
}
