/**
 * Pruning handler function versions (rule 12): what may be deleted, and
 * that only that is.
 */
import { describe, expect, it } from 'vitest';
import { prunableVersions, pruneVersions, type FunctionVersions } from '../../src/runtime/versions.ts';

describe('prunableVersions', () => {
  it('versions older than the alias that nothing is pinned to; never the alias, newer ones, or $LATEST', () => {
    const pinned = new Map([
      ['2', 5],
      ['3', 0],
    ]);
    expect(prunableVersions({ published: ['$LATEST', '4', '1', '2', '3', '5'], aliasVersion: '4', pinned })).toEqual(['1', '3']);
  });

  it('refuses to decide when the alias names no published version', () => {
    expect(() => prunableVersions({ published: ['1'], aliasVersion: '$LATEST', pinned: new Map() })).toThrow(/prune nothing/);
  });
});

describe('pruneVersions', () => {
  const fake = () => {
    const removed: string[] = [];
    const lambda: FunctionVersions = {
      published: async () => ['1', '2', '3'],
      aliasVersion: async (_fn, alias) => (alias === 'live' ? '3' : 'unknown'),
      remove: async (_fn, version) => void removed.push(version),
    };
    return { lambda, removed };
  };

  it('deletes the prunable versions and reports each version with its pinned invocations', async () => {
    const { lambda, removed } = fake();
    const report = await pruneVersions({ functionName: 'orders', lambda, pinned: new Map([['1', 2]]), dryRun: false });
    expect(removed).toEqual(['2']);
    expect(report).toEqual({
      aliasVersion: '3',
      versions: [
        { version: '1', invocations: 2, prunable: false },
        { version: '2', invocations: 0, prunable: true },
        { version: '3', invocations: 0, prunable: false },
      ],
      deleted: ['2'],
    });
  });

  it('a dry run deletes nothing', async () => {
    const { lambda, removed } = fake();
    const report = await pruneVersions({ functionName: 'orders', lambda, pinned: new Map(), dryRun: true });
    expect(removed).toEqual([]);
    expect(report.versions.filter((v) => v.prunable).map((v) => v.version)).toEqual(['1', '2']);
  });
});
