import { describe, expect, it } from 'vitest';
import { interleave, summarize } from '../../bench/stats.js';

describe('bench statistics', () => {
  it('summarises with nearest-rank percentiles, whatever the order of the samples', () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(summarize(samples)).toEqual({ n: 100, median: 50, p95: 95, p99: 99, max: 100 });
    expect(summarize([7])).toEqual({ n: 1, median: 7, p95: 7, p99: 7, max: 7 });
    expect(summarize([]).median).toBeNaN();
  });

  it('runs the two paths alternately, drops the warm-up rounds and compares medians', async () => {
    const calls: string[] = [];
    let podgraphRound = 0;
    const result = await interleave(
      {
        podgraph: async () => (calls.push('A'), [100, 12, 14, 13][podgraphRound++]!),
        baseline: async () => (calls.push('B'), 10),
      },
      { warmup: 1, rounds: 3 },
    );
    expect(calls.join('')).toBe('ABABABAB');
    expect(result.podgraph).toMatchObject({ n: 3, median: 13, max: 14 });
    expect(result.ratio).toBeCloseTo(1.3);
    expect(result.addedAtMedian).toBe(3);
  });
});
