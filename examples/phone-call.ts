/**
 * A Twilio-style status callback through `ctx.webhook()`: the handler places
 * a call (here, by printing the curl line Twilio would send), hands the
 * provider a callback URL of its own, and suspends until the provider posts
 * the call's final status as a signed form. The URL is a capability; the
 * signature (HMAC-SHA1 over the URL and the sorted form fields, under the
 * auth token named `TWILIO_AUTH_TOKEN`) is checked on top of it.
 *
 * @example
 * ```sh
 * TWILIO_AUTH_TOKEN=dev-token node --conditions=dormant-source bin/dormant.mjs dev examples/phone-call.ts --in-memory
 * curl -X POST localhost:8080/phoneCall/place/send -H 'content-type: application/json' -d '{"to":"+15551234567"}'
 * # the handler prints the signed curl line Twilio would send to its callback URL; run it, then:
 * curl localhost:8080/restate/invocation/inv_…/output   # {"to":"+15551234567","status":"completed","sid":"CA…"}
 * ```
 */
import { createHmac } from 'node:crypto';
import { TerminalError, service, twilio, type Context } from 'dormant-lambda';

/** What the call ends as. */
export interface CallResult {
  to: string;
  status: string;
  sid: string;
}

export const phoneCall = service({
  name: 'phoneCall',
  handlers: {
    place: async (ctx: Context, request: { to: string }): Promise<CallResult> => {
      if (!request || typeof request.to !== 'string') throw new TerminalError('send {"to": "+1…"}', { code: 400 });
      const callback = ctx.webhook({
        verify: twilio({ authToken: 'TWILIO_AUTH_TOKEN' }),
        // Twilio reads TwiML back; an empty response says "nothing more to do".
        respond: { contentType: 'text/xml', body: '<Response/>' },
      });
      // The URL leaves the handler only from inside a step, once journaled.
      const sid = await ctx.run('place call', () => placeCall(request.to, callback.url ?? `/restate/webhooks/${callback.id}`));
      const { body } = await callback.promise;
      const fields = body as Record<string, string>;
      return { to: request.to, status: fields.CallStatus ?? 'unknown', sid: fields.CallSid ?? sid };
    },
  },
});

/**
 * Stands in for `twilioClient.calls.create({ to, statusCallback })`: prints
 * the request Twilio would make to the callback when the call ends, signed
 * the way Twilio signs it (with `TWILIO_AUTH_TOKEN` from this environment).
 */
function placeCall(to: string, statusCallback: string): string {
  const sid =
    'CA' +
    createHmac('sha256', 'sid')
      .update(to + statusCallback)
      .digest('hex')
      .slice(0, 32);
  const fields: Record<string, string> = { CallSid: sid, CallStatus: 'completed', To: to };
  const token = process.env.TWILIO_AUTH_TOKEN ?? '';
  const signed =
    statusCallback +
    Object.keys(fields)
      .sort()
      .map((k) => k + fields[k])
      .join('');
  const signature = createHmac('sha1', token).update(signed).digest('base64');
  const form = new URLSearchParams(fields).toString();
  console.log(
    `[phoneCall] when the call ends, Twilio posts:\n  curl -X POST '${statusCallback}' -H 'x-twilio-signature: ${signature}' -d '${form}'`,
  );
  return sid;
}

export default [phoneCall];
