import path from 'node:path';
import { z, type ZodType } from 'zod';
import { isContainerIdRef } from '../engine/container-model.js';
import { fromZodError, invalidFields } from '../errors.js';

/**
 * Validates input at the service boundary; a failure is one BAD_USER_INPUT naming the fields.
 * Lone surrogates are refused in every string and key first: they cannot be encoded as UTF-8,
 * so no engine call, file or URL could carry them.
 */
export function parseInput<T>(schema: ZodType<T>, input: unknown): T {
  const malformed = loneSurrogatePath(input);
  if (malformed) throw invalidFields([{ field: malformed.join('.') || '(input)', message: 'must not contain a lone UTF-16 surrogate' }]);
  const result = schema.safeParse(input);
  if (!result.success) throw fromZodError(result.error);
  return result.data;
}

/** A surrogate code unit without its pair (with the u flag, a pair is one code point). */
const LONE_SURROGATE = /\p{Cs}/u;

/** Where in `value` (strings, arrays and plain objects, keys included) the first lone surrogate is. */
function loneSurrogatePath(value: unknown, at: (string | number)[] = []): (string | number)[] | undefined {
  if (typeof value === 'string') return LONE_SURROGATE.test(value) ? at : undefined;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = loneSurrogatePath(item, [...at, index]);
      if (found) return found;
    }
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const prototype = Object.getPrototypeOf(value);
  // GraphQL's input objects have no prototype; Dates and Buffers are not client text.
  if (prototype !== Object.prototype && prototype !== null) return undefined;
  for (const [key, item] of Object.entries(value)) {
    if (LONE_SURROGATE.test(key)) return [...at, key];
    const found = loneSurrogatePath(item, [...at, key]);
    if (found) return found;
  }
  return undefined;
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

/*
 * The engines' image reference grammar (distribution/reference): an optional registry host
 * (with a dot or a port, or localhost), lowercase path components, an optional tag and digest.
 */
const hostComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const registry = `(?:${hostComponent}(?:\\.${hostComponent})+(?::[0-9]+)?|${hostComponent}:[0-9]+|localhost)`;
const pathComponent = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const IMAGE_REFERENCE = new RegExp(
  `^(?:${registry}/)?${pathComponent}(?:/${pathComponent})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$`,
);

export const imageRef = z
  .string()
  .min(1)
  .max(255)
  .regex(IMAGE_REFERENCE, 'must be an image reference such as debian:bookworm (lowercase repository, optional registry, :tag and @sha256:digest)');

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

/** Whether every numeric part of `user[:group]` is an id no larger than `max`. */
export const idsAtMost = (max: number) => (owner: string) => owner.split(':').every((part) => !/^\d+$/.test(part) || Number(part) <= max);

/** A user for processes: a name, a uid, or user:group; never starting with "-" (an option to the engine's tools). */
export const processUser = z
  .string()
  .min(1)
  .max(65)
  .regex(/^[a-zA-Z0-9_.][a-zA-Z0-9_.-]*(:[a-zA-Z0-9_.][a-zA-Z0-9_.-]*)?$/, 'must be a user name or uid, optionally with :group, not starting with "-"')
  .refine(idsAtMost(2 ** 31 - 1), 'a numeric uid or gid must be at most 2147483647');

export const labelKey = z.string().min(1).max(256).refine(noControl, 'must not contain control characters');
export const labelValue = z.string().max(4096).refine(noControl, 'must not contain control characters');

/**
 * Permission bits as people write them: an octal string ("0600", "600", "0o600"), or a number
 * that is the bits' value (420 for 0644). A number above 0o777 is refused: it is almost always
 * octal digits sent as a decimal number (600 would be 0o1130, sticky and world-writable).
 */
export const fileMode = z.union([
  z
    .number()
    .int()
    .min(0)
    .max(0o777, 'a number is read as the bits\' value, so 600 would mean 0o1130: send the octal string "0600" instead'),
  z
    .string()
    .regex(/^(0o?)?[0-7]{1,5}$/, 'must be octal digits such as "0644"')
    .transform((digits) => parseInt(digits.replace(/^0o/, ''), 8))
    .refine((mode) => mode <= 0o7777, 'must be at most 07777'),
]);

/** `key` or `key=value`, all of which a container's labels must match. */
export const labelSelectors = z.array(z.string().min(1).max(512).regex(/^[^=\s][^=]*(=.*)?$/, 'must be key or key=value')).max(20);
