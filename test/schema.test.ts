import { readFileSync } from 'node:fs';
import { getNamedType, getNullableType, isLeafType, isListType, isObjectType, isUnionType, printSchema, type GraphQLNamedType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { schema } from '../src/schema/index.js';

describe('schema.graphql', () => {
  it('matches the schema built from the code', () => {
    const checkedIn = readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8');
    expect(checkedIn).toBe(`${printSchema(schema)}\n`);
  });
});

describe('batch subscriptions', () => {
  /**
   * A batch's execution is shared among its subscribers (src/http/shared-results.ts), so its
   * items must resolve from their own data alone: leaf fields without arguments, nothing that
   * could look at who is asking.
   */
  it('carry items with plain leaf fields only, so their results can be shared', () => {
    const batchFields = Object.values(schema.getSubscriptionType()!.getFields()).filter((field) => isListType(getNullableType(field.type)));
    expect(batchFields.map((field) => field.name)).toEqual(['containerLogBatches']);
    for (const field of batchFields) {
      const item = getNamedType(field.type) as GraphQLNamedType;
      const members = isUnionType(item) ? item.getTypes() : [item];
      for (const member of members) {
        expect(isObjectType(member)).toBe(true);
        if (!isObjectType(member)) continue;
        for (const child of Object.values(member.getFields())) {
          expect({ field: `${member.name}.${child.name}`, leaf: isLeafType(getNamedType(child.type)), args: child.args.length }).toEqual({
            field: `${member.name}.${child.name}`,
            leaf: true,
            args: 0,
          });
        }
      }
    }
  });
});
