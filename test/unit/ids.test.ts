import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { IdSigner, isInvocationId, newInvocationId, workflowInvocationId } from 'dormant';

const signer = new IdSigner('a-signing-key-of-at-least-16-bytes');

describe('IdSigner', () => {
  it('round-trips the invocation and entry an awakeable id names (rule 8)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (index) => {
        const inv = newInvocationId();
        const id = signer.awakeableId(inv, index);
        expect(signer.verifyAwakeableId(id)).toEqual({ ok: true, target: { invocationId: inv, index } });
      }),
    );
  });

  it('mints ids with 128 random bits of their own: two ids for the same entry differ', () => {
    const inv = newInvocationId();
    expect(signer.awakeableId(inv, 1)).not.toBe(signer.awakeableId(inv, 1));
  });

  it('refuses any altered character as forged or malformed (rule 8)', () => {
    const id = signer.awakeableId(newInvocationId(), 7);
    fc.assert(
      fc.property(
        fc.integer({ min: 4, max: id.length - 1 }),
        fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'),
        (pos, ch) => {
          fc.pre(id[pos] !== ch);
          const altered = id.slice(0, pos) + ch + id.slice(pos + 1);
          expect(signer.verifyAwakeableId(altered).ok).toBe(false);
        },
      ),
    );
  });

  it('refuses truncated, padded, foreign-key and non-id strings', () => {
    const id = signer.awakeableId(newInvocationId(), 3);
    expect(signer.verifyAwakeableId(id.slice(0, -1))).toEqual({ ok: false, problem: 'malformed' });
    expect(signer.verifyAwakeableId(id + 'A')).toEqual({ ok: false, problem: 'malformed' });
    expect(signer.verifyAwakeableId('awk_')).toEqual({ ok: false, problem: 'malformed' });
    expect(signer.verifyAwakeableId('sign_1abc')).toEqual({ ok: false, problem: 'malformed' });
    expect(signer.verifyAwakeableId('awk_!!!')).toEqual({ ok: false, problem: 'malformed' });
    expect(new IdSigner('another-key-entirely-0123').verifyAwakeableId(id)).toEqual({ ok: false, problem: 'forged' });
  });

  it('refuses short signing keys with a message naming the fix', () => {
    expect(() => new IdSigner('short')).toThrow(/at least 16 bytes.*DORMANT_SIGNING_KEY/);
  });
});

describe('invocation ids', () => {
  it('are random, well-formed, and derived for workflow runs', () => {
    const a = newInvocationId();
    expect(isInvocationId(a)).toBe(true);
    expect(a).not.toBe(newInvocationId());
    expect(workflowInvocationId('wf', 'k')).toBe(workflowInvocationId('wf', 'k'));
    expect(workflowInvocationId('wf', 'k')).not.toBe(workflowInvocationId('wf', 'k2'));
    expect(isInvocationId('inv_short')).toBe(false);
  });
});
