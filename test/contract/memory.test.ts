/** The store contract on the in-memory store (its change feed stands in for the stream). */
import { MemoryStore } from '../../src/store/memory.ts';
import type { ItemChange } from '../../src/store/store.ts';
import { storeContract } from './store-contract.ts';

storeContract('MemoryStore', async () => {
  const store = new MemoryStore();
  const changes: ItemChange[] = [];
  store.onChange((change) => changes.push(change));
  return {
    store,
    changes: async (pk, done = () => true) => {
      const mine = changes.filter((c) => c.pk === pk);
      if (!done(mine)) throw new Error(`the change feed of ${pk} does not hold what the test waits for (${mine.length} changes)`);
      return mine;
    },
    remove: async (pk, sk) => store.expire(pk, sk),
    propertyRuns: 100,
    close: async () => undefined,
  };
});
