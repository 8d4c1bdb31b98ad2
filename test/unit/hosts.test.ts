import { describe, expect, it } from 'vitest';
import { hostAllowed } from '../../src/http/origin.js';

describe('hostAllowed', () => {
  it.each([
    'localhost',
    'localhost:4000',
    'LocalHost.',
    'a.b.localhost:4000',
    '127.0.0.1',
    '10.0.0.5:4000',
    '[::1]',
    '[fe80::1]:4000',
    'lab.example.org:4000',
    undefined,
  ])('lets %s through', (host) => {
    expect(hostAllowed(host, ['lab.example.org'])).toBe(true);
  });

  it.each(['attacker.example:4000', 'lab.example.org.attacker.example', 'localhost.attacker.example', 'xlocalhost', '127.0.0.1.nip.io', '0x7f.1', '::1', '[lab.example.org]', '[::1]x', 'localhost:x', ''])(
    'refuses %s',
    (host) => {
      expect(hostAllowed(host, ['lab.example.org'])).toBe(false);
    },
  );
});
