import { badInput } from '../errors.js';

/**
 * Splits a command line into words the way a POSIX shell would for quoting (single quotes,
 * double quotes with backslash escapes, backslashes outside quotes), without running a
 * shell: no expansion, no operators, so `;`, `|` and `$()` are ordinary characters.
 */
export function splitShellWords(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: "'" | '"' | null = null;

  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote === "'") {
      if (ch === "'") quote = null;
      else word += ch;
      continue;
    }
    if (quote === '"') {
      if (ch === '"') quote = null;
      else if (ch === '\\' && i + 1 < line.length && '"\\$`\n'.includes(line[i + 1]!)) word += line[++i];
      else word += ch;
      continue;
    }
    if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (ch === '\\') {
      if (i + 1 < line.length) {
        const next = line[++i]!;
        if (next !== '\n') word += next;
      }
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (quote) throw badInput(`Unterminated ${quote === "'" ? 'single' : 'double'} quote in command`);
  if (inWord) words.push(word);
  return words;
}
