import path from 'node:path';
import { z, type ZodType } from 'zod';
import { isContainerIdRef } from '../engine/engine.js';
import { fromZodError } from '../errors.js';

/** Validates input at the service boundary; a failure is one BAD_USER_INPUT naming the fields. */
export function parseInput<T>(schema: ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (!result.success) throw fromZodError(result.error);
  return result.data;
}

const noControl = (value: string) => !/[\u0000-\u001f\u007f]/.test(value);

/** A container reference: a full ID or unique ID prefix when isContainerIdRef says so, else an exact name. */
export const containerRef = z
  .string()
  .min(1, 'must not be empty')
  .max(255)
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'must be a container name or ID');

/** Names as the engines accept them, except those a reference would read as an ID. */
export const containerName = z
  .string()
  .min(2)
  .max(128)
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'must start with a letter or digit and use only [a-zA-Z0-9_.-]')
  .refine((name) => !isContainerIdRef(name), 'must not look like a container ID (12 to 64 lowercase hex characters)');

export const imageRef = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9._\-/:@]*$/, 'must be an image reference such as debian:bookworm');

/** An absolute, already normalised path: no `..`, `.`, doubled or trailing slashes, no NUL. */
export const absolutePath = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => !p.includes('\0'), 'must not contain NUL')
  .refine((p) => p.startsWith('/'), 'must be absolute')
  .refine((p) => p === '/' || (path.posix.normalize(p) === p && !p.endsWith('/')), 'must be normalised (no "..", ".", "//" or trailing "/")');

/** A file path: absolute, normalised, and not the root itself. */
export const filePath = absolutePath.refine((p) => p !== '/', 'must name a file, not /');

/**
 * A home directory or login shell as it goes into /etc/passwd and onto a useradd command line:
 * a file path of at most 255 characters that neither the account files nor a shell treat specially.
 */
export const accountPath = filePath
  .refine((p) => p.length <= 255, 'must be at most 255 characters')
  .refine((p) => /^[A-Za-z0-9._/+-]*$/.test(p), 'must use only the characters A-Z a-z 0-9 . _ / + -');

/** Portable account names (POSIX portable set, not starting with "-"). */
export const accountName = z
  .string()
  .min(1)
  .max(32)
  .regex(/^[a-z_][a-z0-9_.-]*\$?$/, 'must start with a lowercase letter or "_" and use only [a-z0-9_.-]');

export const envName = z.string().min(1).max(256).regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a valid variable name');
export const envValue = z.string().max(32 * 1024).refine((v) => !v.includes('\0'), 'must not contain NUL');

/** A process's argument vector: at least one word, no NUL bytes. */
export const argv = z
  .array(z.string().max(64 * 1024).refine((v) => !v.includes('\0'), 'must not contain NUL'))
  .min(1, 'must have at least one word')
  .max(4096);

/** A user for processes: a name, a uid, or user:group. */
export const processUser = z
  .string()
  .min(1)
  .max(65)
  .regex(/^[a-zA-Z0-9_.-]+(:[a-zA-Z0-9_.-]+)?$/, 'must be a user name or uid, optionally with :group');

export const labelKey = z.string().min(1).max(256).refine(noControl, 'must not contain control characters');
export const labelValue = z.string().max(4096).refine(noControl, 'must not contain control characters');
