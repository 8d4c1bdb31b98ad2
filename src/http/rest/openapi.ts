/**
 * OpenAPI 3.1 description of the `/api/v1` surface, served at `/api/v1/openapi.json`. Written as
 * data; a test sends a request to every operation here and checks the answer against it.
 */

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (description: string, schema: object) => ({ description, content: { 'application/json': { schema } } });
const object = (properties: Record<string, object>, required = Object.keys(properties)) => ({
  type: 'object',
  properties,
  required,
  additionalProperties: false,
});
const string = { type: 'string' };
const timestamp = { type: 'string', description: 'UTC, ISO-8601 without zone and with microsecond digits, as the original service wrote it.' };
const success = { type: 'boolean', const: true };
const stringOrArgv = [string, { type: 'array', items: string, minItems: 1 }];

const ERROR_RESPONSES = {
  400: 'Missing or invalid field, a body that is not a JSON object, or invalid JSON (type ValidationError).',
  401: 'No bearer token, or one that is not configured (only when AUTH_TOKENS is set).',
  403: "The token's role may not use this route (viewer reads, operator acts), or the container policy refuses the request.",
  404: 'No such container or image.',
  408: 'The operation did not finish in time; its work was stopped.',
  409: 'Conflict with the current state: name in use, duplicate user, container running (remove without force) or not running.',
  413: 'The request body is over the size bound (MAX_BODY_BYTES).',
  429: "The token used its burst of actions; the Retry-After header says when to retry.",
  431: 'The request line and headers are over the server bound (16 KiB).',
  500: 'Unexpected failure; the message carries an id that the server log has (type InternalError).',
  503: 'The container engine cannot be reached (type PodmanAPIError), or the server is shutting down (type ShuttingDownError).',
} as const;

type ErrorStatus = keyof typeof ERROR_RESPONSES;

const errorResponses = (statuses: ErrorStatus[]) =>
  Object.fromEntries(statuses.map((status) => [status, json(ERROR_RESPONSES[status], ref('Error'))]));

/** Every route needs a token once tokens are configured, and any request may be over the header bound. */
const EVERY_ROUTE_ERRORS: ErrorStatus[] = [401, 403, 431];

/** The success answer plus the authentication errors and the given ones, all with the one error body. */
function responses(description: string, schema: object, ...errors: ErrorStatus[]) {
  return { 200: json(description, schema), ...errorResponses([...EVERY_ROUTE_ERRORS, ...errors]) };
}

const nameParameter = {
  name: 'name',
  in: 'path',
  required: true,
  description: 'Container name, full id or unique id prefix.',
  schema: string,
};

const jsonBody = (name: string) => ({ required: true, content: { 'application/json': { schema: ref(name) } } });

const ENGINE_ERRORS: ErrorStatus[] = [408, 500, 503];
/** Anything but a read counts against the token's rate limit. */
const ACTION: ErrorStatus[] = [429, ...ENGINE_ERRORS];
const WITH_BODY: ErrorStatus[] = [400, 413];

export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'podgraph REST compatibility API',
    version: '1.0.0',
    description:
      'The original REST surface, served from the same services as the GraphQL API at /graphql. ' +
      'Every error answers with the Error body; an unknown path is a 404 and a known path with another method a 405. ' +
      'With AUTH_TOKENS set, every request needs a bearer token; the viewer role reads (GET), the operator role acts.',
  },
  servers: [{ url: '/api/v1' }],
  security: [{ bearer: [] }, {}],
  paths: {
    '/health': {
      get: {
        summary: 'Engine connectivity',
        responses: {
          200: json('The engine answers.', ref('Healthy')),
          503: json('The engine cannot be reached.', ref('Unhealthy')),
          ...errorResponses(EVERY_ROUTE_ERRORS),
        },
      },
    },
    '/metrics': {
      get: { summary: 'Uptime and worker pool', responses: responses('Server metrics.', ref('Metrics')) },
    },
    '/openapi.json': {
      get: { summary: 'This document', responses: responses('The OpenAPI document.', { type: 'object' }) },
    },
    '/containers': {
      get: {
        summary: 'List all containers, running and stopped',
        responses: responses('Every container.', ref('ContainerList'), ...ENGINE_ERRORS),
      },
      post: {
        summary: 'Create and start a container',
        requestBody: jsonBody('CreateContainerRequest'),
        responses: responses('Created and started.', ref('ContainerCreated'), ...WITH_BODY, 404, 409, ...ACTION),
      },
    },
    '/containers/{name}': {
      delete: {
        summary: 'Remove a container',
        parameters: [
          nameParameter,
          {
            name: 'force',
            in: 'query',
            description: 'true/1/yes or false/0/no (any case); absent is false; anything else is a 400.',
            schema: { type: 'string', enum: ['true', '1', 'yes', 'false', '0', 'no'] },
          },
        ],
        responses: responses('Removed.', ref('ContainerRemoved'), 400, 404, 409, ...ACTION),
      },
    },
    '/containers/{name}/start': {
      post: {
        summary: 'Start a container',
        parameters: [nameParameter],
        responses: responses('Started.', ref('ContainerStarted'), 400, 404, ...ACTION),
      },
    },
    '/containers/{name}/stop': {
      post: {
        summary: 'Stop a container',
        parameters: [nameParameter],
        responses: responses('Stopped.', ref('ContainerStopped'), 400, 404, ...ACTION),
      },
    },
    '/containers/{name}/logs': {
      get: {
        summary: 'The last lines of stdout and stderr, as one text',
        parameters: [
          nameParameter,
          { name: 'tail', in: 'query', description: 'Lines to return (default 100), up to MAX_LOG_TAIL.', schema: { type: 'integer', minimum: 0 } },
        ],
        responses: responses('Logs.', ref('Logs'), 400, 404, ...ENGINE_ERRORS),
      },
    },
    '/containers/{name}/exec': {
      post: {
        summary: 'Run a command in a running container',
        parameters: [nameParameter],
        requestBody: jsonBody('ExecRequest'),
        responses: responses('The command ran; a non-zero exit code is still a 200.', ref('ExecResult'), ...WITH_BODY, 404, 409, ...ACTION),
      },
    },
    '/containers/{name}/users': {
      post: {
        summary: 'Add a user account in a running container',
        parameters: [nameParameter],
        requestBody: jsonBody('AddUserRequest'),
        responses: responses('Created.', ref('UserCreated'), ...WITH_BODY, 404, 409, ...ACTION),
      },
    },
    '/containers/{name}/files': {
      post: {
        summary: 'Write a file into a container',
        parameters: [nameParameter],
        requestBody: jsonBody('WriteFileRequest'),
        responses: responses('Written.', ref('FileWritten'), ...WITH_BODY, 404, 409, ...ACTION),
      },
    },
  },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A token from AUTH_TOKENS or AUTH_TOKENS_FILE.' } },
    schemas: {
      Error: object({ success: { type: 'boolean', const: false }, error: ref('ErrorDetail'), timestamp }),
      ErrorDetail: object({
        message: string,
        code: { type: 'integer', description: 'The HTTP status.' },
        type: { type: 'string', examples: ['ValidationError', 'PodmanAPIError', 'InternalError'] },
      }),
      Healthy: object({ status: { const: 'healthy' }, podman: { const: 'connected' }, timestamp }),
      Unhealthy: object({
        success: { type: 'boolean', const: false },
        status: { const: 'unhealthy' },
        podman: { const: 'disconnected' },
        error: ref('ErrorDetail'),
        timestamp,
      }),
      Metrics: object({
        uptime_seconds: { type: 'integer', minimum: 0 },
        uptime_human: { type: 'string', examples: ['0:05:23', '2 days, 3:04:05'] },
        active_threads: { type: 'integer', minimum: 0, description: 'Engine operations in flight or queued.' },
        max_workers: { type: 'integer', minimum: 1 },
        timestamp,
      }),
      ContainerList: object({
        success,
        containers: {
          type: 'array',
          items: object({ id: { type: 'string', minLength: 12, maxLength: 12 }, name: string, status: string, image: string }),
        },
      }),
      ContainerCreated: object({
        success,
        container: object({ id: { type: 'string', minLength: 12, maxLength: 12 }, name: string, status: { type: 'string', examples: ['running'] } }),
      }),
      ContainerStarted: object({ success, container: object({ name: string, status: { const: 'started' } }) }),
      ContainerStopped: object({ success, container: object({ name: string, status: { const: 'stopped' } }) }),
      ContainerRemoved: object({ success, container: object({ name: string, removed: { const: true } }) }),
      Logs: object({ success, container: object({ logs: string }) }),
      ExecResult: object({
        success,
        execution: object({
          exit_code: { type: ['integer', 'null'] },
          output: string,
          success: { type: 'boolean' },
          cancelled: { type: 'boolean', description: 'Killed before it finished because the client went away.' },
        }),
      }),
      UserCreated: object({ success, user: object({ username: string, created: { const: true } }) }),
      FileWritten: object({
        success,
        file: object({ dest_path: string, size: { type: 'integer', minimum: 0, description: 'Bytes written.' } }),
      }),
      CreateContainerRequest: {
        type: 'object',
        required: ['image', 'name'],
        properties: {
          image: { type: 'string', description: 'A local image; images are not pulled.' },
          name: string,
          command: {
            description: 'A string is split into words as a shell would (quotes respected; no shell runs); a list is the argv.',
            oneOf: stringOrArgv,
          },
          environment: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] } },
          ports: {
            type: 'object',
            description: '{"containerPort[/tcp|/udp]": hostPort}; a null host port takes any free one.',
            additionalProperties: { type: ['string', 'integer', 'null'] },
          },
          volumes: {
            type: 'object',
            description:
              '{"/host/path": "/container/path"} or {"/host/path": {"bind": "/container/path", "mode": "ro"}}; host paths only under ALLOWED_BIND_ROOTS (else 403).',
            additionalProperties: {
              oneOf: [string, { type: 'object', required: ['bind'], properties: { bind: string, mode: { enum: ['rw', 'ro'] } } }],
            },
          },
          user: string,
        },
      },
      ExecRequest: {
        type: 'object',
        required: ['command'],
        properties: {
          command: { description: 'A string runs through /bin/sh -c; a list runs as is.', oneOf: stringOrArgv },
          user: { type: 'string', description: 'user, uid or user:group.' },
        },
      },
      AddUserRequest: {
        type: 'object',
        required: ['username'],
        properties: {
          username: string,
          password: { type: 'string', description: 'Sent over stdin, never through a shell; no line breaks.' },
          shell: { type: 'string', description: 'Default /bin/sh.' },
        },
      },
      WriteFileRequest: {
        type: 'object',
        required: ['dest_path', 'content'],
        properties: {
          dest_path: { type: 'string', description: 'Absolute and normalised; missing parent directories are created.' },
          content: { type: 'string', description: 'UTF-8 text.' },
        },
      },
    },
  },
} as const;
