import headless from '@xterm/headless';
import type { TerminalSize } from '../engine/port.js';

/**
 * What a terminal shows, by emulating it here: a lab's grid shows every student's screen as
 * text, with no terminal renderer per tile in the browser.
 */
export class TerminalScreen {
  private readonly terminal: headless.Terminal;

  constructor(size: TerminalSize) {
    // Only the screen is wanted: no scrollback to keep.
    this.terminal = new headless.Terminal({ cols: size.cols, rows: size.rows, scrollback: 0, allowProposedApi: true });
  }

  write(data: string): void {
    this.terminal.write(data);
  }

  /** Starts over from an empty screen, for output that no longer follows on from what was written. */
  reset(): void {
    this.terminal.reset();
  }

  resize(size: TerminalSize): void {
    this.terminal.resize(size.cols, size.rows);
  }

  /** The visible rows as text, once everything written is parsed; trailing blanks and blank rows at the bottom left out. */
  async text(): Promise<string> {
    await new Promise<void>((resolve) => this.terminal.write('', resolve));
    const buffer = this.terminal.buffer.active;
    const rows: string[] = [];
    for (let row = 0; row < this.terminal.rows; row++) rows.push(buffer.getLine(buffer.viewportY + row)?.translateToString(true).trimEnd() ?? '');
    while (rows.length && !rows.at(-1)) rows.pop();
    return rows.join('\n');
  }

  dispose(): void {
    this.terminal.dispose();
  }
}
