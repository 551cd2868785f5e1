/**
 * The table's list index on the synthesized template: sparse keys-only GSI
 * on the attributes the store writes (src/store/keys.ts), and the ingress
 * allowed to Query it (table.grant covers the table's indexes).
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { DurableRuntime } from '../../cdk/lib/durable-runtime.ts';
import { LIST_INDEX, LIST_PK, LIST_SK } from '../../src/store/keys.ts';
import { tableDefinition } from '../../src/store/dynamodb.ts';
import { TEST_CONTEXT } from './support.ts';

describe('the list index', () => {
  it('is the keys-only GSI the store queries, and the ingress may Query it', () => {
    const stack = new Stack(new App({ context: TEST_CONTEXT }), 'Listed');
    new DurableRuntime(stack, 'Runtime');
    const template = Template.fromStack(stack);

    const [table] = Object.values(template.findResources('AWS::DynamoDB::Table'));
    const indexes = (table!.Properties as { GlobalSecondaryIndexes: unknown[] }).GlobalSecondaryIndexes;
    expect(indexes).toEqual(tableDefinition('x').GlobalSecondaryIndexes);
    expect(indexes).toEqual([
      {
        IndexName: LIST_INDEX,
        KeySchema: [
          { AttributeName: LIST_PK, KeyType: 'HASH' },
          { AttributeName: LIST_SK, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'KEYS_ONLY' },
      },
    ]);
    // Only the ingress reads it, and only the list index.
    const policies = Object.entries(template.findResources('AWS::IAM::Policy')).filter(([, p]) => JSON.stringify(p).includes('/index/'));
    expect(policies.map(([id]) => id.replace(/[0-9A-F]{8}$/, ''))).toEqual(['RuntimeIngressRoleDefaultPolicy']);
    expect(JSON.stringify(policies[0]![1])).toContain(`/index/${LIST_INDEX}`);
  });
});
