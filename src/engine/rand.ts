/**
 * Deterministic randomness for `ctx.rand`: xoshiro128** seeded from the
 * invocation id, so every replay draws the same sequence.
 */
import { createHash } from 'node:crypto';
import type { Rand } from '../api/context.ts';

/**
 * A seeded generator.
 *
 * @example
 * ```ts
 * seededRand('inv_x').random() === seededRand('inv_x').random() // true
 * ```
 */
export function seededRand(seed: string): Rand {
  const d = createHash('sha256').update(seed).digest();
  const s = new Uint32Array([d.readUInt32LE(0), d.readUInt32LE(4), d.readUInt32LE(8), d.readUInt32LE(12)]);
  const rotl = (x: number, k: number) => (x << k) | (x >>> (32 - k));
  const nextU32 = (): number => {
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  };
  return {
    random: () => nextU32() / 2 ** 32,
    uuidv4: () => {
      const b = Buffer.alloc(16);
      for (let i = 0; i < 16; i += 4) b.writeUInt32BE(nextU32(), i);
      b[6] = (b[6]! & 0x0f) | 0x40;
      b[8] = (b[8]! & 0x3f) | 0x80;
      const h = b.toString('hex');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    },
  };
}
