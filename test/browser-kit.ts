import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';
import { CHROMIUM, launchChromium } from './chromium.js';

export interface Browser {
  context: BrowserContext;
  /** Every request and WebSocket the browser attempted to any other origin than the server's (all blocked). */
  elsewhere: string[];
  /** A new tab on `path` of the server, loaded. */
  open(path: string, timeoutMs: number): Promise<Page>;
  close(): Promise<void>;
}

/**
 * Chromium with a fresh profile, for the server at `url`: every request to another origin is
 * blocked and noted, so a page that needs the network fails its test.
 */
export async function openBrowser(url: string, viewport = { width: 1280, height: 800 }): Promise<Browser> {
  expect(existsSync(CHROMIUM), `${CHROMIUM} is missing; scripts/test.sh installs it (apt-get install chromium)`).toBe(true);
  const origin = new URL(url).origin;
  const profile = mkdtempSync(join(tmpdir(), 'podgraph-chromium-'));
  let context: BrowserContext | undefined;
  const close = async () => {
    await context?.close();
    rmSync(profile, { recursive: true, force: true });
  };
  try {
    context = await launchChromium(profile, viewport);
    const elsewhere: string[] = [];
    // The page's own blobs (editor workers, downloads) and data: URLs never leave the browser.
    const local = (target: string) => target.startsWith('blob:') || target.startsWith('data:') || new URL(target).origin === origin;
    context.on('request', (request) => {
      if (!local(request.url())) elsewhere.push(request.url());
    });
    await context.route('**/*', (route) => (local(route.request().url()) ? route.continue() : route.abort('blockedbyclient')));
    const watchSockets = (page: Page) =>
      page.on('websocket', (socket) => {
        if (new URL(socket.url()).host !== new URL(url).host) elsewhere.push(socket.url());
      });
    context.pages().forEach(watchSockets);
    context.on('page', watchSockets);
    const open = async (path: string, timeoutMs: number) => {
      const page = context!.pages().find((p) => p.url() === 'about:blank') ?? (await context!.newPage());
      await page.goto(`${url}${path}`, { timeout: timeoutMs });
      return page;
    };
    return { context, elsewhere, open, close };
  } catch (error) {
    await close();
    throw error;
  }
}
