import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildDormantApp } from '../../cdk/lib/app.ts';
import { PROJECT_ROOT } from '../../cdk/lib/bundled-function.ts';
import type { DormantExampleStack, DormantExampleStackProps } from '../../cdk/lib/example-stack.ts';

/** The feature flags in cdk.json, so in-process apps synthesize as `cdk synth` does. */
export const CDK_CONTEXT: Record<string, unknown> = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')).context;

/**
 * Context for in-process tests: cdk.json's flags, and no stack bundled
 * (`aws:cdk:bundling-stacks: []`), so assertions do not wait for esbuild.
 * Bundling itself is covered by the `cdk synth` test.
 */
export const TEST_CONTEXT: Record<string, unknown> = { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] };

/**
 * The example app as `cdk/bin/dormant.ts` builds it (cdk-nag included),
 * synthesized once without bundling.
 *
 * @example
 * const { template } = synthExampleApp();
 */
export function synthExampleApp(stack: DormantExampleStackProps = {}): { app: App; stack: DormantExampleStack; template: Template } {
  const built = buildDormantApp({ appProps: { context: TEST_CONTEXT }, stack });
  // Template.fromStack synthesizes the app, and with it runs cdk-nag: an
  // unacknowledged error would throw here.
  const template = Template.fromStack(built.stack);
  return { ...built, template };
}

/** An IAM policy statement as it appears in a template. */
export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

/** Every statement of every `AWS::IAM::Policy` whose roles include `roleLogicalId` (all when omitted). */
export function statements(template: Template, roleLogicalId?: string): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy');
  return Object.values(policies)
    .filter((p) => !roleLogicalId || JSON.stringify(p.Properties.Roles).includes(`"${roleLogicalId}"`))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

/** The actions of `statements`, flattened. */
export function actions(list: Statement[]): string[] {
  return list.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
}

/** Logical id of the single resource of `type` whose logical id starts with `prefix`. */
export function logicalId(template: Template, type: string, prefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  if (ids.length !== 1) throw new Error(`expected one ${type} starting with ${prefix}, found ${ids.join(', ') || 'none'}`);
  return ids[0]!;
}

/**
 * Whether some statement allows `action` on `resource` (compared as JSON;
 * a statement may list several resources, as minimized policies do).
 */
export function allows(list: Statement[], action: string, resource: unknown): boolean {
  const wanted = JSON.stringify(resource);
  return list.some((s) => {
    const acts = Array.isArray(s.Action) ? s.Action : [s.Action];
    const resources = Array.isArray(s.Resource) ? s.Resource : [s.Resource];
    return s.Effect === 'Allow' && acts.includes(action) && resources.some((r) => JSON.stringify(r) === wanted);
  });
}

/**
 * How long a hook that synthesizes may take: the first synthesis in a worker
 * loads aws-cdk-lib's lazy modules and CloudFormation validation rules, which
 * takes seconds, more on a busy 2-core machine.
 */
export const SYNTH_HOOK_TIMEOUT_MS = 120_000;
