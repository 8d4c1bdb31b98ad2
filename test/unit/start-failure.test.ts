import { describe, expect, it } from 'vitest';
import { startFailureOf } from '../../src/engine/docker/start-failure.js';

const PODMAN_MISSING =
  'Error: runc: exec failed: unable to start container process: exec: "nope": executable file not found in $PATH: OCI runtime attempted to invoke a command that was not found\nError: read unixpacket @->/proc/self/fd/13/attach: connection reset by peer\n';
const DOCKER_MISSING = 'OCI runtime exec failed: exec failed: unable to start container process: exec: "nope": executable file not found in $PATH: unknown\r\n';

describe('startFailureOf', () => {
  it("says what a shell says, in podgraph's words, whichever engine and stream carried the runtime's", () => {
    const expected = { exitCode: 127, message: 'nope: executable not found\n' };
    expect(startFailureOf(127, { stdout: '', stderr: PODMAN_MISSING })).toEqual(expected);
    expect(startFailureOf(126, { stdout: DOCKER_MISSING, stderr: '' })).toEqual(expected);
    expect(startFailureOf(127, { stdout: '', stderr: 'exec: "/x/y": stat /x/y: no such file or directory'.replace(/^/, 'unable to start container process: ') })).toEqual({
      exitCode: 127,
      message: '/x/y: executable not found\n',
    });
    expect(startFailureOf(126, { stdout: 'unable to start container process: exec: "/etc/passwd": permission denied: unknown', stderr: '' })).toEqual({
      exitCode: 126,
      message: '/etc/passwd: permission denied\n',
    });
  });

  it('answers NOT_FOUND for an account the container lacks, as a file owner would', () => {
    expect(() => startFailureOf(126, { stdout: 'unable to find user ghost: no matching entries in passwd file\r\n', stderr: '' })).toThrow(
      expect.objectContaining({ code: 'NOT_FOUND', message: 'No such user in the container: ghost' }),
    );
  });

  it("leaves a program's own output alone: other exit codes, or words that are not the runtime's", () => {
    expect(startFailureOf(1, { stdout: DOCKER_MISSING, stderr: '' })).toBeNull();
    expect(startFailureOf(127, { stdout: '', stderr: 'sh: nope: not found\n' })).toBeNull();
    expect(startFailureOf(0, { stdout: '', stderr: '' })).toBeNull();
  });
});
