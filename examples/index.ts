/**
 * The examples `npm start` serves (`dormant dev examples/index.ts`).
 *
 * @example
 * ```sh
 * npm start   # then try the curl lines it prints
 * ```
 */
import { greeter } from './greeter.ts';
import { review } from './review.ts';
import { reviewFlow } from './review-flow.ts';
import { signoff } from './signoff.ts';

export { greeter, review, reviewFlow, signoff };

export default [greeter, review, reviewFlow, signoff];

/**
 * The lines `dormant dev` prints after start, for this entry.
 *
 * @example
 * ```ts
 * tryIt('http://localhost:8080')[0] // "  curl -X POST http://localhost:8080/greeter/greet …"
 * ```
 */
export function tryIt(url: string): string[] {
  return [
    `  curl -X POST ${url}/greeter/greet -H 'content-type: application/json' -d '"Ada"'`,
    `  curl -X POST ${url}/review/request/send -H 'content-type: application/json' -d '{"title":"Q3 report"}'`,
    `  curl ${url}/restate/invocation/<invocationId>          # "status":"suspended", awaiting[0].awakeableId`,
    `  curl -X POST ${url}/restate/awakeables/<awakeableId>/resolve -H 'content-type: application/json' -d '{"approved":true,"comment":"ship it"}'`,
    `  curl ${url}/restate/invocation/<invocationId>/output   # the verdict`,
    `  (the review also prints its own resolve line below when it asks for review)`,
  ];
}
