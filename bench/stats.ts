/** Order statistics of one set of samples (milliseconds unless said otherwise). */
export interface Summary {
  n: number;
  median: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of sorted samples. */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function summarize(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    n: sorted.length,
    median: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? Number.NaN,
  };
}

export interface Paired {
  podgraph: Summary;
  baseline: Summary;
  /** podgraph median / baseline median. */
  ratio: number;
  /** podgraph median - baseline median, in the samples' unit. */
  addedAtMedian: number;
}

export function pair(podgraph: number[], baseline: number[]): Paired {
  const a = summarize(podgraph);
  const b = summarize(baseline);
  return { podgraph: a, baseline: b, ratio: a.median / b.median, addedAtMedian: a.median - b.median };
}

/**
 * Runs the two paths alternately (A B A B ...) so both see the same machine noise: `warmup`
 * rounds are discarded, then `rounds` rounds are timed. Each call returns its own measurement
 * (a duration, or any other number the scenario reports).
 */
export async function interleave(
  paths: { podgraph: () => Promise<number>; baseline: () => Promise<number> },
  options: { warmup: number; rounds: number },
): Promise<Paired> {
  const podgraph: number[] = [];
  const baseline: number[] = [];
  for (let round = 0; round < options.warmup + options.rounds; round++) {
    const a = await paths.podgraph();
    const b = await paths.baseline();
    if (round < options.warmup) continue;
    podgraph.push(a);
    baseline.push(b);
  }
  return pair(podgraph, baseline);
}

/** Milliseconds `work` takes. */
export async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}
