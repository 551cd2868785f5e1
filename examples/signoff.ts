/**
 * A virtual object: one sign-off sheet per document key. `sign` is
 * exclusive, so while one signer's request waits on its awakeable, a second
 * `sign` on the same document queues behind it (other documents are not
 * held up); `signatures` is shared and reads the sheet at any time.
 *
 * @example
 * ```sh
 * curl -X POST localhost:8080/signoff/doc-7/sign/send -H 'content-type: application/json' -d '{"signer":"ada"}'
 * curl -X POST localhost:8080/signoff/doc-7/sign/send -H 'content-type: application/json' -d '{"signer":"grace"}'  # queues
 * curl -X POST localhost:8080/signoff/doc-7/signatures                  # []
 * ```
 */
import { handlers, object, type ObjectContext, type ObjectSharedContext } from 'dormant-lambda';

export const signoff = object({
  name: 'signoff',
  handlers: {
    sign: async (ctx: ObjectContext, request: { signer: string }) => {
      const { id, promise, url } = ctx.awakeable<{ approved: boolean }>();
      await ctx.run('ask signer', () =>
        console.log(
          `[signoff] ${request?.signer} is asked to sign ${ctx.key}. Sign with:\n  curl -X POST ${url ?? `$DORMANT_API_URL/restate/awakeables/${id}/resolve`} -H 'content-type: application/json' -d '{"approved":true}'`,
        ),
      );
      const { approved } = await promise;
      const signatures = (await ctx.get<string[]>('signatures')) ?? [];
      if (approved) ctx.set('signatures', [...signatures, request.signer]);
      return { document: ctx.key, signer: request.signer, approved };
    },
    signatures: handlers.object.shared(async (ctx: ObjectSharedContext) => (await ctx.get<string[]>('signatures')) ?? []),
  },
});
