// The statistics of the cold-start bench: medians and quantiles of sorted samples, rounding for reports.

export function median(sorted: number[]): number {
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function quantile(sorted: number[], q: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index] as number;
}

export const sorted = (values: number[]): number[] => [...values].sort((a, b) => a - b);

/** To 0.1 ms. */
export const round = (ms: number): number => Math.round(ms * 10) / 10;

/** A ratio to 0.01. */
export const roundRatio = (ratio: number): number => Math.round(ratio * 100) / 100;
