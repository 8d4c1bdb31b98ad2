import { setFlagsFromString } from 'node:v8';
import { z } from 'zod';

// V8's linear-time regular expression engine (the `l` flag) runs any pattern it accepts in time
// linear in the input, so no client pattern can backtrack catastrophically. It only gates the
// flag's parsing, so turning it on at run time is safe.
setFlagsFromString('--enable-experimental-regexp-engine');

export const MAX_PATTERN_LENGTH = 256;

/**
 * A client's regular expression, compiled for linear-time matching. Patterns that need
 * backtracking (backreferences, lookaround) are rejected with BAD_USER_INPUT.
 */
export const linearPattern = z
  .string()
  .min(1, 'must not be empty')
  .max(MAX_PATTERN_LENGTH)
  .transform((source, ctx) => {
    try {
      return new RegExp(source, 'l');
    } catch (error) {
      const reason = (error as Error).message.replace(/^Invalid regular expression: /, '');
      ctx.addIssue({ code: 'custom', message: `must be a regular expression without backreferences or lookaround (${reason})` });
      return z.NEVER;
    }
  });
