/**
 * Human review with an awakeable: the handler asks a reviewer (here, by
 * printing the curl line that answers), suspends until the answer arrives,
 * and returns the verdict. Nothing runs while it waits.
 *
 * @example
 * ```sh
 * curl -X POST localhost:8080/review/request/send -H 'content-type: application/json' -d '{"title":"Q3 report"}'
 * # {"invocationId":"inv_…","status":"Accepted"}
 * curl localhost:8080/restate/invocation/inv_…          # "status":"suspended", awaiting[0].awakeableId
 * curl -X POST localhost:8080/restate/awakeables/awk_…/resolve -H 'content-type: application/json' -d '{"approved":true,"comment":"ship it"}'
 * curl localhost:8080/restate/invocation/inv_…/output   # {"title":"Q3 report","approved":true,"comment":"ship it"}
 * ```
 */
import { TerminalError, service, type Context } from 'dormant-lambda';

/** What a reviewer sends back. */
export interface Verdict {
  approved: boolean;
  comment?: string;
}

/** What the review returns. */
export interface ReviewResult extends Verdict {
  title: string;
  /** Set when the reviewer rejected the awakeable instead of resolving it. */
  rejected?: string;
}

export const review = service({
  name: 'review',
  handlers: {
    request: async (ctx: Context, doc: { title: string }): Promise<ReviewResult> => {
      if (!doc || typeof doc.title !== 'string') throw new TerminalError('send a document as {"title": "…"}', { code: 400 });
      const { id, promise, url } = ctx.awakeable<Verdict>();
      // The id leaves the handler only from inside a step: by then it is
      // journaled, so a replay awaits the same awakeable.
      await ctx.run('ask reviewer', () => askReviewer(doc.title, id, url));
      try {
        const verdict = await promise;
        return { title: doc.title, approved: Boolean(verdict?.approved), ...(verdict?.comment ? { comment: verdict.comment } : {}) };
      } catch (error) {
        // POST …/reject arrives here as a TerminalError carrying the reason.
        if (error instanceof TerminalError) return { title: doc.title, approved: false, rejected: error.message };
        throw error;
      }
    },
  },
});

function askReviewer(title: string, awakeableId: string, url: string | undefined): void {
  const resolveUrl = url ?? `$DORMANT_API_URL/restate/awakeables/${awakeableId}/resolve`;
  console.log(
    `[review] "${title}" awaits a reviewer. Approve it with:\n  curl -X POST ${resolveUrl} -H 'content-type: application/json' -d '{"approved":true,"comment":"ship it"}'`,
  );
}
