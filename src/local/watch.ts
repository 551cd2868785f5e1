/**
 * `dormant dev --watch`: a change to the services' files deploys them
 * again as a new version of the handler function (rule 12: invocations
 * pinned to an earlier version finish on its code; new ones run the new).
 */
import { watch, type FSWatcher } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Directories whose changes are not the user's code. */
const IGNORED = /(^|[/\\])(node_modules|\.dormant|\.git|dist|cdk\.out)([/\\]|$)/;

/**
 * Watches the entry's directory (recursively) and calls `deploy` once
 * changes have settled for `settleMs`; a change during a deploy deploys
 * again after it. Returns the stop function.
 *
 * @example
 * ```ts
 * const stop = watchEntry('src/index.ts', async () => console.log(`version ${await plane.deploy()}`));
 * ```
 */
export function watchEntry(entry: string, deploy: () => Promise<void>, settleMs = 300): () => void {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  const fire = () => {
    if (running) {
      again = true;
      return;
    }
    running = deploy().finally(() => {
      running = undefined;
      if (again) {
        again = false;
        fire();
      }
    });
  };
  const watcher: FSWatcher = watch(dirname(resolve(entry)), { recursive: true }, (_event, file) => {
    if (file && IGNORED.test(file)) return;
    clearTimeout(timer);
    timer = setTimeout(fire, settleMs);
  });
  return () => {
    clearTimeout(timer);
    watcher.close();
  };
}
