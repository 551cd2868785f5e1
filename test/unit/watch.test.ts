/**
 * `dormant dev --watch`: a change to the services' directory deploys once
 * changes settle, never two deploys at once; ignored directories do not.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { watchEntry } from '../../src/local/watch.ts';

describe('watchEntry', () => {
  let dir: string;
  let stop: (() => void) | undefined;
  afterEach(async () => {
    stop?.();
    await rm(dir, { recursive: true, force: true });
  });

  it('deploys once for a burst of changes, and again for a later change; node_modules is ignored', async () => {
    // Prepare
    dir = await mkdtemp(join(tmpdir(), 'dormant-watch-'));
    await mkdir(join(dir, 'node_modules'));
    await writeFile(join(dir, 'index.ts'), 'export {};');
    let deploys = 0;
    stop = watchEntry(join(dir, 'index.ts'), async () => void deploys++, 100);
    await sleep(50);

    // Act
    for (let i = 0; i < 3; i++) await writeFile(join(dir, 'index.ts'), `export const v = ${i};`);
    await sleep(400);
    const afterBurst = deploys;
    await writeFile(join(dir, 'node_modules', 'x.js'), '1');
    await sleep(400);
    const afterIgnored = deploys;
    await writeFile(join(dir, 'index.ts'), 'export const v = 9;');
    await sleep(400);

    // Assess
    expect(afterBurst).toBe(1);
    expect(afterIgnored).toBe(1);
    expect(deploys).toBe(2);
  });
});
