import { mkdirSync, readFileSync } from 'node:fs';
import type { Locator, Page, WebSocketRoute } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { ContainerTerminalsDocument } from '../client/index.js';
import { authTokens, containerMaker, TOKENS } from './auth-kit.js';
import { openBrowser, type Browser } from './browser-kit.js';
import { ContainerQuery, CreateLab, Exec, OpenTerminalId, ReadFile, RemoveLab, TerminalInput, WriteFile } from './documents.js';
import { graphql } from './gql/index.js';
import { BUSYBOX_IMAGE, containerFactory, DEBIAN_IMAGE, startTestServer, type TestServer } from './kit.js';

/** The console's first load parses its scripts on a loaded 2-core machine; each step after waits for the server and the engine. */
const LOAD_MS = 60_000;
const STEP_MS = 30_000;
const TEST_MS = 240_000;
/** Prints a numbered tick five times a second, for as long as it runs. */
const TICKS = `sh -c 'i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 0.2; done'`;
/** The same ticks, each in one of six ANSI colours. */
const COLOURED_TICKS = `sh -c 'i=0; while true; do i=$((i+1)); printf "\\033[3%dmtick %d\\033[0m\\n" $((i%6+1)) $i; sleep 0.2; done'`;
/** Where the README's screenshots are written. */
const SCREENSHOTS = new URL('../docs/', import.meta.url);
/** The prefix of every container name this file makes (kit.ts's uniqueName), to filter the shared engine's list by. */
const OUR_NAMES = `pgt-console-${process.pid}`;

async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: new URL(`console-${name}.png`, SCREENSHOTS).pathname });
}

/** The console in a fresh browser, on `path`, once the page shows (the sign-in form or a page's heading). */
async function openConsole(server: TestServer, path = '/'): Promise<{ browser: Browser; page: Page }> {
  const browser = await openBrowser(server.url);
  try {
    const page = await browser.open(path, LOAD_MS);
    await page.locator('h1, .container-page').first().waitFor({ timeout: LOAD_MS });
    return { browser, page };
  } catch (error) {
    await browser.close();
    throw error;
  }
}

const row = (page: Page, name: string) => page.locator(`tr[data-container="${name}"]`);
const highestTick = (text: string) => Math.max(0, ...[...text.matchAll(/tick (\d+)/g)].map((m) => Number(m[1])));
const terminalText = (view: Locator) => view.locator('.xterm-rows').innerText();

/** Opens a container's page on one of its tabs. */
async function openTab(page: Page, server: TestServer, container: string, tab: string): Promise<void> {
  await page.goto(`${server.url}/#/containers/${container}`, { timeout: LOAD_MS });
  await page.getByRole('tab', { name: tab }).click({ timeout: STEP_MS });
}

/** Types into a terminal the way a person does: click it, then keys. */
async function typeInto(page: Page, text: string): Promise<void> {
  await page.getByTestId('terminal').click({ timeout: STEP_MS });
  await page.keyboard.type(text);
  await page.keyboard.press('Enter');
}

describe('the console, with authentication off', async () => {
  const server = await startTestServer();
  const create = containerFactory(server);

  it('is served with a CSP of its own origin, its page never cached, its hashed assets cached for good, and no other file', async () => {
    const page = await fetch(`${server.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const host = new URL(server.url).host;
    expect(page.headers.get('content-security-policy')).toContain(`default-src 'self'; connect-src 'self' ws://${host} wss://${host}`);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(await page.text())?.[1];
    const asset = await fetch(`${server.url}${script}`);
    expect([asset.status, asset.headers.get('cache-control'), asset.headers.get('content-type')]).toEqual([
      200,
      'public, max-age=31536000, immutable',
      'text/javascript; charset=utf-8',
    ]);
    for (const path of ['/console/assets/missing.js', '/console/index.html', '/console/assets/..%2f..%2fpackage.json']) {
      const missing = await fetch(`${server.url}${path}`);
      expect(missing.status, path).toBe(404);
      expect((await missing.json()).errors[0].extensions.code).toBe('NOT_FOUND');
    }
  });

  it(
    'loads from the server alone and lists a container created through the API, live, with its uptime and stats; stops it',
    async () => {
      const { browser, page } = await openConsole(server);
      try {
        await page.getByLabel('Filter by name').fill(OUR_NAMES);
        const container = await create(BUSYBOX_IMAGE, { name: 'console', command: TICKS });
        const listed = row(page, container.name);
        await expect.poll(() => listed.locator('.state').innerText(), { timeout: STEP_MS }).toBe('running');
        // Memory comes from the stats stream, the uptime from the start time.
        await expect.poll(() => listed.innerText(), { timeout: STEP_MS }).toMatch(/[\d.]+ (B|KiB|MiB)/);
        expect(await listed.innerText()).toMatch(/\d+s/);
        await screenshot(page, 'containers');

        await listed.getByRole('button', { name: 'Stop' }).click({ timeout: STEP_MS });
        await expect.poll(() => listed.locator('.state').innerText(), { timeout: STEP_MS }).toBe('exited');
        expect((await server.ok(ContainerQuery, { ref: container.name })).container.state).toBe('EXITED');
        expect(browser.elsewhere).toEqual([]);
      } finally {
        await browser.close();
      }
    },
    TEST_MS,
  );

  it(
    'shows new log lines as they are written, in colour; keeps the scroll position while paused; downloads the whole log; filters on the server',
    async () => {
      const container = await create(BUSYBOX_IMAGE, { name: 'console', command: COLOURED_TICKS });
      const { browser, page } = await openConsole(server, `/#/containers/${container.name}`);
      try {
        const view = page.getByTestId('log-view');
        // Enough lines to scroll through, and still coming.
        await expect.poll(async () => highestTick(await view.innerText()), { timeout: STEP_MS }).toBeGreaterThan(60);
        const following = highestTick(await view.innerText());
        await expect.poll(async () => highestTick(await view.innerText()), { timeout: STEP_MS }).toBeGreaterThan(following);
        expect(await view.locator('.log-row span.fg-2').count()).toBeGreaterThan(0);
        await screenshot(page, 'logs');

        // The reader scrolls back: following stops; then pauses there.
        await view.evaluate((element) => (element.scrollTop = element.scrollTop - 300));
        await expect.poll(() => page.getByTestId('log-state').innerText(), { timeout: STEP_MS }).toBe('Scrolled back');
        await page.getByRole('button', { name: 'Pause' }).click({ timeout: STEP_MS });
        const where = () =>
          view.evaluate((element) => {
            const rows = [...element.querySelectorAll<HTMLElement>('.log-row')];
            const top = rows.filter((r) => r.offsetTop >= element.scrollTop).sort((a, b) => a.offsetTop - b.offsetTop)[0];
            return { scrollTop: element.scrollTop, topLine: top?.innerText };
          });
        const paused = await where();
        expect(paused.topLine).toMatch(/^tick \d+$/);
        await expect
          .poll(async () => Number(/(\d+) new lines/.exec(await page.getByTestId('log-state').innerText())?.[1]), { timeout: STEP_MS })
          .toBeGreaterThanOrEqual(10);
        expect(await where()).toEqual(paused);

        // Resuming shows what came meanwhile and follows again.
        const before = highestTick(await view.innerText());
        await page.getByRole('button', { name: 'Resume' }).click({ timeout: STEP_MS });
        await expect.poll(async () => highestTick(await view.innerText()), { timeout: STEP_MS }).toBeGreaterThan(before + 10);
        expect(await page.getByTestId('log-state').innerText()).toBe('Following');

        const [download] = await Promise.all([page.waitForEvent('download', { timeout: STEP_MS }), page.getByRole('button', { name: 'Download' }).click()]);
        const saved = readFileSync((await download.path())!, 'utf8').trimEnd().split('\n');
        expect(saved[0]).toMatch(/ stdout \x1b\[32mtick 1\x1b\[0m$/);
        // Every line from the first on, none missing.
        expect(saved.map((line) => Number(/tick (\d+)/.exec(line)?.[1]))).toEqual(saved.map((_, i) => i + 1));

        // The server matches the raw line, escapes included: ticks ending in 5.
        await page.getByLabel('Filter (regular expression)').fill('tick [0-9]*5.\\[0m$');
        await page.getByRole('button', { name: 'Filter' }).click();
        const shownTicks = async () => [...(await view.innerText()).matchAll(/tick (\d+)/g)].map((m) => Number(m[1]));
        // Until the filtered log has replaced the whole one: only then are all ticks shown ones ending in 5.
        const filtered = (ticks: number[]) => ticks.length > 5 && ticks.every((tick) => tick % 10 === 5);
        await expect.poll(async () => filtered(await shownTicks()), { timeout: STEP_MS }).toBe(true);
        expect(browser.elsewhere).toEqual([]);
      } finally {
        await browser.close();
      }
    },
    TEST_MS,
  );

  it(
    'resumes a log after a lost connection right after its last line: no gap, no line twice',
    async () => {
      const container = await create(BUSYBOX_IMAGE, { name: 'console', command: TICKS });
      const browser = await openBrowser(server.url, { width: 1280, height: 2400 });
      try {
        const page = await browser.context.newPage();
        // The page's WebSockets go through the test, which can cut them as a network would.
        const sockets: WebSocketRoute[] = [];
        await page.routeWebSocket(/\/graphql$/, (socket) => {
          socket.connectToServer();
          sockets.push(socket);
        });
        await page.goto(`${server.url}/#/containers/${container.name}`, { timeout: LOAD_MS });
        const view = page.getByTestId('log-view');
        await expect.poll(async () => highestTick(await view.innerText()), { timeout: LOAD_MS }).toBeGreaterThan(10);

        const cutAt = highestTick(await view.innerText());
        await Promise.all(sockets.map((socket) => socket.close({ code: 4500, reason: 'cut by the test' })));
        await expect.poll(() => sockets.length, { timeout: STEP_MS }).toBeGreaterThan(1);
        await expect.poll(async () => highestTick(await view.innerText()), { timeout: STEP_MS }).toBeGreaterThan(cutAt + 5);
        // The rows in view (a tall window holds over a hundred) span the cut.
        const ticks = [...(await view.innerText()).matchAll(/tick (\d+)/g)].map((m) => Number(m[1]));
        expect(ticks).toContain(cutAt);
        expect(ticks).toEqual(ticks.map((_, i) => ticks[0]! + i));
      } finally {
        await browser.close();
      }
    },
    TEST_MS,
  );

  it(
    'shares a terminal between two pages, and a resize of the window reaches the process',
    async () => {
      const container = await create(DEBIAN_IMAGE, { name: 'console', command: 'sleep infinity' });
      const { browser, page: opener } = await openConsole(server);
      try {
        await openTab(opener, server, container.name, 'Terminal');
        await opener.getByRole('button', { name: 'Open a terminal' }).click({ timeout: STEP_MS });
        const openerView = opener.getByTestId('terminal');
        await expect.poll(() => terminalText(openerView), { timeout: STEP_MS }).toMatch(/[#$]/);

        const watcher = await browser.context.newPage();
        await openTab(watcher, server, container.name, 'Terminal');
        await watcher.getByRole('button', { name: 'Join' }).click({ timeout: STEP_MS });
        const watcherView = watcher.getByTestId('terminal');
        await expect.poll(() => watcher.getByTestId('terminal-watchers').innerText(), { timeout: STEP_MS }).toBe('2 watching');

        await typeInto(opener, 'echo shared-$((6*7))');
        await expect.poll(() => terminalText(watcherView), { timeout: STEP_MS }).toContain('shared-42');
        // The watcher only watches: its keys go nowhere.
        await typeInto(watcher, 'echo not-sent');
        await typeInto(opener, 'echo still-$((1+1))');
        await expect.poll(() => terminalText(watcherView), { timeout: STEP_MS }).toContain('still-2');
        expect(await terminalText(openerView)).not.toContain('not-sent');

        // A smaller window: the terminal is fitted to it and the server resizes the process's terminal.
        // (It was opened at 80×24 and fitted to the first window at once.)
        await expect.poll(() => opener.getByTestId('terminal-size').innerText(), { timeout: STEP_MS }).not.toBe('80×24');
        const sizeBefore = await opener.getByTestId('terminal-size').innerText();
        await opener.setViewportSize({ width: 800, height: 500 });
        await expect.poll(() => opener.getByTestId('terminal-size').innerText(), { timeout: STEP_MS }).not.toBe(sizeBefore);
        const [cols, rows] = (await opener.getByTestId('terminal-size').innerText()).split('×').map(Number);
        const { container: inspected } = await server.ok(ContainerTerminalsDocument, { ref: container.name });
        expect(inspected.terminals.map((t) => [t.cols, t.rows])).toContainEqual([cols, rows]);
        await typeInto(opener, 'stty size');
        await expect.poll(() => terminalText(openerView), { timeout: STEP_MS }).toContain(`${rows} ${cols}`);
        await expect.poll(() => watcher.getByTestId('terminal-size').innerText(), { timeout: STEP_MS }).toBe(`${cols}×${rows}`);
        await screenshot(opener, 'terminal');
        expect(browser.elsewhere).toEqual([]);
      } finally {
        await browser.close();
      }
    },
    TEST_MS,
  );

  it(
    "lists a container's executions newest first, a page at a time, each opened to its output; filters by outcome; a run through the API arrives live, with its activity",
    async () => {
      const container = (await create(BUSYBOX_IMAGE, { name: 'console' })).name;
      const exec = (input: { command?: string; args?: string[] }) => server.ok(Exec, { container, input });
      await exec({ command: 'echo before-$((1+1)); echo oops >&2; exit 3' });
      // A page and one more.
      for (let i = 0; i < 20; i++) await exec({ args: ['true'] });
      const { browser, page } = await openConsole(server);
      try {
        await openTab(page, server, container, 'History');
        const runs = page.getByTestId('executions').locator('li');
        await expect.poll(() => runs.count(), { timeout: STEP_MS }).toBe(20);
        await page.getByRole('button', { name: 'Load more' }).click({ timeout: STEP_MS });
        await expect.poll(() => runs.count(), { timeout: STEP_MS }).toBe(21);
        expect(await runs.last().locator('summary').innerText()).toContain('exit 3');

        await exec({ args: ['echo', 'live run'] });
        await expect.poll(() => runs.count(), { timeout: STEP_MS }).toBe(22);
        const newest = runs.first();
        expect(await newest.locator('summary').innerText()).toMatch(/^exit 0 .* echo 'live run'$/);
        await newest.locator('summary').click();
        await expect.poll(() => newest.getByTestId('stdout').innerText(), { timeout: STEP_MS }).toContain('live run');
        const activity = page.getByTestId('activity').locator('tr[data-kind="EXEC_END"]');
        await expect.poll(() => activity.count(), { timeout: STEP_MS }).toBe(22);

        await page.getByLabel('Outcome').selectOption('failed');
        await expect.poll(() => runs.count(), { timeout: STEP_MS }).toBe(1);
        const failed = runs.first();
        await failed.locator('summary').click();
        await expect.poll(() => failed.getByTestId('stderr').innerText(), { timeout: STEP_MS }).toContain('oops');
        expect(await failed.getByTestId('stdout').innerText()).toContain('before-2');
        expect(await failed.innerText()).toContain('exit 3 after');
        // A failure arrives live under this filter too, a success does not.
        await exec({ args: ['true'] });
        await exec({ args: ['false'] });
        await expect.poll(() => runs.count(), { timeout: STEP_MS }).toBe(2);
        await expect.poll(() => activity.count(), { timeout: STEP_MS }).toBe(24);
        await screenshot(page, 'history');
        expect(browser.elsewhere).toEqual([]);
      } finally {
        await browser.close();
      }
    },
    TEST_MS,
  );

  it(
    'browses to a directory and back by its breadcrumbs, shows a text file, uploads a file and downloads it byte for byte',
    async () => {
      const container = (await create(BUSYBOX_IMAGE, { name: 'console' })).name;
      await server.ok(WriteFile, { container, input: { path: '/srv/lab one/notes.txt', content: 'find the flag\n' } });
      const uploaded = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      const { browser, page } = await openConsole(server);
      try {
        await openTab(page, server, container, 'Files');
        const entry = (name: string) => page.getByTestId('directory').locator(`tr[data-entry="${name}"]`);
        const path = page.getByRole('navigation', { name: 'Path' });
        await entry('srv').getByRole('button').click({ timeout: STEP_MS });
        await entry('lab one').getByRole('button').click({ timeout: STEP_MS });
        await entry('notes.txt').waitFor({ timeout: STEP_MS });
        expect(await path.getByRole('button').allInnerTexts()).toEqual(['/', 'srv', 'lab one']);

        await page.getByLabel('Upload a file').setInputFiles({ name: 'upload me.bin', mimeType: 'application/octet-stream', buffer: uploaded });
        await entry('upload me.bin').waitFor({ timeout: STEP_MS });
        const stored = (await server.ok(ReadFile, { ref: container, path: '/srv/lab one/upload me.bin', encoding: 'BASE64' })).container.file;
        expect(Buffer.from(stored.content, 'base64')).toEqual(uploaded);
        const [download] = await Promise.all([
          page.waitForEvent('download', { timeout: STEP_MS }),
          entry('upload me.bin').getByRole('button', { name: 'Download' }).click({ timeout: STEP_MS }),
        ]);
        expect(download.suggestedFilename()).toBe('upload me.bin');
        expect(readFileSync((await download.path())!)).toEqual(uploaded);

        await entry('notes.txt').getByRole('button', { name: 'notes.txt', exact: true }).click({ timeout: STEP_MS });
        await expect.poll(() => page.getByTestId('file-content').innerText(), { timeout: STEP_MS }).toContain('find the flag');
        await screenshot(page, 'files');
        await path.getByRole('button', { name: 'srv' }).click({ timeout: STEP_MS });
        await entry('lab one').waitFor({ timeout: STEP_MS });
        expect(await path.getByRole('button').allInnerTexts()).toEqual(['/', 'srv']);
        expect(browser.elsewhere).toEqual([]);
      } finally {
        await browser.close();
      }
    },
    TEST_MS,
  );

  it(
    "replays a terminal's recording in the page, to its end",
    async () => {
      const container = (await create(BUSYBOX_IMAGE, { name: 'console' })).name;
      const terminal = (await server.ok(OpenTerminalId, { container, args: ['sh'] })).openTerminal;
      await server.ok(TerminalInput, { id: terminal.id, data: 'echo replay-$((6*7))\nexit\n' });
      const RecordingEnded = graphql(`
        query RecordingEnded($id: ID!) {
          recording(id: $id) {
            endedAt
          }
        }
      `);
      await expect.poll(async () => (await server.ok(RecordingEnded, { id: terminal.id })).recording.endedAt, { timeout: STEP_MS }).not.toBeNull();
      const { browser, page } = await openConsole(server);
      try {
        await openTab(page, server, container, 'History');
        await page.locator(`tr[data-recording="${terminal.id}"]`).getByRole('button', { name: 'Replay' }).click({ timeout: STEP_MS });
        const player = page.getByTestId('player');
        await player.getByRole('button', { name: 'To the end' }).click({ timeout: STEP_MS });
        await expect.poll(() => terminalText(player), { timeout: STEP_MS }).toContain('replay-42');
        await screenshot(page, 'replay');
        expect(browser.elsewhere).toEqual([]);
      } finally {
        await browser.close();
      }
    },
    TEST_MS,
  );

  it(
    "shows a lab's grid of five from one subscription, with a terminal's screen on its tile; runs a check across it onto the tiles; takes a tile to its student's container",
    async () => {
      const lab = `console-${process.pid}`;
      const students = ['s01', 's02', 's03', 's04', 's05'].map((id) => ({ id, displayName: `Student ${id}` }));
      await server.ok(CreateLab, { input: { name: lab, template: { image: BUSYBOX_IMAGE, command: 'sleep 3600' }, students } });
      const { browser, page } = await openConsole(server, '/#/labs');
      try {
        await page.locator(`tr[data-lab="${lab}"] a`).click({ timeout: STEP_MS });
        const tile = (id: string) => page.locator(`article[data-student="${id}"]`);
        for (const { id } of students) {
          await expect.poll(() => tile(id).innerText(), { timeout: STEP_MS }).toMatch(/running[\s\S]*CPU [\d.]+ %/);
        }
        const terminal = (await server.ok(OpenTerminalId, { container: `${lab}-s02`, args: ['sh'] })).openTerminal;
        await server.ok(TerminalInput, { id: terminal.id, data: 'echo screen-$((6*7))\n' });
        await expect.poll(() => tile('s02').getByTestId('screen').innerText(), { timeout: STEP_MS }).toContain('screen-42');
        await page.getByLabel('Check command').fill('echo "solved by $(hostname)"');
        await page.getByRole('button', { name: 'Run check' }).click({ timeout: STEP_MS });
        for (const { id } of students) await expect.poll(() => tile(id).getByTestId('check').innerText(), { timeout: STEP_MS }).toMatch(/^solved by /);
        await expect.poll(() => page.getByRole('button', { name: 'Run check' }).isEnabled(), { timeout: STEP_MS }).toBe(true);
        // Each check is an execution, and the lab's activity feed shows it with its container.
        const checked = page.getByTestId('activity').locator('tr[data-kind="EXEC_END"]');
        await expect.poll(() => checked.count(), { timeout: STEP_MS }).toBe(5);
        expect(await checked.first().innerText()).toContain(`${lab}-s0`);
        await screenshot(page, 'lab');
        await tile('s02').getByRole('link', { name: 'Watch' }).click({ timeout: STEP_MS });
        await page.locator('.container-page').waitFor({ timeout: STEP_MS });
        expect(page.url()).toContain(`#/containers/${lab}-s02`);
        expect(browser.elsewhere).toEqual([]);
      } finally {
        await browser.close();
        await server.ok(RemoveLab, { lab });
      }
    },
    TEST_MS,
  );
});

describe('the console, with tokens', async () => {
  const server = await startTestServer({ AUTH_TOKENS: authTokens('console') });
  const container = (await containerMaker(server.url).createOk('operator')).name;

  /** Signs in with a token and waits for the container's row. */
  async function signInAs(page: Page, token: string): Promise<Locator> {
    await page.getByLabel('Token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click({ timeout: STEP_MS });
    await page.getByLabel('Filter by name').fill(container);
    const listed = row(page, container);
    await listed.waitFor({ timeout: STEP_MS });
    return listed;
  }

  it(
    'asks for a token; a viewer is offered no action, an operator is',
    async () => {
      const { browser, page } = await openConsole(server);
      try {
        await page.getByLabel('Token').fill('not-a-token-of-this-server');
        await page.getByRole('button', { name: 'Sign in' }).click({ timeout: STEP_MS });
        await page.getByText('The token is not valid').waitFor({ timeout: STEP_MS });
        await screenshot(page, 'sign-in');

        const asViewer = await signInAs(page, TOKENS.viewer);
        expect(await page.getByTestId('access').innerText()).toBe('viewer · viewer');
        expect(await page.getByRole('button', { name: /^(Create|Start|Stop|Restart|Remove)$/ }).count()).toBe(0);
        expect(await asViewer.getByRole('button').count()).toBe(0);
        await openTab(page, server, container, 'Terminal');
        await page.getByText('No terminal is open in this container.').waitFor({ timeout: STEP_MS });
        expect(await page.getByRole('button', { name: 'Open a terminal' }).count()).toBe(0);
        // Files are read as root: not for a viewer.
        expect(await page.getByRole('tab', { name: 'Files' }).count()).toBe(0);

        await page.getByRole('button', { name: 'Sign out' }).click({ timeout: STEP_MS });
        const asOperator = await signInAs(page, TOKENS.operator);
        await asOperator.getByRole('button', { name: 'Stop' }).waitFor({ timeout: STEP_MS });
        expect(await page.getByTestId('access').innerText()).toBe('operator · operator');
        expect(await page.getByRole('button', { name: 'Create' }).count()).toBe(1);
        expect(browser.elsewhere).toEqual([]);
      } finally {
        await browser.close();
      }
    },
    TEST_MS,
  );
});
