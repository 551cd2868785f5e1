/**
 * The exhaustive model of a shared handler waiting on a workflow promise
 * (promise-model.ts): no lost wake-up and no double finish in any
 * interleaving, and each half of the handshake is needed.
 */
import { describe, expect, it } from 'vitest';
import { explore } from './promise-model.ts';

describe('the promise-waiter handshake, every interleaving', () => {
  it('always wakes the waiter once the promise is resolved, and it finishes once', () => {
    const { states, violations } = explore();

    console.log(`promise-waiter model: ${states} states`);
    expect(violations).toEqual([]);
    expect(states).toBeGreaterThan(1_000); // the search went through the crashes and duplicates, not a handful of states
  });

  it.each([
    { half: 'the relay of the promise to recorded waiters', rules: { relay: false, look: true } },
    { half: 'the waiter’s look at the promise after recording itself', rules: { relay: true, look: false } },
  ])('loses a wake-up without $half', ({ rules }) => {
    expect(explore(rules).violations[0]).toMatch(/^lost wake-up/);
  });
});
