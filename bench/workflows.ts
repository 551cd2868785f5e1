/**
 * The handlers the benchmark runs. Each step returns a 98-character string,
 * which the JSON serde journals as a 100-byte result.
 */
import { service, type Context } from '../src/index.ts';

/** A step result that serializes to exactly 100 bytes of JSON. */
export const RESULT_100_BYTES = 'r'.repeat(98);

/** The body of every benchmark step: the "work" both the engine and the baseline run. */
export function stepBody(): string {
  return RESULT_100_BYTES;
}

/**
 * `steps.run(n)`: n `ctx.run` steps, then done. `steps.thenAwait(n)`: n
 * steps, then an awakeable it awaits (the replay benchmark resumes it).
 */
export const steps = service({
  name: 'steps',
  handlers: {
    run: async (ctx: Context, n: number) => {
      for (let i = 0; i < n; i++) await ctx.run(`step-${i}`, stepBody);
      return n;
    },
    thenAwait: async (ctx: Context, n: number) => {
      for (let i = 0; i < n; i++) await ctx.run(`step-${i}`, stepBody);
      const { promise } = ctx.awakeable<string>();
      return promise;
    },
  },
});

/**
 * The awakeable round trip: create an awakeable, hand its id out from a step
 * (as `examples/review.ts` does), suspend on it, resume with the value.
 */
export const approval = service({
  name: 'approval',
  handlers: {
    request: async (ctx: Context) => {
      const { id, promise } = ctx.awakeable<string>();
      await ctx.run('notify', () => `sent ${id}`);
      return promise;
    },
  },
});

/**
 * The reference workflow priced per million runs: five `ctx.run` steps and
 * one awakeable resolved over HTTPS. Two steps before the wait (the second
 * hands out the awakeable id), three after it.
 */
export const reference = service({
  name: 'reference',
  handlers: {
    run: async (ctx: Context) => {
      const { id, promise } = ctx.awakeable<string>();
      await ctx.run('validate', stepBody);
      await ctx.run('notify', () => `${id.slice(0, 2)}${RESULT_100_BYTES.slice(2)}`);
      const verdict = await promise;
      await ctx.run('apply', stepBody);
      await ctx.run('record', stepBody);
      await ctx.run('confirm', stepBody);
      return verdict;
    },
  },
});

/** Every definition the benchmark registers. */
export const BENCH_SERVICES = [steps, approval, reference];

/** `ctx.run` steps of the reference workflow (the cost model's Task states). */
export const REFERENCE_STEPS = 5;
