import type { Locator, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { authTokens, containerMaker, TOKENS } from './auth-kit.js';
import { openBrowser, type Browser } from './browser-kit.js';
import { BUSYBOX_IMAGE, containerFactory, startTestServer } from './kit.js';

/** GraphiQL is one page of about 9 MB, parsed on a loaded 2-core machine. */
const LOAD_MS = 90_000;
const STEP_MS = 30_000;
/** Prints a numbered tick five times a second, for as long as it runs. */
const TICKS = `sh -c 'i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 0.2; done'`;

type GraphiQL = Browser & { page: Page };

/** GraphiQL of the server at `url`, with no network but the server. Resolves once its query editor shows. */
async function openGraphiQL(url: string): Promise<GraphiQL> {
  const browser = await openBrowser(url);
  try {
    const page = await browser.open('/graphql', LOAD_MS);
    await page.locator('.graphiql-query-editor .monaco-editor').waitFor({ state: 'visible', timeout: LOAD_MS });
    return { ...browser, page };
  } catch (error) {
    await browser.close();
    throw error;
  }
}

/** The text GraphiQL shows in its result pane. */
const resultText = (page: Page) => page.locator('.graphiql-response').innerText();

/** Runs one of the document's operations from the ▶ button's menu. */
async function runOperation(page: Page, name: string): Promise<void> {
  await page.locator('.graphiql-execute-button').click({ timeout: STEP_MS });
  await page.getByRole('menuitem', { name, exact: true }).click({ timeout: STEP_MS });
}

/** The variables or headers editor, whichever tab is open. */
const toolEditor = (page: Page): Locator => page.locator('.graphiql-editor-tool .monaco-editor').locator('visible=true');

/** Replaces an editor's text as a person types it (the editor closes brackets and quotes as they go). */
async function typeInto(page: Page, editor: Locator, text: string): Promise<void> {
  await editor.click({ timeout: STEP_MS });
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await page.keyboard.type(text);
  await expect.poll(async () => (await editor.innerText()).replace(/\s+/g, ''), { timeout: STEP_MS }).toContain(text.replace(/\s+/g, ''));
}

/** The editor shows spaces as no-break spaces: \s matches both. */
/**
 * Runs the Containers query and waits for its list. The engine is shared, so the list may be
 * longer than the pane shows (the editor renders only the lines in view): its start will do.
 */
async function expectContainerList(page: Page): Promise<void> {
  await runOperation(page, 'Containers');
  await expect.poll(() => resultText(page), { timeout: STEP_MS }).toMatch(/"containers":\s\[/);
  expect(await resultText(page)).not.toContain('"errors"');
}

const highestTick = (text: string) => Math.max(0, ...[...text.matchAll(/tick\s(\d+)/g)].map((m) => Number(m[1])));

/** Runs the FollowLogs subscription on `container` and waits until the result pane moves on by itself. */
async function expectLiveLogs(page: Page, container: string): Promise<void> {
  await typeInto(page, toolEditor(page), JSON.stringify({ container, tail: 1 }));
  await runOperation(page, 'FollowLogs');
  let first = 0;
  await expect.poll(async () => (first = highestTick(await resultText(page))), { timeout: STEP_MS }).toBeGreaterThan(0);
  await expect.poll(async () => highestTick(await resultText(page)), { timeout: STEP_MS }).toBeGreaterThan(first);
}

describe('GraphiQL in a browser, with no network but the server', async () => {
  const server = await startTestServer();
  const create = containerFactory(server);

  it('loads from the server alone, runs the first document’s query and shows its subscription live', async () => {
    const container = (await create(BUSYBOX_IMAGE, { command: TICKS })).name;
    const graphiql = await openGraphiQL(server.url);
    try {
      const { page } = graphiql;
      await expect.poll(() => toolEditor(page).innerText(), { timeout: STEP_MS }).toContain('"container"');
      await expectContainerList(page);
      await expectLiveLogs(page, container);
      expect(graphiql.elsewhere).toEqual([]);
    } finally {
      await graphiql.close();
    }
  });
});

describe('GraphiQL in a browser, with tokens', async () => {
  const server = await startTestServer({ AUTH_TOKENS: authTokens('browser') });
  const container = (await containerMaker(server.url).createOk('operator', { command: TICKS })).name;

  it('takes the token from the Headers tab for queries and subscriptions alike', async () => {
    const graphiql = await openGraphiQL(server.url);
    try {
      const { page } = graphiql;
      await runOperation(page, 'Containers');
      await expect.poll(() => resultText(page), { timeout: STEP_MS }).toContain('UNAUTHENTICATED');

      await page.getByRole('button', { name: 'Headers', exact: true }).click({ timeout: STEP_MS });
      await typeInto(page, toolEditor(page), JSON.stringify({ Authorization: `Bearer ${TOKENS.viewer}` }));
      await expectContainerList(page);

      await page.getByRole('button', { name: 'Variables', exact: true }).click({ timeout: STEP_MS });
      await expectLiveLogs(page, container);
      expect(graphiql.elsewhere).toEqual([]);
    } finally {
      await graphiql.close();
    }
  });
});
