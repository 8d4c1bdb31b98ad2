import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../test/chromium.js';
import { graphqlRequest } from './clients.js';
import { log, waitUntil, type Scenario } from './context.js';
import { BUSYBOX_IMAGE } from './fixtures.js';
import { REMOVE_LAB, roster } from './labs.js';
import { ms, verdict, type ScenarioResult } from './report.js';
import { summarize } from './stats.js';

const MiB = 1024 * 1024;

/**
 * 500 lines every 100 ms, each "L <host uptime> <count>": containers share the host's kernel, so
 * its uptime when the batch was written tells the bench when, on its own clock, to within 10 ms.
 */
const FLOOD =
  'n=0; while :; do read up rest < /proc/uptime; i=0; ' +
  'while [ $i -lt 500 ]; do n=$((n+1)); echo "L $up $n ................................................"; i=$((i+1)); done; sleep 0.1; done';

/** Every interval between animation frames, kept in the page. */
const FRAME_PROBE = `(() => {
  window.__frames = [];
  let last = performance.now();
  const tick = (now) => { window.__frames.push(now - last); last = now; requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
})()`;

/** The host's uptime in seconds, as a container reads it from /proc/uptime. */
const hostUptime = () => Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);

/** Chromium on the server's console, with a heap and frame-time probe. */
async function consolePage(url: string, hash: string): Promise<{ page: Page; sockets: string[]; heapBytes(): Promise<number>; frames(): Promise<number[]>; close(): Promise<void> }> {
  const profile = mkdtempSync(path.join(tmpdir(), 'podgraph-bench-chromium-'));
  let context: BrowserContext | undefined;
  try {
    context = await launchChromium(profile);
    const page = await context.newPage();
    const sockets: string[] = [];
    page.on('websocket', (socket) => sockets.push(socket.url()));
    await page.goto(`${url}/${hash}`, { timeout: 60_000 });
    const cdp = await context.newCDPSession(page);
    return {
      page,
      sockets,
      heapBytes: async () => ((await cdp.send('Runtime.getHeapUsage')) as { usedSize: number }).usedSize,
      frames: () => page.evaluate(() => (window as unknown as { __frames: number[] }).__frames.splice(0)),
      close: async () => {
        await context?.close();
        rmSync(profile, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await context?.close();
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }
}

export const consoleLogFlood: Scenario = {
  name: 'console: a log view at 5,000 lines/s',
  target: 'heap ≤ 150 MB, p95 frame ≤ 50 ms, lines shown within 250 ms',
  requires: ['Subscription.containerLogs'],
  async run(context) {
    const seconds = context.quick ? 10 : 60;
    const container = await context.fixtures.create('console-logs', BUSYBOX_IMAGE, ['sh', '-c', FLOOD]);
    const browser = await consolePage(context.server.url, `#/containers/${container.name}`);
    try {
      const { page } = browser;
      await page.locator('[data-testid="log-view"] .log-row').first().waitFor({ timeout: 60_000 });
      await page.evaluate(FRAME_PROBE);
      log(`  watching a log of ~5,000 lines/s for ${seconds} s`);
      const ages: number[] = [];
      const heaps: number[] = [];
      let first: { at: number; count: number } | undefined;
      let last = { at: 0, count: 0 };
      const end = Date.now() + seconds * 1000;
      while (Date.now() < end) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        // The newest line in view: when it was written, by the host's clock, and its count.
        const newest = await page.evaluate(() => {
          let best: [number, number] | undefined;
          for (const row of document.querySelectorAll('[data-testid="log-view"] .log-row')) {
            const match = /^L ([\d.]+) (\d+)/.exec(row.textContent ?? '');
            if (match && (!best || Number(match[2]) > best[1])) best = [Number(match[1]), Number(match[2])];
          }
          return best;
        });
        if (!newest) continue;
        const now = Date.now();
        ages.push((hostUptime() - newest[0]) * 1000);
        first ??= { at: now, count: newest[1] };
        last = { at: now, count: newest[1] };
        heaps.push(await browser.heapBytes());
      }
      const frames = summarize(await browser.frames());
      const age = summarize(ages);
      const heap = Math.max(...heaps);
      const rate = first && last.at > first.at ? ((last.count - first.count) / (last.at - first.at)) * 1000 : 0;
      const met = heap <= 150 * MiB && frames.p95 <= 50 && age.p95 <= 250;
      return [
        {
          scenario: this.name,
          podgraph: `${Math.round(rate).toLocaleString('en')} lines/s shown; heap max ${(heap / MiB).toFixed(1)} MiB; frame p95 ${ms(frames.p95)}; line age p95 ${ms(age.p95)}, max ${ms(age.max)}`,
          baseline: '—',
          ratio: '—',
          target: this.target,
          verdict: verdict(met),
          note:
            `Chromium (Debian's, headless) on the console's log view of a busybox container printing 500 lines every 100 ms, following, for ${seconds} s. ` +
            "Heap: the page's used JS heap (CDP Runtime.getHeapUsage), sampled every 250 ms; frames: every requestAnimationFrame interval; line age: how long before a sample the newest line in view was written (its batch's host uptime, to 10 ms).",
          figures: { rate, heapMaxBytes: heap, frames, age },
        },
      ];
    } finally {
      await browser.close();
    }
  },
};

const CREATE_LAB = `mutation Create($input: CreateLabInput!) { createLab(input: $input) { credentials { student token } } }`;
const LAB = `query Lab($name: String!) { lab(name: $name) { students { id state } } }`;
const OPEN_TERMINAL = `mutation Open($container: String!, $command: String) { openTerminal(container: $container, command: $command) { id } }`;
/** A terminal that never stops printing. */
const BUSY = 'i=0; while :; do i=$((i+1)); echo "working on step $i"; sleep 0.1; done';

export const consoleLabGrid: Scenario = {
  name: 'console: a lab grid of 30 busy students',
  target: 'one WebSocket, heap ≤ 200 MB, p95 frame ≤ 50 ms',
  requires: ['Subscription.labStatus'],
  async run(context) {
    const seconds = context.quick ? 10 : 30;
    const lab = `bench-${process.pid}-grid`;
    log('  provisioning 30 students, each with a busy terminal');
    const { createLab } = await graphqlRequest<{ createLab: { credentials: Array<{ student: string; token: string }> } }>(context.server.url, CREATE_LAB, {
      input: { name: lab, template: { image: BUSYBOX_IMAGE, command: 'sleep 3600' }, students: roster(30) },
    });
    try {
      await waitUntil(
        'the lab to be provisioned',
        async () => (await graphqlRequest<{ lab: { students: Array<{ state: string }> } }>(context.server.url, LAB, { name: lab })).lab.students.every((s) => s.state === 'READY'),
        180_000,
        500,
      );
      // Each student opens their own, as in class (a token may hold MAX_TERMINALS_PER_TOKEN).
      for (const { student, token } of createLab.credentials) await graphqlRequest(context.server.url, OPEN_TERMINAL, { container: `${lab}-${student}`, command: BUSY }, token);
      const browser = await consolePage(context.server.url, `#/labs/${lab}`);
      try {
        const { page } = browser;
        await waitUntil('every tile to show its terminal', async () => (await page.locator('[data-testid="screen"]').count()) === 30, 60_000, 250);
        await page.evaluate(FRAME_PROBE);
        log(`  watching the grid for ${seconds} s`);
        const heaps: number[] = [];
        for (const end = Date.now() + seconds * 1000; Date.now() < end; ) {
          await new Promise((resolve) => setTimeout(resolve, 500));
          heaps.push(await browser.heapBytes());
        }
        const frames = summarize(await browser.frames());
        const heap = Math.max(...heaps);
        const sockets = browser.sockets.length;
        return [
          {
            scenario: this.name,
            podgraph: `${sockets} WebSocket; heap max ${(heap / MiB).toFixed(1)} MiB; frame p95 ${ms(frames.p95)}`,
            baseline: '—',
            ratio: '—',
            target: this.target,
            verdict: verdict(sockets === 1 && heap <= 200 * MiB && frames.p95 <= 50),
            note: `Chromium on a lab's grid (one labStatus subscription, 2 s ticks, every tile with its terminal's screen) while each of the 30 terminals prints ten lines a second, for ${seconds} s; the lab's activity feed shares the WebSocket.`,
            figures: { sockets, heapMaxBytes: heap, frames },
          } satisfies ScenarioResult,
        ];
      } finally {
        await browser.close();
      }
    } finally {
      await graphqlRequest(context.server.url, REMOVE_LAB, { lab });
    }
  },
};
