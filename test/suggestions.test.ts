import { describe, expect, it } from 'vitest';
import { transports } from './auth-kit.js';
import { startTestServer } from './kit.js';

const misspelt = '{ helth { healthy } }';

describe('field suggestions in validation errors', async () => {
  const open = await startTestServer();
  const closed = await startTestServer({ INTROSPECTION: 'false' });

  it('suggest field names where introspection shows the schema anyway', async () => {
    const result = await transports.http(open.url, undefined, misspelt);
    expect(result.errors?.map((e) => [e.message, e.extensions?.code])).toEqual([['Cannot query field "helth" on type "Query". Did you mean "health"?', 'BAD_USER_INPUT']]);
  });

  it('are hidden when introspection is off', async () => {
    const result = await transports.http(closed.url, undefined, misspelt);
    expect(result.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    expect(result.errors?.[0]?.message).toMatch(/^Cannot query field "helth" on type "Query"\./);
    expect(JSON.stringify(result.errors)).not.toMatch(/Did you mean|"health"/);
  });
});
