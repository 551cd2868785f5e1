/**
 * The smallest durable handler: one journaled step. `POST /greeter/greet`
 * answers at once with its output.
 *
 * @example
 * ```sh
 * curl -X POST localhost:8080/greeter/greet -H 'content-type: application/json' -d '"Ada"'
 * # "Hello, Ada!"
 * ```
 */
import { service, type Context } from 'dormant-lambda';

export const greeter = service({
  name: 'greeter',
  handlers: {
    greet: async (ctx: Context, name: string) => ctx.run('greeting', () => `Hello, ${name}!`),
  },
});
