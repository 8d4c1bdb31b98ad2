import { z } from 'zod';
import { globToRegExp } from '../glob.js';

/** `key=value`: the form labels take in a token's scope. */
const labelPair = z
  .string()
  .min(3)
  .max(512)
  .regex(/^[^=\s][^=]*=.+$/, 'must be key=value');

export const scopeSchema = z
  .object({
    /** A container name pattern; `*` matches any run of characters. */
    name: z.string().min(1).max(128).regex(/^[a-zA-Z0-9_.*-]+$/, 'must use only [a-zA-Z0-9_.-] and *').optional(),
    /** Labels every container in scope carries, e.g. ["lab=web-101"]. */
    labels: z.array(labelPair).max(20).optional(),
  })
  .strict()
  .refine((s) => s.name !== undefined || (s.labels?.length ?? 0) > 0, 'a scope needs a name pattern or labels');

/** What a scope needs to know of a container (or of an engine event about one), or of a named volume. */
export interface ScopedContainer {
  name: string;
  labels: Record<string, string>;
}

/** The containers a token may see and touch: those matching its name pattern and all its labels. */
export class ContainerScope {
  private readonly namePattern?: RegExp;
  /** The labels as a record: required of containers in scope, and given to the ones it creates. */
  readonly labels: Record<string, string>;

  constructor(spec: z.output<typeof scopeSchema>) {
    if (spec.name !== undefined) this.namePattern = globToRegExp(spec.name);
    this.labels = Object.fromEntries((spec.labels ?? []).map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
  }

  allowsName(name: string): boolean {
    return !this.namePattern || this.namePattern.test(name);
  }

  allows(container: ScopedContainer): boolean {
    return this.allowsName(container.name) && Object.entries(this.labels).every(([key, value]) => container.labels[key] === value);
  }
}
