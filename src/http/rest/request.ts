import type { IncomingMessage } from 'node:http';
import { AppError, badInput, invalidFields } from '../../errors.js';

const notAnObject = () => badInput('Request body must be a JSON object');

function readBounded(req: IncomingMessage, limit: number): Promise<Buffer> {
  const tooLarge = () => new AppError('PAYLOAD_TOO_LARGE', `Request body is over the ${limit}-byte limit`);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    function collect(chunk: Buffer) {
      size += chunk.length;
      if (size > limit) refuse();
      else chunks.push(chunk);
    }
    // Past the limit the rest is dropped until the 413 closes the connection; a client that is
    // still sending then reads the answer rather than a reset.
    function refuse() {
      req.off('data', collect);
      req.resume();
      reject(tooLarge());
    }
    if (Number(req.headers['content-length']) > limit) return refuse();
    req.on('data', collect);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

/**
 * The body as one JSON object, at most `limit` bytes. A null field counts as absent, as it did
 * for the original service's clients.
 */
export async function readJsonObject(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const text = (await readBounded(req, limit)).toString('utf8');
  if (!text.trim()) throw notAnObject();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw badInput(`Request body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw notAnObject();
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null));
}

const TRUE_WORDS = ['true', '1', 'yes'];
const FALSE_WORDS = ['false', '0', 'no'];

/** true/1/yes or false/0/no in any case; absent is false; anything else is refused, never guessed. */
export function queryFlag(query: URLSearchParams, name: string): boolean {
  const raw = query.get(name);
  if (raw === null) return false;
  const word = raw.toLowerCase();
  if (TRUE_WORDS.includes(word)) return true;
  if (FALSE_WORDS.includes(word)) return false;
  throw invalidFields([{ field: name, message: `must be one of ${[...TRUE_WORDS, ...FALSE_WORDS].join(', ')}` }]);
}

/** A non-negative integer, or undefined when absent; the service checks its range. */
export function queryCount(query: URLSearchParams, name: string): number | undefined {
  const raw = query.get(name);
  if (raw === null) return undefined;
  if (!/^\d{1,15}$/.test(raw)) throw invalidFields([{ field: name, message: 'must be a non-negative integer' }]);
  return Number(raw);
}
