import type { AppError } from '../errors.js';
import { errorBody } from './rest/errors.js';
import { isRestPath } from './rest/paths.js';

/** An error answered before GraphQL runs, as GraphQL over HTTP words it. */
export const graphqlErrorBody = (error: AppError) => JSON.stringify({ errors: [{ message: error.message, extensions: { code: error.code } }] });

/** A refusal answered before any handler runs: in the REST shape on REST paths, else GraphQL's. */
export const refusalBody = (url: string | undefined, error: AppError) => (isRestPath(url) ? JSON.stringify(errorBody(error)) : graphqlErrorBody(error));
