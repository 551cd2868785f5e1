/**
 * The review as a workflow: `run` executes once per key and waits on the
 * durable promise `review`; the shared handler `submitReview` resolves it
 * and `status` reads the workflow's state at any time.
 *
 * @example
 * ```sh
 * curl -X POST localhost:8080/reviewFlow/doc-7/run/send -H 'content-type: application/json' -d '{"title":"Q3 report"}'
 * curl -X POST localhost:8080/reviewFlow/doc-7/status                     # "waiting for review"
 * curl -X POST localhost:8080/reviewFlow/doc-7/submitReview -H 'content-type: application/json' -d '{"approved":true}'
 * curl -X POST localhost:8080/reviewFlow/doc-7/run                        # the result (run executes once per key)
 * ```
 */
import { handlers, workflow, type WorkflowContext, type WorkflowSharedContext } from 'dormant-lambda';
import type { Verdict } from './review.ts';

export const reviewFlow = workflow({
  name: 'reviewFlow',
  handlers: {
    run: async (ctx: WorkflowContext, doc: { title: string }) => {
      ctx.set('status', 'waiting for review');
      await ctx.run('ask reviewer', () =>
        console.log(
          `[reviewFlow] "${doc?.title}" (${ctx.key}) awaits a reviewer. Approve it with:\n  curl -X POST $DORMANT_API_URL/reviewFlow/${ctx.key}/submitReview -H 'content-type: application/json' -d '{"approved":true}'`,
        ),
      );
      const verdict = await ctx.promise<Verdict>('review').get();
      ctx.set('status', verdict.approved ? 'approved' : 'changes requested');
      return { title: doc?.title, ...verdict };
    },
    submitReview: handlers.workflow.shared(async (ctx: WorkflowSharedContext, verdict: Verdict) => {
      await ctx.promise<Verdict>('review').resolve(verdict);
      return 'thanks';
    }),
    status: handlers.workflow.shared(async (ctx: WorkflowSharedContext) => (await ctx.get<string>('status')) ?? 'not started'),
  },
});
