import { describe, expect, it } from 'vitest';
import { TerminalScreen } from '../../src/core/terminal-screen.js';

describe('a terminal screen, emulated', () => {
  it('shows what a terminal would: lines, overwrites and a cleared screen, without trailing blanks', async () => {
    const screen = new TerminalScreen({ cols: 20, rows: 5 });
    screen.write('first line\r\nsecond   \r\n');
    expect(await screen.text()).toBe('first line\nsecond');
    screen.write('progress 10%\rprogress 99%');
    expect(await screen.text()).toBe('first line\nsecond\nprogress 99%');
    screen.write('\x1b[2J\x1b[Hfresh');
    expect(await screen.text()).toBe('fresh');
    screen.dispose();
  });

  it('keeps only the rows in view, at its size, and starts over on reset', async () => {
    const screen = new TerminalScreen({ cols: 10, rows: 2 });
    screen.write('a\r\nb\r\nc\r\n0123456789abc');
    expect(await screen.text()).toBe('0123456789\nabc');
    screen.reset();
    expect(await screen.text()).toBe('');
    screen.dispose();
  });
});
