/**
 * The ingress router (src/runtime/http.ts): a pure function of the method,
 * the path and the catalog. Unit tests; the e2e files drive the same routes
 * over HTTP.
 */
import { handlers, object, service, workflow } from 'dormant-lambda';
import { IngressError, catalogOf } from 'dormant-lambda/internal';
import { describe, expect, it } from 'vitest';
import { errorAnswer, outputAnswer, route } from '../../src/runtime/http.ts';

const catalog = catalogOf([
  service({ name: 'greeter', handlers: { greet: async () => 'hi' } }),
  object({ name: 'ledger', handlers: { add: async () => 1, balance: handlers.object.shared(async () => 0) } }),
  object({ name: 'mailer', handlers: { send: async () => 1 } }),
  workflow({ name: 'reviewFlow', handlers: { run: async () => 1, submit: async () => 1 } }),
]);

function refused(result: ReturnType<typeof route>): { status: number; code: string } {
  if (!(result instanceof IngressError)) throw new Error(`expected a refusal, got ${JSON.stringify(result)}`);
  return { status: result.status, code: result.code };
}

describe('route', () => {
  it('routes calls of services, objects and workflows, with and without /send', () => {
    expect(route('POST', '/greeter/greet', catalog)).toEqual({
      kind: 'start',
      service: 'greeter',
      handler: 'greet',
      key: undefined,
      send: false,
    });
    expect(route('POST', '/greeter/greet/send', catalog)).toEqual({
      kind: 'start',
      service: 'greeter',
      handler: 'greet',
      key: undefined,
      send: true,
    });
    expect(route('POST', '/ledger/alice/add', catalog)).toEqual({
      kind: 'start',
      service: 'ledger',
      handler: 'add',
      key: 'alice',
      send: false,
    });
    expect(route('post', '/ledger/alice/add/send/', catalog)).toEqual({
      kind: 'start',
      service: 'ledger',
      handler: 'add',
      key: 'alice',
      send: true,
    });
    expect(route('POST', '/reviewFlow/doc-7/run/send', catalog)).toEqual({
      kind: 'start',
      service: 'reviewFlow',
      handler: 'run',
      key: 'doc-7',
      send: true,
    });
  });

  it('decodes percent-encoded keys', () => {
    expect(route('POST', '/ledger/a%2Fb%20c/add', catalog)).toMatchObject({ key: 'a/b c' });
  });

  it('reads /{object}/{handler}/send as a call without a key, unless send is a handler', () => {
    expect(route('POST', '/ledger/add/send', catalog)).toMatchObject({ handler: 'add', key: undefined, send: true });
    expect(route('POST', '/mailer/bob/send', catalog)).toMatchObject({ handler: 'send', key: 'bob', send: false });
  });

  it('passes a key given to a service on, so the start refuses it as unexpected', () => {
    expect(route('POST', '/greeter/alice/greet', catalog)).toMatchObject({ handler: 'greet', key: 'alice' });
  });

  it('routes the restate endpoints', () => {
    expect(route('GET', '/restate/invocation/inv_x', catalog)).toEqual({ kind: 'status', invocationId: 'inv_x' });
    expect(route('GET', '/restate/invocation/inv_x/output', catalog)).toEqual({ kind: 'output', invocationId: 'inv_x' });
    expect(route('POST', '/restate/awakeables/awk_x/resolve', catalog)).toEqual({ kind: 'resolve', awakeableId: 'awk_x' });
    expect(route('POST', '/restate/a/awk_x/reject', catalog)).toEqual({ kind: 'reject', awakeableId: 'awk_x' });
  });

  it('refuses unknown paths, services and handlers with 404', () => {
    expect(refused(route('GET', '/', catalog))).toEqual({ status: 404, code: 'not_found' });
    expect(refused(route('POST', '/greeter', catalog))).toEqual({ status: 404, code: 'not_found' });
    expect(refused(route('POST', '/restate/awakeables/awk_x', catalog))).toEqual({ status: 404, code: 'not_found' });
    expect(refused(route('POST', '/restate/awakeables/awk_x/resolve/now', catalog))).toEqual({ status: 404, code: 'not_found' });
    expect(refused(route('POST', '/ledger/a/add/send/more', catalog))).toEqual({ status: 404, code: 'not_found' });
    expect(refused(route('GET', '/nobody/greet', catalog))).toEqual({ status: 404, code: 'unknown_service' });
    expect(refused(route('POST', '/greeter/wave', catalog))).toEqual({ status: 404, code: 'unknown_handler' });
    expect(refused(route('POST', '/ledger/alice/withdraw', catalog))).toEqual({ status: 404, code: 'unknown_handler' });
  });

  it('refuses other methods on known paths with 405 and the allowed one', () => {
    const wrong = route('GET', '/greeter/greet', catalog);
    expect(refused(wrong)).toEqual({ status: 405, code: 'method_not_allowed' });
    expect(errorAnswer(wrong as IngressError).headers.allow).toBe('POST');
    expect(refused(route('PUT', '/restate/invocation/inv_x', catalog))).toEqual({ status: 405, code: 'method_not_allowed' });
    expect(refused(route('GET', '/restate/invocation/inv_x/cancel', catalog))).toEqual({ status: 405, code: 'method_not_allowed' });
    // DELETE on an invocation cancels it (Restate's admin API); PATCH …/cancel and …/kill too.
    expect(route('DELETE', '/restate/invocation/inv_x', catalog)).toEqual({ kind: 'cancel', invocationId: 'inv_x', mode: 'query' });
    expect(route('PATCH', '/restate/invocation/inv_x/kill', catalog)).toEqual({ kind: 'cancel', invocationId: 'inv_x', mode: 'kill' });
    expect(refused(route('GET', '/restate/awakeables/awk_x/resolve', catalog))).toEqual({ status: 405, code: 'method_not_allowed' });
  });

  it("passes ?ifExists= of a workflow's run on, and refuses bad values and other handlers with 400", () => {
    expect(route('POST', '/reviewFlow/doc-7/run/send', catalog, { ifExists: 'fail' })).toEqual({
      kind: 'start',
      service: 'reviewFlow',
      handler: 'run',
      key: 'doc-7',
      send: true,
      ifExists: 'fail',
    });
    expect(route('POST', '/reviewFlow/doc-7/run', catalog, { ifExists: 'attach' })).toEqual({
      kind: 'start',
      service: 'reviewFlow',
      handler: 'run',
      key: 'doc-7',
      send: false,
      ifExists: 'attach',
    });
    // Other query parameters leave the route as it was.
    expect(route('POST', '/reviewFlow/doc-7/run/send', catalog, { delay: '1s' })).not.toHaveProperty('ifExists');

    const bad = route('POST', '/reviewFlow/doc-7/run/send', catalog, { ifExists: 'replace' });
    expect(refused(bad)).toEqual({ status: 400, code: 'invalid_if_exists' });
    expect((bad as IngressError).message).toContain('?ifExists=replace');
    expect(refused(route('POST', '/reviewFlow/doc-7/run', catalog, { ifExists: '' }))).toEqual({ status: 400, code: 'invalid_if_exists' });
    expect(refused(route('POST', '/reviewFlow/doc-7/submit', catalog, { ifExists: 'fail' }))).toEqual({
      status: 400,
      code: 'if_exists_needs_workflow_run',
    });
    expect(refused(route('POST', '/ledger/alice/add/send', catalog, { ifExists: 'fail' }))).toEqual({
      status: 400,
      code: 'if_exists_needs_workflow_run',
    });
    expect(refused(route('POST', '/greeter/greet', catalog, { ifExists: 'fail' }))).toEqual({
      status: 400,
      code: 'if_exists_needs_workflow_run',
    });
    // Unknown handlers and wrong methods are still what the answer names.
    expect(refused(route('POST', '/reviewFlow/doc-7/nope', catalog, { ifExists: 'fail' }))).toEqual({
      status: 404,
      code: 'unknown_handler',
    });
    expect(refused(route('GET', '/reviewFlow/doc-7/run', catalog, { ifExists: 'nonsense' }))).toEqual({
      status: 405,
      code: 'method_not_allowed',
    });
  });

  it('refuses undecodable paths with 400', () => {
    expect(refused(route('POST', '/ledger/%E0%A4%A/add', catalog))).toEqual({ status: 400, code: 'malformed_path' });
  });
});

describe('answers', () => {
  it('spells refusals as { code, message, ...details } without the allow detail', () => {
    const answer = errorAnswer(new IngressError(409, 'already_completed', 'lost', { outcome: 'resolved' }));
    expect(answer.statusCode).toBe(409);
    expect(JSON.parse(answer.body)).toEqual({ code: 'already_completed', message: 'lost', outcome: 'resolved' });
  });

  it('gives a failure its own code when it is an HTTP error code, else 500', () => {
    expect(outputAnswer({ failure: { name: 'TerminalError', message: 'no', code: 422 } }).statusCode).toBe(422);
    expect(outputAnswer({ failure: { name: 'TerminalError', message: 'no', code: 7 } }).statusCode).toBe(500);
    expect(outputAnswer({ output: '"ok"' })).toMatchObject({ statusCode: 200, body: '"ok"' });
    expect(outputAnswer({ output: '' }).headers['content-type']).toBeUndefined();
  });
});
