import { describe, expect, it } from 'vitest';
import { matchesLabels } from '../../src/core/container-index.js';

describe('matchesLabels', () => {
  const labels = { lab: 'web-101', 'podgraph.test': '1', empty: '', equation: 'a=b' };

  it('takes a key alone as "has this label", whatever its value', () => {
    expect(matchesLabels(labels, ['lab'])).toBe(true);
    expect(matchesLabels(labels, ['empty'])).toBe(true);
    expect(matchesLabels(labels, ['missing'])).toBe(false);
  });

  it('takes key=value as an exact value, split at the first =', () => {
    expect(matchesLabels(labels, ['lab=web-101'])).toBe(true);
    expect(matchesLabels(labels, ['lab=web-102'])).toBe(false);
    expect(matchesLabels(labels, ['lab=web'])).toBe(false);
    expect(matchesLabels(labels, ['empty='])).toBe(true);
    expect(matchesLabels(labels, ['equation=a=b'])).toBe(true);
  });

  it('needs every filter to match; none matches everything', () => {
    expect(matchesLabels(labels, ['lab=web-101', 'podgraph.test=1'])).toBe(true);
    expect(matchesLabels(labels, ['lab=web-101', 'podgraph.test=2'])).toBe(false);
    expect(matchesLabels(labels, [])).toBe(true);
    expect(matchesLabels({}, ['lab'])).toBe(false);
  });

  it('does not take inherited properties for labels', () => {
    expect(matchesLabels({}, ['constructor'])).toBe(false);
    expect(matchesLabels({}, ['toString'])).toBe(false);
  });
});
