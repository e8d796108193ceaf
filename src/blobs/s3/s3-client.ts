import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { S3Client } from '@aws-sdk/client-s3';

/** Where the blobs live. Credentials are not here: they come from the AWS SDK's default chain. */
export interface S3BlobStoreOptions {
  /** e.g. http://127.0.0.1:9000 for MinIO; undefined means AWS S3 itself, found from the region. */
  endpoint: string | undefined;
  bucket: string;
  region: string;
  /** `endpoint/bucket/key` rather than `bucket.endpoint/key`: what MinIO and most S3 clones need. */
  forcePathStyle: boolean;
  /**
   * '' or whole segments ending with '/', put before every key, so that deployments (or test
   * runs) can share one bucket: each lists, sweeps and deletes only below its own prefix.
   */
  prefix: string;
  /** Defaults S3_TIMEOUTS; tests shorten them to see a hung store fail in moments. */
  timeouts?: Partial<S3Timeouts>;
}

/**
 * How long the store waits before it calls S3 unavailable. Every wait is bounded, so a store
 * that is down or black-holed turns into a 503 within seconds instead of holding requests open.
 */
export const S3_TIMEOUTS: Readonly<S3Timeouts> = {
  /** A TCP (and TLS) connect; S3 and a loopback MinIO connect in milliseconds when they are up. */
  connectionMs: 3_000,
  /**
   * From the request's start to the response's headers, and so it covers sending the body: a
   * 10 MiB master needs about 7 Mbit/s to make it. Without throwOnRequestTimeout the SDK only logs.
   */
  requestMs: 15_000,
  /** A socket with no traffic either way, which also bounds a response body that stalls. */
  socketIdleMs: 15_000,
  /** One operation, all attempts and back-off included: the SDK's timeouts are per attempt. */
  operationMs: 45_000,
  /** A readiness probe should fail fast rather than wait out the retries. */
  pingMs: 5_000,
};

export interface S3Timeouts {
  connectionMs: number;
  requestMs: number;
  socketIdleMs: number;
  operationMs: number;
  pingMs: number;
}

/**
 * Attempts per operation, the first included. The SDK's standard mode retries connection
 * errors, timeouts, 5xx and throttling with exponential back-off and full jitter (base 100 ms,
 * so three retries wait well under a second in all) and spends from a retry quota, so a store
 * that is down is not hammered by every caller's retries. Adaptive mode would add client-side
 * rate limiting, which suits batch jobs more than a request path.
 */
const MAX_ATTEMPTS = 4;

/**
 * Sockets per agent. Uploads write a master and a few renditions at once and reads of uncached
 * renditions come in bursts; past this many, requests queue in the agent rather than open ever
 * more connections to one endpoint.
 */
const MAX_SOCKETS = 64;

export function buildS3Client(options: S3BlobStoreOptions, timeouts: S3Timeouts): S3Client {
  // Keep-alive saves a TCP (and TLS) handshake per blob. The agents are instances, not options,
  // so that the SDK uses them even for the `Expect: 100-continue` puts of bodies over 2 MB,
  // for which it otherwise makes a fresh agent without keep-alive or a socket limit.
  const agentOptions = { keepAlive: true, maxSockets: MAX_SOCKETS };
  return new S3Client({
    endpoint: options.endpoint,
    region: options.region,
    forcePathStyle: options.forcePathStyle,
    maxAttempts: MAX_ATTEMPTS,
    retryMode: 'standard',
    // Options for the SDK's own NodeHttpHandler: passing them, rather than an instance, avoids
    // importing @smithy/node-http-handler, which is the SDK's dependency but not ours.
    requestHandler: {
      connectionTimeout: timeouts.connectionMs,
      requestTimeout: timeouts.requestMs,
      throwOnRequestTimeout: true,
      socketTimeout: timeouts.socketIdleMs,
      httpAgent: new HttpAgent(agentOptions),
      httpsAgent: new HttpsAgent(agentOptions),
    },
  });
}

/**
 * Resolves the credentials once, so that a deployment without any fails at start-up with a
 * clear message rather than with a 500 on its first upload.
 */
export async function checkCredentials(client: S3Client): Promise<void> {
  try {
    await client.config.credentials();
  } catch (err) {
    throw new Error(
      'S3 blob store: no credentials found by the AWS SDK\'s default chain ' +
        '(AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, web identity, or instance metadata)',
      { cause: err },
    );
  }
}
