import { describe, expect, it } from 'vitest';
import { fromEngineError } from '../../src/errors.js';

const ID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';

describe('fromEngineError', () => {
  it("withholds every ID from the engine's words, full or short, keeping the rest", () => {
    const docker = fromEngineError({
      statusCode: 409,
      json: { message: `Conflict. The container name "/lab-b" is already in use by container "${ID}". You have to remove (or rename) that container to be able to reuse that name.` },
    });
    expect(docker.code).toBe('CONFLICT');
    expect(docker.message).toBe(
      'Conflict. The container name "/lab-b" is already in use by container "(ID withheld)". You have to remove (or rename) that container to be able to reuse that name.',
    );
    const podman = fromEngineError({ statusCode: 500, json: { message: `container ${ID.slice(0, 12)} is not running` } });
    expect(podman).toMatchObject({ code: 'CONFLICT', message: 'container (ID withheld) is not running' });
    expect(fromEngineError({ statusCode: 404, json: { message: `No such image: sha256:${ID}` } }).message).toBe('No such image: (ID withheld)');
  });

  it("answers Docker's refusal to resize a terminal in a container stopped meanwhile as CONFLICT", () => {
    const stopped = fromEngineError({ statusCode: 500, reason: 'container not running', json: { message: 'cannot resize a stopped container: unknown' } });
    expect(stopped).toMatchObject({ code: 'CONFLICT', message: 'cannot resize a stopped container: unknown' });
  });

  it('leaves words that only contain hex alone', () => {
    expect(fromEngineError({ statusCode: 400, json: { message: 'invalid reference format: deadbeef-cafe' } }).message).toBe('invalid reference format: deadbeef-cafe');
  });
});
