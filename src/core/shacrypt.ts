import { createHash, randomBytes } from 'node:crypto';

const ALPHABET = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

// Byte order of the final base-64 encoding, as fixed by the SHA-crypt specification.
const ORDER = [
  [0, 21, 42], [22, 43, 1], [44, 2, 23], [3, 24, 45], [25, 46, 4], [47, 5, 26], [6, 27, 48],
  [28, 49, 7], [50, 8, 29], [9, 30, 51], [31, 52, 10], [53, 11, 32], [12, 33, 54], [34, 55, 13],
  [56, 14, 35], [15, 36, 57], [37, 58, 16], [59, 17, 38], [18, 39, 60], [40, 61, 19], [62, 20, 41],
] as const;

const sha512 = (...parts: Buffer[]) => {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return h.digest();
};

function repeatTo(source: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = source[i % source.length]!;
  return out;
}

function encode24(b2: number, b1: number, b0: number, chars: number): string {
  let w = (b2 << 16) | (b1 << 8) | b0;
  let s = '';
  for (let i = 0; i < chars; i++) {
    s += ALPHABET[w & 0x3f];
    w >>= 6;
  }
  return s;
}

/**
 * SHA-512 crypt (`$6$`), the hash glibc and shadow files use, for images that have no
 * chpasswd: podgraph then writes /etc/shadow itself. 5000 rounds, the default.
 */
export function sha512Crypt(password: string, salt = randomBytes(12).toString('base64').replace(/[^a-zA-Z0-9]/g, '').slice(0, 16) || 'podgraph'): string {
  const key = Buffer.from(password, 'utf8');
  const s = Buffer.from(salt.slice(0, 16), 'utf8');
  const b = sha512(key, s, key);
  const aParts: Buffer[] = [key, s, repeatTo(b, key.length)];
  for (let n = key.length; n > 0; n >>= 1) aParts.push(n & 1 ? b : key);
  let c = sha512(...aParts);
  const p = repeatTo(sha512(...Array.from({ length: key.length }, () => key)), key.length);
  const sBytes = repeatTo(sha512(...Array.from({ length: 16 + c[0]! }, () => s)), s.length);
  for (let i = 0; i < 5000; i++) {
    const parts: Buffer[] = [i & 1 ? p : c];
    if (i % 3) parts.push(sBytes);
    if (i % 7) parts.push(p);
    parts.push(i & 1 ? c : p);
    c = sha512(...parts);
  }
  let out = '';
  for (const [x, y, z] of ORDER) out += encode24(c[x]!, c[y]!, c[z]!, 4);
  out += encode24(0, 0, c[63]!, 2);
  return `$6$${s.toString('utf8')}$${out}`;
}
