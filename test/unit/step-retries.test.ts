/**
 * `ctx.run` keeps its retry count across suspensions in the keys of its
 * retry timers (`C#t<entry>.<attempt>.<startedAt>`). The attempt indexes
 * those keys once, when it loads, so a new step looks its own up instead of
 * scanning every completion: a long handler stays linear in its completions.
 */
import { describe, expect, it } from 'vitest';
import { service, type Context } from 'dormant-lambda';
import { type Completion, type Store } from 'dormant-lambda/internal';
import type { LoadedInvocation } from '../../src/store/store.ts';
import { Completions } from '../../src/engine/completions.ts';
import { stepRetryKey, stepRetryOf } from '../../src/engine/retry.ts';
import { MemoryRuntime } from 'dormant-lambda/testing';

/** A completions map that counts how often it is walked in full. */
class CountedCompletions extends Map<string, Completion> {
  walks = 0;
  override values(): MapIterator<Completion> {
    this.walks++;
    return super.values();
  }
  override keys(): MapIterator<string> {
    this.walks++;
    return super.keys();
  }
  override entries(): MapIterator<[string, Completion]> {
    this.walks++;
    return super.entries();
  }
  override [Symbol.iterator](): MapIterator<[string, Completion]> {
    this.walks++;
    return super.entries();
  }
  override forEach(fn: (value: Completion, key: string, map: Map<string, Completion>) => void): void {
    this.walks++;
    super.forEach(fn);
  }
}

/** Wraps `store` so each load hands out counted completions; `loads` keeps them. */
function countingLoads(store: Store): { store: Store; loads: CountedCompletions[] } {
  const loads: CountedCompletions[] = [];
  const counted = new Proxy(store, {
    get: (target, property, receiver) => {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (property !== 'load') return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      return async (id: string): Promise<LoadedInvocation> => {
        const loaded = await target.load(id);
        const completions = new CountedCompletions();
        for (const [k, c] of Map.prototype.entries.call(loaded.completions) as MapIterator<[string, Completion]>) completions.set(k, c);
        completions.walks = 0;
        loads.push(completions);
        return { ...loaded, completions };
      };
    },
  });
  return { store: counted, loads };
}

describe('ctx.run retry bookkeeping', () => {
  it("each step resumes its own retry count and start time after suspensions, beside other steps' retry timers", async () => {
    const calls = { a: 0, b: 0 };
    const rt = new MemoryRuntime([
      service({
        name: 's',
        handlers: {
          h: async (ctx: Context) => {
            // a: fails twice, then succeeds; its two retry timers stay in the partition.
            const a = await ctx.run(
              'a',
              () => {
                if (++calls.a < 3) throw new Error(`a down (${calls.a})`);
                return 'a up';
              },
              { retry: { initialIntervalMs: 60_000, factor: 1, maxIntervalMs: 60_000 } },
            );
            // b: its budget is counted from its own first attempt, not a's.
            try {
              await ctx.run(
                'b',
                () => {
                  throw new Error(`b down (${++calls.b})`);
                },
                { retry: { initialIntervalMs: 60_000, factor: 1, maxIntervalMs: 60_000, maxDurationMs: 150_000 } },
              );
            } catch (e) {
              return `${a}; ${(e as Error).message}`;
            }
          },
        },
      }),
    ]);
    const id = await rt.start('s', 'h');
    await rt.settle();
    for (let i = 0; i < 4; i++) await rt.advance(60_000);

    // b ran at 0, 60 s and 120 s after its start; a fourth try would end past 150 s.
    expect(await rt.output(id)).toBe("a up; step 'b' failed after 3 attempt(s): b down (3)");
    expect(calls).toEqual({ a: 3, b: 3 });
    const keys = rt.store
      .items()
      .map((i) => String(i.sk))
      .filter((k) => k.startsWith('C#t'));
    expect(keys.map((k) => k.split('.').slice(0, 2).join('.'))).toEqual([
      'C#t00000000.0001',
      'C#t00000000.0002',
      'C#t00000001.0001',
      'C#t00000001.0002',
    ]);
    expect(rt.outcomes.map((o) => o.kind)).toEqual(['suspended', 'suspended', 'suspended', 'suspended', 'completed']);
  });

  it('a long handler walks its completions once per attempt, not once per new step', async () => {
    const steps = 200;
    const rt = new MemoryRuntime([
      service({
        name: 's',
        handlers: {
          h: async (ctx: Context) => {
            await ctx.run(
              'flaky',
              () => {
                if (!resumed) throw new Error('partner down');
              },
              { retry: { initialIntervalMs: 60_000, maxIntervalMs: 60_000 } },
            );
            let sum = 0;
            for (let i = 0; i < steps; i++) sum += await ctx.run(`step ${i}`, () => i);
            return sum;
          },
        },
      }),
    ]);
    let resumed = false;
    const { store, loads } = countingLoads(rt.store);
    rt.deps.store = store;
    const id = await rt.start('s', 'h');
    await rt.settle();
    resumed = true;
    await rt.advance(60_000);

    expect(await rt.output(id)).toBe((steps * (steps - 1)) / 2);
    expect(loads).toHaveLength(2);
    // The resumed attempt holds a retry timer and runs 200 new steps: a scan per step would walk 201 times.
    expect(loads[1]!.has('C#t00000000.0001.' + String(rt.clock.now() - 60_000))).toBe(true);
    expect(loads.map((c) => c.walks)).toEqual([1, 1]); // the index, built once per attempt
  });

  it('the index takes the latest retry of each step at load, and learns later ones during the attempt', () => {
    const rt = new MemoryRuntime([]);
    const at = 0;
    const loaded = new Map<string, Completion>(
      ['C#t00000002.0002.500', 'C#t00000002.0001.500', 'C#00000002', 'C#00000002.hb.9', 'C#t00000004.0001.700'].map((key) => [
        key,
        { key, at },
      ]),
    );
    const completions = new Completions(rt.store, 'inv_x', loaded);

    expect(completions.stepRetry(2)).toEqual({ entry: 2, attempt: 2, startedAt: 500 });
    expect(completions.stepRetry(4)).toEqual({ entry: 4, attempt: 1, startedAt: 700 });
    expect(completions.stepRetry(3)).toBeUndefined();
    completions.learn({ key: stepRetryKey({ entry: 3, attempt: 1, startedAt: 900 }), at });
    completions.learn({ key: 'C#t00000002.0003.500', at });
    completions.learn({ key: 'C#t00000004.0001.700', at }); // a duplicate changes nothing
    expect(completions.stepRetry(3)).toEqual({ entry: 3, attempt: 1, startedAt: 900 });
    expect(completions.stepRetry(2)).toEqual({ entry: 2, attempt: 3, startedAt: 500 });
    expect(completions.stepRetry(4)).toEqual({ entry: 4, attempt: 1, startedAt: 700 });
  });

  it('step retry keys read back as written; other completion keys are not step retries', () => {
    const retry = { entry: 12, attempt: 7, startedAt: Date.UTC(2026, 0, 1) };
    expect(stepRetryKey(retry)).toBe('C#t00000012.0007.1767225600000');
    expect(stepRetryOf(stepRetryKey(retry))).toEqual(retry);
    for (const key of ['C#00000012', 'C#r00000001', 'C#cancel', 'C#lock', 'C#00000003.hb.1767225600000', 'P#review'])
      expect(stepRetryOf(key)).toBeUndefined();
  });
});
