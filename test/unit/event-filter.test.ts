/**
 * The local plane's Lambda event filter matcher, on the operators and record
 * shapes the wake's filters use, with Lambda's (event-ruler's) rules for
 * lists and for `exists` on leaves.
 */
import { describe, expect, it } from 'vitest';
import { matchesFilter } from '../../src/local/event-filter.ts';

describe('matchesFilter', () => {
  it('matches literal values: any value of a list, every field of a pattern; a missing field matches nothing', () => {
    const pattern = { eventName: ['INSERT', 'MODIFY'], dynamodb: { Keys: { sk: { S: ['meta'] } } } };

    expect(matchesFilter(pattern, { eventName: 'MODIFY', dynamodb: { Keys: { sk: { S: 'meta' } } } })).toBe(true);
    expect(matchesFilter(pattern, { eventName: 'REMOVE', dynamodb: { Keys: { sk: { S: 'meta' } } } })).toBe(false);
    expect(matchesFilter(pattern, { eventName: 'INSERT', dynamodb: { Keys: { sk: { S: 'J#00000001' } } } })).toBe(false);
    expect(matchesFilter(pattern, { eventName: 'INSERT' })).toBe(false);
  });

  it('matches prefixes of strings only', () => {
    const pattern = { sk: [{ prefix: 'C#' }, { prefix: 'P#' }] };

    expect(matchesFilter(pattern, { sk: 'C#00000003' })).toBe(true);
    expect(matchesFilter(pattern, { sk: 'P#review' })).toBe(true);
    expect(matchesFilter(pattern, { sk: 'J#00000003' })).toBe(false);
    expect(matchesFilter(pattern, { sk: 42 })).toBe(false);
  });

  it('anything-but matches any present value outside the list, never a missing one', () => {
    const list = { status: [{ 'anything-but': ['running', 'completed'] }] };
    const single = { status: [{ 'anything-but': 'running' }] };

    expect(matchesFilter(list, { status: 'suspended' })).toBe(true);
    expect(matchesFilter(list, { status: 'completed' })).toBe(false);
    expect(matchesFilter(list, {})).toBe(false);
    expect(matchesFilter(single, { status: 'pending' })).toBe(true);
    expect(matchesFilter(single, { status: 'running' })).toBe(false);
  });

  it('exists tests a leaf: present or absent; a type wrapper (an intermediate node) never counts as present', () => {
    const present = { NewImage: { lockScope: { S: [{ exists: true }] } } };
    const absent = { NewImage: { lockScope: { S: [{ exists: false }] } } };
    // The AWS docs' own counter-example: exists on the attribute, not its leaf.
    const onWrapper = { NewImage: { lockScope: [{ exists: true }] } };

    const withScope = { NewImage: { lockScope: { S: 'O#cart#k' } } };
    const without = { NewImage: { status: { S: 'completed' } } };
    expect(matchesFilter(present, withScope)).toBe(true);
    expect(matchesFilter(present, without)).toBe(false);
    expect(matchesFilter(absent, without)).toBe(true);
    expect(matchesFilter(absent, withScope)).toBe(false);
    expect(matchesFilter(absent, {})).toBe(true); // no NewImage at all: the leaf is absent too
    expect(matchesFilter(onWrapper, withScope)).toBe(false);
  });

  it('crushes lists out of the record: a pattern under a list matches if one element matches all of it', () => {
    const callers = {
      L: [
        { M: { invocationId: { S: 'inv_a' }, key: { S: 'C#00000001' } } },
        { M: { invocationId: { S: 'inv_b' }, key: { S: 'C#00000002' } } },
      ],
    };
    const anyCaller = { callers: { L: { M: { invocationId: { S: [{ exists: true }] } } } } };
    const oneElement = (id: string, key: string) => ({ callers: { L: { M: { invocationId: { S: [id] }, key: { S: [key] } } } } });

    expect(matchesFilter(anyCaller, { callers })).toBe(true);
    expect(matchesFilter(anyCaller, { callers: { L: [] } })).toBe(false);
    expect(matchesFilter(anyCaller, {})).toBe(false);
    expect(matchesFilter(oneElement('inv_b', 'C#00000002'), { callers })).toBe(true);
    // Fields from two different elements do not make a match.
    expect(matchesFilter(oneElement('inv_a', 'C#00000002'), { callers })).toBe(false);
    // A list of strings: a rule matches if one string does.
    expect(matchesFilter({ tags: { L: { S: ['b'] } } }, { tags: { L: [{ S: 'a' }, { S: 'b' }] } })).toBe(true);
    expect(matchesFilter({ tags: { SS: [{ prefix: 'x' }] } }, { tags: { SS: ['a', 'b'] } })).toBe(false);
  });

  it('refuses what it cannot evaluate instead of dropping records Lambda would deliver', () => {
    expect(() => matchesFilter({ n: [{ numeric: ['>', 0] }] }, { n: 1 })).toThrow(/not supported locally/);
    expect(() => matchesFilter({ eventName: 'INSERT' }, { eventName: 'INSERT' })).toThrow(/list of rules or an object/);
  });
});
