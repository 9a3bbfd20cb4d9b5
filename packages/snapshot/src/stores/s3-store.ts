/**
 * ObjectStore over S3 (AWS, MinIO, SeaweedFS). Large streamed bodies go through @aws-sdk/lib-storage's
 * multipart Upload (parts of partSizeBytes, a bounded number in flight), so a multi-GiB snapshot is never
 * held in memory. Checksum calculation/validation is WHEN_REQUIRED so S3-compatible servers that do not
 * understand the SDK's default CRC32 trailers (aws-chunked) still work.
 */
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Readable } from 'node:stream';
import { ObjectNotFound } from '../errors.js';
import type { ListedObject, ObjectInfo, ObjectStore, PutOptions } from '../object-store.js';
import { assertValidKey, assertValidMetadata } from '../object-store.js';

export interface S3ObjectStoreConfig {
  readonly bucket: string;
  /** Prepended to every key, e.g. "tributary/" (a trailing slash is added if missing). */
  readonly prefix?: string;
  /** Omit for AWS; e.g. "http://127.0.0.1:8333" for SeaweedFS/MinIO. */
  readonly endpoint?: string;
  readonly region?: string;
  /** Default: true when an endpoint is given (MinIO/SeaweedFS), false for AWS. */
  readonly forcePathStyle?: boolean;
  /** Default: the standard AWS credential chain (AWS_ACCESS_KEY_ID, profiles, ...). */
  readonly credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** SDK-level attempts per request (default 3); the SnapshotManager adds its own backoff on top. */
  readonly maxAttempts?: number;
  /** Abandon a connection attempt after this long (default 5 s). */
  readonly connectionTimeoutMs?: number;
  /**
   * Fail a request whose socket is idle this long (default 30 s): an endpoint that accepts connections
   * but never answers (a half-up server) must not hold a snapshot slot forever.
   */
  readonly socketIdleTimeoutMs?: number;
  readonly partSizeBytes?: number;
  readonly uploadQueueSize?: number;
  /** Use a ready client instead (tests); the other connection options are then ignored. */
  readonly client?: S3Client;
}

export class S3ObjectStore implements ObjectStore {
  readonly description: string;
  readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly partSizeBytes: number;
  private readonly uploadQueueSize: number;

  constructor(config: S3ObjectStoreConfig) {
    this.bucket = config.bucket;
    this.prefix = config.prefix === undefined || config.prefix === '' ? '' : config.prefix.replace(/\/*$/, '/');
    this.partSizeBytes = Math.max(5 * 1024 * 1024, config.partSizeBytes ?? 8 * 1024 * 1024);
    this.uploadQueueSize = Math.max(1, config.uploadQueueSize ?? 2);
    this.description = `s3://${this.bucket}/${this.prefix}${config.endpoint !== undefined ? ` at ${config.endpoint}` : ''}`;
    const clientConfig: S3ClientConfig = {
      region: config.region ?? 'us-east-1',
      forcePathStyle: config.forcePathStyle ?? config.endpoint !== undefined,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: config.maxAttempts ?? 3,
      requestHandler: {
        connectionTimeout: config.connectionTimeoutMs ?? 5000,
        socketTimeout: config.socketIdleTimeoutMs ?? 30_000,
      },
    };
    if (config.endpoint !== undefined) clientConfig.endpoint = config.endpoint;
    if (config.credentials !== undefined) clientConfig.credentials = config.credentials;
    this.client = config.client ?? new S3Client(clientConfig);
  }

  private fullKey(key: string): string {
    assertValidKey(key);
    return `${this.prefix}${key}`;
  }

  /** Creates the bucket if it does not exist (for tests, dev setups and SeaweedFS). */
  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (error) {
      if (!isNotFound(error)) throw error;
      try {
        await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
      } catch (createError) {
        const name = (createError as { name?: string }).name;
        if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw createError;
      }
    }
  }

  async put(key: string, body: Buffer | Readable, options?: PutOptions): Promise<void> {
    const Key = this.fullKey(key);
    assertValidMetadata(options?.metadata);
    const Metadata = { ...(options?.metadata ?? {}) };
    if (Buffer.isBuffer(body)) {
      await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key, Body: body, ContentLength: body.length, Metadata }),
      );
      return;
    }
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key, Body: body, Metadata },
      partSize: this.partSizeBytes,
      queueSize: this.uploadQueueSize,
      leavePartsOnError: false,
    });
    await upload.done();
  }

  async get(key: string): Promise<Readable> {
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }));
      const body = response.Body;
      if (body === undefined) throw new ObjectNotFound(key);
      return body instanceof Readable ? body : Readable.fromWeb(body as never);
    } catch (error) {
      if (isNotFound(error)) throw new ObjectNotFound(key);
      throw error;
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    try {
      const response = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }));
      return { key, sizeBytes: response.ContentLength ?? 0, metadata: lowerCaseKeys(response.Metadata ?? {}) };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async list(prefix: string): Promise<ListedObject[]> {
    const out: ListedObject[] = [];
    let ContinuationToken: string | undefined;
    do {
      const response = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: `${this.prefix}${prefix}`, ContinuationToken }),
      );
      for (const object of response.Contents ?? []) {
        if (object.Key === undefined) continue;
        out.push({ key: object.Key.slice(this.prefix.length), sizeBytes: object.Size ?? 0 });
      }
      ContinuationToken = response.IsTruncated === true ? response.NextContinuationToken : undefined;
    } while (ContinuationToken !== undefined);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }));
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  close(): void {
    this.client.destroy();
  }
}

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.name === 'NoSuchBucket' || e.$metadata?.httpStatusCode === 404;
}

function lowerCaseKeys(metadata: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata)) out[k.toLowerCase()] = v;
  return out;
}
