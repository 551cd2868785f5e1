/**
 * Your durable handlers. `approval.request` asks someone to approve an item
 * and waits for the answer: the handler suspends on an awakeable (no
 * compute while it waits, for seconds or days) until a webhook, a person
 * with curl, or another handler resolves it by id.
 */
import { service, type Context } from 'dormant-lambda';

/** What the approver answers. */
export interface Verdict {
  approved: boolean;
  comment?: string;
}

export const approval = service({
  name: 'approval',
  handlers: {
    request: async (ctx: Context, req: { item: string }) => {
      // A capability id (and its resolve URL) that completes the promise.
      const { id, url, promise } = ctx.awakeable<Verdict>();
      // Send it out from a journaled step: it runs once, even across replays.
      await ctx.run('ask approver', () => {
        console.log(`approve ${req.item}: curl -X POST ${url} -H 'content-type: application/json' -d '{"approved":true}'`);
        return id;
      });
      // Suspends here until the awakeable is resolved, for at most three days.
      const verdict = await promise.orTimeout(3 * 86_400_000);
      return { item: req.item, ...verdict };
    },
  },
});

/** What `npm start` prints once it listens. */
export function tryIt(url: string): string[] {
  return [
    `  curl -X POST ${url}/approval/request/send -H 'content-type: application/json' -d '{"item":"laptop"}'`,
    `  curl ${url}/restate/invocation/<invocationId>                 # suspended, awaiting[].awakeableId`,
    `  curl -X POST ${url}/restate/awakeables/<awakeableId>/resolve -H 'content-type: application/json' -d '{"approved":true}'`,
    `  curl ${url}/restate/invocation/<invocationId>/output`,
  ];
}
