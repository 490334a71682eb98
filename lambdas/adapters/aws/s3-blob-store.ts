import type { S3Client } from "@aws-sdk/client-s3";

/** Where bytes too large for a DynamoDB item go. */
export interface BlobStore {
  put(key: string, bytes: Uint8Array): Promise<void>;
  get(key: string): Promise<Uint8Array>;
}

/**
 * Only bodies above the inline limit come here, so the S3 SDK is loaded on first use, and the client may be
 * given as a function that makes it: a Lambda container that never sees a large body never loads it.
 */
export class S3BlobStore implements BlobStore {
  private readonly makeClient: () => S3Client | Promise<S3Client>;
  private client: Promise<S3Client> | undefined;
  private readonly bucket: string;
  constructor(client: S3Client | (() => S3Client | Promise<S3Client>), bucket: string) {
    this.makeClient = typeof client === "function" ? client : () => client;
    this.bucket = bucket;
  }

  private s3(): Promise<S3Client> {
    return (this.client ??= Promise.resolve().then(this.makeClient));
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    const [client, { PutObjectCommand }] = await Promise.all([this.s3(), import("@aws-sdk/client-s3")]);
    await client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: bytes }));
  }

  async get(key: string): Promise<Uint8Array> {
    const [client, { GetObjectCommand }] = await Promise.all([this.s3(), import("@aws-sdk/client-s3")]);
    const result = await client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    return (await result.Body?.transformToByteArray()) ?? new Uint8Array(0);
  }
}
