/** A run of text in one style, as ANSI SGR sequences set it. */
export interface Segment {
  text: string;
  /** Classes of styles.css: bold, dim, italic, underline, fg-N and bg-N for the 16 basic colours. */
  classes: string;
  /** 256-colour and true-colour values, which no class covers. */
  color?: string;
  background?: string;
}

interface Style {
  bold: boolean;
  dim: boolean;
  italic: boolean;
  underline: boolean;
  fg?: number | string;
  bg?: number | string;
}

const PLAIN: Style = { bold: false, dim: false, italic: false, underline: false };
// CSI sequences (SGR among them), OSC strings (terminated by BEL or ST), and lone two-byte escapes.
const ESCAPES = /\x1b\[([0-9;?]*)([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;

/** The xterm 256-colour palette's colour `n` (16 and above), as CSS. */
function paletteColor(n: number): string {
  if (n >= 232) {
    const level = 8 + (n - 232) * 10;
    return `rgb(${level},${level},${level})`;
  }
  const cube = n - 16;
  const level = (v: number) => (v === 0 ? 0 : 55 + v * 40);
  return `rgb(${level(Math.floor(cube / 36))},${level(Math.floor(cube / 6) % 6)},${level(cube % 6)})`;
}

/** An extended colour (38;5;n or 38;2;r;g;b) from `codes` at `i`: the colour and how many codes it took. */
function extendedColor(codes: number[], i: number): [number | string | undefined, number] {
  if (codes[i + 1] === 5) {
    const n = codes[i + 2] ?? 0;
    return [n < 16 ? n : paletteColor(n), 3];
  }
  if (codes[i + 1] === 2) return [`rgb(${codes[i + 2] ?? 0},${codes[i + 3] ?? 0},${codes[i + 4] ?? 0})`, 5];
  return [undefined, 1];
}

function applySgr(style: Style, parameters: string): Style {
  const codes = parameters === '' ? [0] : parameters.split(';').map((p) => Number(p) || 0);
  let next = { ...style };
  for (let i = 0; i < codes.length; i++) {
    const code = codes[i]!;
    if (code === 0) next = { ...PLAIN };
    else if (code === 1) next.bold = true;
    else if (code === 2) next.dim = true;
    else if (code === 3) next.italic = true;
    else if (code === 4) next.underline = true;
    else if (code === 22) next.bold = next.dim = false;
    else if (code === 23) next.italic = false;
    else if (code === 24) next.underline = false;
    else if (code >= 30 && code <= 37) next.fg = code - 30;
    else if (code >= 90 && code <= 97) next.fg = code - 90 + 8;
    else if (code === 39) next.fg = undefined;
    else if (code >= 40 && code <= 47) next.bg = code - 40;
    else if (code >= 100 && code <= 107) next.bg = code - 100 + 8;
    else if (code === 49) next.bg = undefined;
    else if (code === 38 || code === 48) {
      const [color, used] = extendedColor(codes, i);
      if (code === 38) next.fg = color;
      else next.bg = color;
      i += used - 1;
    }
  }
  return next;
}

function segment(text: string, style: Style): Segment {
  const classes = [
    style.bold && 'bold',
    style.dim && 'dim',
    style.italic && 'italic',
    style.underline && 'underline',
    typeof style.fg === 'number' && `fg-${style.fg}`,
    typeof style.bg === 'number' && `bg-${style.bg}`,
  ].filter(Boolean);
  return {
    text,
    classes: classes.join(' '),
    color: typeof style.fg === 'string' ? style.fg : undefined,
    background: typeof style.bg === 'string' ? style.bg : undefined,
  };
}

/** Splits one log line into styled runs; escape sequences other than colours and weights are dropped. */
export function parseAnsi(line: string): Segment[] {
  if (!line.includes('\x1b')) return [{ text: line, classes: '' }];
  const segments: Segment[] = [];
  let style = PLAIN;
  let from = 0;
  for (const match of line.matchAll(ESCAPES)) {
    if (match.index > from) segments.push(segment(line.slice(from, match.index), style));
    if (match[2] === 'm') style = applySgr(style, match[1] ?? '');
    from = match.index + match[0].length;
  }
  if (from < line.length) segments.push(segment(line.slice(from), style));
  return segments;
}
