/**
 * A callee for the tests of calls between handlers, in memory and on the
 * local plane: `approve` waits on an awakeable (its id is journaled by the
 * step 'ask'), `fail` fails terminally with 422.
 */
import { TerminalError, service, type Context } from 'dormant-lambda';

/**
 * @example
 * ```ts
 * const rt = new MemoryRuntime([approver, trips]); // trips calls ctx.serviceClient(approver).approve(doc)
 * ```
 */
export const approver = service({
  name: 'approver',
  handlers: {
    approve: async (ctx: Context, doc: string) => {
      const a = ctx.awakeable<boolean>();
      await ctx.run('ask', () => a.id);
      return (await a.promise) ? `${doc} approved` : `${doc} refused`;
    },
    fail: async () => {
      throw new TerminalError('no way', { code: 422 });
    },
  },
});
