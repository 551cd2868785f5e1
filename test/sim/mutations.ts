/**
 * Deliberately broken runtime rules: the simulator must catch each one, or
 * it is not testing what it claims to.
 */
import { decideWake } from 'dormant';
import { META } from '../../src/store/keys.ts';
import type { DecideWake } from './world.ts';

/**
 * The wake rule without its second half: a `meta` record turning suspended
 * never looks for completions that already exist. A completion written
 * between the handler's load and its suspension then wakes nobody:
 *
 *   handler:  load ── suspend(awaiting C#2) ──▶ record: (broken) no query, no invoke
 *   resolver:      complete(C#2) ──▶ record: meta still running → nothing
 */
export const wakeIgnoringEarlierCompletions: DecideWake = (change, reader) =>
  decideWake(
    change,
    change.sk === META && change.newItem?.status === 'suspended'
      ? { getInvocation: (id) => reader.getInvocation(id), existingCompletions: async () => [] }
      : reader,
  );

/** Broken rules by name, for `npm run sim -- --break NAME`. */
export const MUTATIONS: Record<string, DecideWake> = {
  'suspend-after-completion': wakeIgnoringEarlierCompletions,
};
