import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AppError, fromEngineError } from '../../src/errors.js';
import { imageRef, parseInput, processUser } from '../../src/core/validation.js';

function errorOf(run: () => unknown): AppError | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    return error as AppError;
  }
}
const codeOf = (run: () => unknown) => errorOf(run)?.code ?? 'ok';

describe('parseInput', () => {
  const anything = z.unknown();

  it.each([
    ['a string', '\ud800', '(input)'],
    ['a trailing low surrogate', 'x\udc00', '(input)'],
    ['a nested string', { command: ['ok', 'bad\ud800'] }, 'command.1'],
    ['a key', { env: { ['K\udbff']: 'v' } }, 'env.K\udbff'],
  ])('refuses a lone surrogate in %s, naming where', (_label, value, field) => {
    const error = errorOf(() => parseInput(anything, value));
    expect(error?.code).toBe('BAD_USER_INPUT');
    expect(error?.details?.issues).toEqual([{ field, message: expect.stringContaining('surrogate') }]);
  });

  it('accepts paired surrogates, RTL overrides and other text', () => {
    expect(parseInput(anything, { text: 'emoji 😀 \u202e', when: new Date(0) })).toBeTruthy();
  });
});

describe('imageRef', () => {
  it.each([
    'debian',
    'debian:bookworm',
    'localhost/podgraph/debian:bookworm',
    'registry.example.com:5000/lab/web_app-v2:1.0.0-rc.1',
    'my-registry:5000/x',
    'quay.io/a/b__c',
    `busybox@sha256:${'a'.repeat(64)}`,
    `busybox:latest@sha256:${'0'.repeat(64)}`,
  ])('accepts %s', (ref) => {
    expect(codeOf(() => parseInput(imageRef, ref))).toBe('ok');
  });

  it.each([
    'NaN',
    'Busybox',
    'Lab/busybox',
    'busybox:',
    'busybox:-tag',
    `busybox:${'t'.repeat(129)}`,
    'busybox@sha256:abc',
    '-busybox',
    'busy//box',
    'busybox/',
    'a..b',
    `x/${'a'.repeat(255)}`,
  ])('refuses %s', (ref) => {
    expect(codeOf(() => parseInput(imageRef, ref))).toBe('BAD_USER_INPUT');
  });
});

describe('processUser', () => {
  it.each(['root', '1000', '1000:1000', 'student:staff', '2147483647:0'])('accepts %s', (user) => {
    expect(codeOf(() => parseInput(processUser, user))).toBe('ok');
  });

  it.each(['-1', '--help', 'root:-g', '2147483648', '0:99999999999', ''])('refuses %s', (user) => {
    expect(codeOf(() => parseInput(processUser, user))).toBe('BAD_USER_INPUT');
  });
});

describe('fromEngineError', () => {
  it('gives malformed references and unencodable text BAD_USER_INPUT, not INTERNAL', () => {
    const podman = Object.assign(new Error('(HTTP code 500) server error - normalizing image: repository name must be lowercase'), {
      statusCode: 500,
      json: { message: 'normalizing image: normalizing name for compat API: repository name must be lowercase' },
    });
    expect(fromEngineError(podman).code).toBe('BAD_USER_INPUT');
    expect(fromEngineError(new URIError('URI malformed')).code).toBe('BAD_USER_INPUT');
  });
});
