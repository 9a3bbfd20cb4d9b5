// Schemas for the transactional producer APIs (v0-3, the versions clients send).
// Field names follow the specification's pre-KIP-890 names (v4+ batch several transactions per request and
// are sent only by brokers, so they are not implemented).
import { ApiKey } from '../api-keys.js';
import { f, message, type MessageType, type MessageSchema } from '../schema/dsl.js';

export const AddPartitionsToTxnRequestSchema = message({
  name: 'AddPartitionsToTxnRequest',
  apiKey: 24,
  type: 'request',
  validVersions: '0-3',
  flexibleVersions: '3+',
  fields: [
    f('transactionalId', 'string', '0+'),
    f('producerId', 'int64', '0+'),
    f('producerEpoch', 'int16', '0+'),
    f('topics', '[]struct', '0+', { fields: [f('name', 'string', '0+'), f('partitions', '[]int32', '0+')] }),
  ],
});

export const AddPartitionsToTxnResponseSchema = message({
  name: 'AddPartitionsToTxnResponse',
  apiKey: 24,
  type: 'response',
  validVersions: '0-3',
  flexibleVersions: '3+',
  fields: [
    f('throttleTimeMs', 'int32', '0+'),
    f('results', '[]struct', '0+', {
      fields: [
        f('name', 'string', '0+'),
        f('results', '[]struct', '0+', { fields: [f('partitionIndex', 'int32', '0+'), f('errorCode', 'int16', '0+')] }),
      ],
    }),
  ],
});

export const AddOffsetsToTxnRequestSchema = message({
  name: 'AddOffsetsToTxnRequest',
  apiKey: 25,
  type: 'request',
  validVersions: '0-3',
  flexibleVersions: '3+',
  fields: [
    f('transactionalId', 'string', '0+'),
    f('producerId', 'int64', '0+'),
    f('producerEpoch', 'int16', '0+'),
    f('groupId', 'string', '0+'),
  ],
});

export const AddOffsetsToTxnResponseSchema = message({
  name: 'AddOffsetsToTxnResponse',
  apiKey: 25,
  type: 'response',
  validVersions: '0-3',
  flexibleVersions: '3+',
  fields: [f('throttleTimeMs', 'int32', '0+'), f('errorCode', 'int16', '0+')],
});

export const EndTxnRequestSchema = message({
  name: 'EndTxnRequest',
  apiKey: 26,
  type: 'request',
  validVersions: '0-3',
  flexibleVersions: '3+',
  fields: [
    f('transactionalId', 'string', '0+'),
    f('producerId', 'int64', '0+'),
    f('producerEpoch', 'int16', '0+'),
    f('committed', 'bool', '0+'),
  ],
});

export const EndTxnResponseSchema = message({
  name: 'EndTxnResponse',
  apiKey: 26,
  type: 'response',
  validVersions: '0-3',
  flexibleVersions: '3+',
  fields: [f('throttleTimeMs', 'int32', '0+'), f('errorCode', 'int16', '0+')],
});

export const TxnOffsetCommitRequestSchema = message({
  name: 'TxnOffsetCommitRequest',
  apiKey: 28,
  type: 'request',
  validVersions: '0-3',
  flexibleVersions: '3+',
  fields: [
    f('transactionalId', 'string', '0+'),
    f('groupId', 'string', '0+'),
    f('producerId', 'int64', '0+'),
    f('producerEpoch', 'int16', '0+'),
    f('generationId', 'int32', '3+', { default: -1 }),
    f('memberId', 'string', '3+', { default: '' }),
    f('groupInstanceId', 'string', '3+', { nullableVersions: '3+', default: null }),
    f('topics', '[]struct', '0+', {
      fields: [
        f('name', 'string', '0+'),
        f('partitions', '[]struct', '0+', {
          fields: [
            f('partitionIndex', 'int32', '0+'),
            f('committedOffset', 'int64', '0+'),
            f('committedLeaderEpoch', 'int32', '2+', { default: -1 }),
            f('committedMetadata', 'string', '0+', { nullableVersions: '0+' }),
          ],
        }),
      ],
    }),
  ],
});

export const TxnOffsetCommitResponseSchema = message({
  name: 'TxnOffsetCommitResponse',
  apiKey: 28,
  type: 'response',
  validVersions: '0-3',
  flexibleVersions: '3+',
  fields: [
    f('throttleTimeMs', 'int32', '0+'),
    f('topics', '[]struct', '0+', {
      fields: [
        f('name', 'string', '0+'),
        f('partitions', '[]struct', '0+', { fields: [f('partitionIndex', 'int32', '0+'), f('errorCode', 'int16', '0+')] }),
      ],
    }),
  ],
});

export const transactionApis: [number, { request: MessageSchema; response: MessageSchema }][] = [
  [ApiKey.AddPartitionsToTxn, { request: AddPartitionsToTxnRequestSchema, response: AddPartitionsToTxnResponseSchema }],
  [ApiKey.AddOffsetsToTxn, { request: AddOffsetsToTxnRequestSchema, response: AddOffsetsToTxnResponseSchema }],
  [ApiKey.EndTxn, { request: EndTxnRequestSchema, response: EndTxnResponseSchema }],
  [ApiKey.TxnOffsetCommit, { request: TxnOffsetCommitRequestSchema, response: TxnOffsetCommitResponseSchema }],
];

export type AddPartitionsToTxnRequest = MessageType<typeof AddPartitionsToTxnRequestSchema>;
export type AddPartitionsToTxnResponse = MessageType<typeof AddPartitionsToTxnResponseSchema>;
export type AddOffsetsToTxnRequest = MessageType<typeof AddOffsetsToTxnRequestSchema>;
export type AddOffsetsToTxnResponse = MessageType<typeof AddOffsetsToTxnResponseSchema>;
export type EndTxnRequest = MessageType<typeof EndTxnRequestSchema>;
export type EndTxnResponse = MessageType<typeof EndTxnResponseSchema>;
export type TxnOffsetCommitRequest = MessageType<typeof TxnOffsetCommitRequestSchema>;
export type TxnOffsetCommitResponse = MessageType<typeof TxnOffsetCommitResponseSchema>;
