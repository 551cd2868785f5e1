/**
 * The routes Restate's ingress client and AWS's durable callback client use,
 * as the pure router and answer helpers see them.
 */
import { handlers, service, workflow } from 'dormant-lambda';
import { IngressError, catalogOf } from 'dormant-lambda/internal';
import { describe, expect, it } from 'vitest';
import { awsErrorAnswer, outputAnswer, route } from '../../src/runtime/http.ts';
import { parseDelay } from '../../src/runtime/invocations.ts';

const catalog = catalogOf([
  service({ name: 'greeter', handlers: { greet: async () => 'hi' } }),
  workflow({ name: 'reviewFlow', handlers: { run: async () => 1, status: handlers.workflow.shared(async () => 's') } }),
]);

describe('client routes', () => {
  it('routes attach, workflow attach/output and the durable callback operations', () => {
    expect(route('GET', '/restate/invocation/inv_x/attach', catalog)).toEqual({ kind: 'attach', invocationId: 'inv_x' });
    expect(route('GET', '/restate/workflow/reviewFlow/doc%207/attach', catalog)).toEqual({
      kind: 'workflow-attach',
      workflow: 'reviewFlow',
      key: 'doc 7',
    });
    expect(route('GET', '/restate/workflow/reviewFlow/doc-7/output', catalog)).toEqual({
      kind: 'workflow-output',
      workflow: 'reviewFlow',
      key: 'doc-7',
    });
    for (const operation of ['succeed', 'fail', 'heartbeat']) {
      expect(route('POST', `/2025-12-01/durable-execution-callbacks/awk_x/${operation}`, catalog)).toEqual({
        kind: 'callback',
        operation,
        awakeableId: 'awk_x',
      });
    }
  });

  it('refuses a workflow route for a service, a wrong method and an unknown callback operation', () => {
    expect(route('GET', '/restate/workflow/greeter/k/output', catalog)).toMatchObject({ status: 404, code: 'unknown_workflow' });
    expect(route('POST', '/restate/workflow/reviewFlow/k/attach', catalog)).toMatchObject({ status: 405 });
    expect(route('POST', '/2025-12-01/durable-execution-callbacks/awk_x/cancel', catalog)).toMatchObject({ status: 404 });
  });

  it('parses the delays a send may carry and refuses others', () => {
    expect(parseDelay('1500ms')).toBe(1500);
    expect(parseDelay('250')).toBe(250);
    expect(parseDelay('2m')).toBe(120_000);
    expect(() => parseDelay('soon')).toThrow(IngressError);
    expect(() => parseDelay('-5ms')).toThrow(IngressError);
  });

  it("marks a handler's failure as the invocation's, so Restate's client does not retry it", () => {
    expect(outputAnswer({ failure: { name: 'TerminalError', message: 'no', code: 503 } }).headers).toMatchObject({
      'x-restate-error-source': 'invocation',
    });
  });

  it("spells refusals of the callback API as the AWS SDK's typed errors", () => {
    const shape = (status: number) => {
      const a = awsErrorAnswer(new IngressError(status, 'x', 'why'));
      return [a.statusCode, a.headers['x-amzn-errortype']];
    };
    expect(shape(409)).toEqual([400, 'CallbackTimeoutException']);
    expect(shape(410)).toEqual([400, 'CallbackTimeoutException']);
    expect(shape(403)).toEqual([400, 'InvalidParameterValueException']);
    expect(shape(404)).toEqual([404, 'ResourceNotFoundException']);
    expect(shape(413)).toEqual([413, 'RequestTooLargeException']);
    expect(shape(500)).toEqual([500, 'ServiceException']);
  });
});
