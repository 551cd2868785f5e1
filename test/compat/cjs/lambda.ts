/**
 * A CommonJS project's Lambda entry (this folder's package.json says
 * `"type": "commonjs"`), in Restate's shape: `import * as restate` of the
 * package and of ES module code, type-checked as a CommonJS module.
 */
import * as restate from 'dormant-lambda';
import { services } from '../services.ts';

const ping = restate.service({
  name: 'ping',
  handlers: {
    ping: async (ctx: restate.Context, n: number) => ctx.run(() => n + 1),
  },
});

export const handler = restate.createEndpointHandler({ services: [...services, ping] });
