/**
 * Restate's ingress client (`@restatedev/restate-sdk-clients`) typed by
 * Dormant definitions, as Restate's docs type it by theirs: the handler
 * types come from `typeof definition`.
 */
import * as clients from '@restatedev/restate-sdk-clients';
import type { Queue } from './objects.ts';
import { greeterObject } from './objects.ts';
import type { SignupApi } from './workflows.ts';

/**
 * Signs a user up: submits the workflow, clicks the link it sent, and
 * attaches to the run's result.
 *
 * @example
 * ```ts
 * const verified = await signUp(clients.connect({ url }), 'ada', (key) => outbox.get(key));
 * ```
 */
export async function signUp(
  ingress: clients.Ingress,
  key: string,
  secretOf: (key: string) => Promise<string>,
): Promise<{ submitted: string; verified: boolean }> {
  const flow = ingress.workflowClient<SignupApi>({ name: 'signup' }, key);
  const submission = await flow.workflowSubmit({ name: key, email: `${key}@example.com` });
  await flow.click({ secret: await secretOf(key) });
  const verified: boolean = await flow.workflowAttach();
  return { submitted: submission.status, verified };
}

/**
 * Greets through the virtual object, typed from the definition itself and
 * from its type.
 *
 * @example
 * ```ts
 * await greetTwice(ingress, 'ada') // ['Hi ada #1', 'Hi ada #2']
 * ```
 */
export async function greetTwice(ingress: clients.Ingress, key: string): Promise<string[]> {
  const first: string = await ingress.objectClient(greeterObject, key).greet({ greeting: 'Hi' });
  const second: string = await ingress.objectClient<typeof greeterObject>({ name: 'greeterObject' }, key).greet({ greeting: 'Hi' });
  return [first, second];
}

/**
 * How many wait in a queue, read through its shared handler.
 *
 * @example
 * ```ts
 * await waiting(ingress, 'q1') // 0
 * ```
 */
export async function waiting(ingress: clients.Ingress, queue: string): Promise<number> {
  return ingress.objectClient<Queue>({ name: 'queue' }, queue).waiting();
}
