import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiKey, ErrorCode } from '@tributary/protocol';
import { KafkaError } from '../src/handlers/error-codes.js';
import { BrokerApi } from '../src/handlers/routes.js';

test("the broker's error codes and API keys equal @tributary/protocol's", () => {
  for (const [name, code] of Object.entries(KafkaError)) {
    assert.equal((ErrorCode as Record<string, number>)[name], code, name);
  }
  for (const [name, key] of Object.entries(BrokerApi)) {
    assert.equal((ApiKey as Record<string, number>)[name], key, name);
  }
});
