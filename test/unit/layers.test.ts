/**
 * The import-boundary rule of eslint.config.js (imports point down: api ←
 * engine ← runtime ← lambda/local/cdk, the store below the engine, nothing in
 * src/ reaching out of the library, and only lambda/'s own test importing
 * the entry files) on snippets that break it and on ones
 * that keep it, through ESLint's Node API with the repository's own config.
 * `npm run lint` proves the tree keeps it; this proves the rule can fail.
 */
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

// The repository's config, with only the layering rule run and no type
// information (the rule reads import paths, not types): fast, and blind to
// everything else the config checks.
const eslint = new ESLint({
  cwd: ROOT,
  ruleFilter: ({ ruleId }) => ruleId === 'no-restricted-imports',
  overrideConfig: { languageOptions: { parserOptions: { projectService: false } } },
});

/** The layering messages ESLint reports for `code` placed at `file`. */
async function refusals(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${ROOT}/${file}` });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('imports point down (eslint.config.js, no-restricted-imports)', () => {
  it.each([
    ['src/engine/clock.ts', "import { decideWake } from '../runtime/wake.ts';", 'src/engine may not import src/runtime'],
    ['src/engine/clock.ts', "import type { LocalPlane } from '../local/plane.ts';", 'src/engine may not import src/runtime, src/local'],
    ['src/engine/clock.ts', "export { recover } from '../runtime/timer.ts';", 'src/engine may not import src/runtime'],
    ['src/local/plane.ts', "import { handler } from '../../lambda/wake.ts';", 'may not import lambda/'],
    ['src/runtime/config.ts', "import { DurableRuntime } from '../../cdk/lib/index.ts';", 'may not import lambda/, cdk/'],
    ['src/store/keys.ts', "import { MemoryRuntime } from '../../test/support/memory-runtime.ts';", 'test/'],
    ['src/index.ts', "import { prices } from '../bench/prices.ts';", 'bench/'],
    ['src/runtime/wake.ts', "import { service } from 'dormant-lambda';", 'not by the package name'],
    ['src/api/serde.ts', "import type { Clock } from '../engine/clock.ts';", 'src/api may not import src/engine'],
    ['src/api/serde.ts', "import type { Store } from '../store/store.ts';", 'src/api may not import'],
    ['src/api/serde.ts', "import type { Catalog } from '../runtime/registry.ts';", 'src/api may not import'],
    ['src/store/keys.ts', "import { newInvocationId } from '../engine/ids.ts';", 'src/store may not import src/engine'],
    ['src/store/keys.ts', "import type { WakeAction } from '../runtime/wake.ts';", 'src/store may not import'],
    ['src/runtime/wake.ts', "import { passesWakeFilter } from '../local/event-filter.ts';", 'src/runtime may not import src/local'],
    ['src/testing/test-runtime.ts', "import { startLocalPlane } from '../local/plane.ts';", 'src/testing may not import src/local'],
    [
      'src/runtime/wake.ts',
      "import { MemoryRuntime } from '../testing/memory-runtime.ts';",
      'src/runtime may not import src/local, src/testing',
    ],
    ['src/engine/clock.ts', "import { TestClock } from '../testing/index.ts';", 'src/engine may not import'],
    ['cdk/lib/durable-runtime.ts', "import { handler } from '../../lambda/wake.ts';", 'lambda/ holds entry files only'],
    ['bench/load.ts', "import { handler } from '../lambda/timer.ts';", 'lambda/ holds entry files only'],
    ['test/sim/world.ts', "import { handler } from '../../lambda/timer.ts';", 'lambda/ holds entry files only'],
  ])('refuses %s importing: %s', async (file, code, direction) => {
    // Act
    const messages = await refusals(file, code);

    // Assess: one refusal, naming the direction it protects
    expect(messages).toEqual([expect.stringContaining(direction)]);
  });

  it.each([
    ['src/runtime/wake.ts', "import { systemClock } from '../engine/clock.ts';"],
    ['src/runtime/wake.ts', "import { LOCK } from '../store/keys.ts';"],
    ['src/runtime/ingress.ts', "import type { APIGatewayProxyEvent } from 'aws-lambda';"],
    ['src/runtime/dispatch.ts', "import { LambdaClient } from '@aws-sdk/client-lambda';"],
    ['src/engine/clock.ts', "import { completionKey } from '../store/keys.ts';"],
    ['src/engine/clock.ts', "import type { Failure } from '../api/errors.ts';"],
    ['src/store/keys.ts', "import type { Failure } from '../api/errors.ts';"],
    ['src/local/plane.ts', "import { createWakeHandler } from '../runtime/wake-handler.ts';"],
    ['src/testing/memory-runtime.ts', "import { decideWake } from '../runtime/wake.ts';"],
    ['lambda/wake.ts', "import { createWakeHandler } from '../src/runtime/wake-handler.ts';"],
    ['cdk/lib/durable-runtime.ts', "import { LONG_TIMER_QUEUE_MAX_RECEIVES } from '../../src/runtime/dispatch.ts';"],
    ['test/unit/lambda-entries.test.ts', "import { handler } from '../../lambda/wake.ts';"],
    ['test/unit/objects.test.ts', "import { createWakeHandler } from '../../src/runtime/wake-handler.ts';"],
  ])('lets %s import: %s', async (file, code) => {
    expect(await refusals(file, code)).toEqual([]);
  });
});
