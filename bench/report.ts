import type { Paired, Summary } from './stats.js';

export type Verdict = 'met' | 'missed' | 'not available' | 'failed';

/** One row of the results table, plus the raw figures behind it for the JSON file. */
export interface ScenarioResult {
  scenario: string;
  podgraph: string;
  baseline: string;
  ratio: string;
  target: string;
  verdict: Verdict;
  /** What was measured and how, and anything the row alone does not say. */
  note: string;
  figures?: Record<string, unknown>;
}

export interface Environment {
  date: string;
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  engine: { name: string; version: string; apiVersion: string };
  node: string;
  commit: string;
  mode: 'full' | 'quick';
  /** Where the server read container logs from (READ_LOG_FILES). */
  logSource: LogSource;
}

export type LogSource = 'files' | 'api';
const LOG_SOURCES: Record<LogSource, string> = {
  files: "the container's log file (READ_LOG_FILES=true, the default with the engine on this host)",
  api: "the engine's API (READ_LOG_FILES=false)",
};

export const ms = (value: number) => (Number.isFinite(value) ? `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms` : 'n/a');
export const percentiles = (s: Summary) => `p50 ${ms(s.median)}, p95 ${ms(s.p95)}, p99 ${ms(s.p99)}`;
export const ratio = (value: number) => (Number.isFinite(value) ? `${value.toFixed(2)}×` : 'n/a');
export const verdict = (met: boolean): Verdict => (met ? 'met' : 'missed');

/** A row comparing two sets of durations. */
export function latencyRow(scenario: string, target: string, result: Paired, met: boolean, note: string): ScenarioResult {
  return {
    scenario,
    podgraph: percentiles(result.podgraph),
    baseline: percentiles(result.baseline),
    ratio: ratio(result.ratio),
    target,
    verdict: verdict(met),
    note: `${note}; podgraph adds ${ms(result.addedAtMedian)} at p50.`,
    figures: { ...result },
  };
}

export function notAvailable(scenario: string, target: string, missing: string[]): ScenarioResult {
  return {
    scenario,
    podgraph: '—',
    baseline: '—',
    ratio: '—',
    target,
    verdict: 'not available',
    note: `The server has no ${missing.join(', ')} yet.`,
  };
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function toMarkdown(environment: Environment, results: ScenarioResult[]): string {
  const e = environment;
  const lines = [
    '# podgraph benchmark results',
    '',
    `${e.date}, ${e.mode} run. Machine: ${e.cpus} × ${e.cpuModel}, ${e.memoryGiB.toFixed(1)} GiB. ` +
      `Engine: ${e.engine.name} ${e.engine.version} (API ${e.engine.apiVersion}). Node ${e.node}. podgraph ${e.commit}. ` +
      `The server read logs from ${LOG_SOURCES[e.logSource]}; every baseline reads through the engine's API.`,
    '',
    'Each scenario runs the podgraph path and the baseline path alternately in the same run; the ratio is podgraph over baseline (medians unless said otherwise). Regenerate with `npm run bench`.',
    '',
    '| scenario | podgraph | baseline | ratio | target | verdict |',
    '|---|---|---|---|---|---|',
    ...results.map((r) => `| ${[r.scenario, r.podgraph, r.baseline, r.ratio, r.target, `**${r.verdict}**`].map(cell).join(' | ')} |`),
    '',
    '## Notes',
    '',
    ...results.map((r) => `- **${r.scenario}**: ${r.note}`),
    '',
  ];
  return lines.join('\n');
}
