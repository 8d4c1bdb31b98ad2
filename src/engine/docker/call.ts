import { fromEngineError } from '../../errors.js';

const SUCCESS_CODES = new Set([200, 201, 204, 304]);

/** Runs a dockerode call, mapping its failure into the error table. */
export async function callEngine<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    const status = (error as { statusCode?: number }).statusCode;
    // dockerode treats some documented successes (201 on podman, 304 not modified) as errors.
    if (status !== undefined && SUCCESS_CODES.has(status)) return undefined as T;
    throw fromEngineError(error);
  }
}
