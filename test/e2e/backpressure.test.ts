import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noisyJpeg } from '../fixtures/images.js';
import { register, upload } from '../support/http.js';
import { metricValue } from '../support/metrics.js';
import { type RunningServer, startServer } from '../support/server.js';
import { closeInspectors } from '../support/inspect.js';

/**
 * A large response to a client that stops reading goes out under backpressure (onWritable).
 * When that client then disconnects, the request must end: otherwise it stays "in flight"
 * forever and SIGTERM waits for it until the shutdown timeout, then exits 1.
 */
describe('a client that stops reading a large response and goes away', () => {
  let server: RunningServer;

  beforeAll(async () => {
    server = await startServer({ env: { ONEPIC_SHUTDOWN_TIMEOUT_SECONDS: '15' } });
    const token = await register(server.base, 'slowpoke');
    expect((await upload(server.base, 'slowpoke', token, await noisyJpeg(1600, 1200), '?active=true')).status).toBe(201);
  });

  afterAll(async () => {
    if (server.proc.exitCode === null) await server.kill();
    await closeInspectors();
  });

  it('does not keep the server from shutting down cleanly', async () => {
    // A 2048-pixel PNG of noise is megabytes: more than the socket buffers hold.
    const received = await new Promise<number>((resolve, reject) => {
      const socket = connect(server.port, '127.0.0.1', () => {
        socket.write('GET /slowpoke.png?s=2048 HTTP/1.1\r\nHost: x\r\n\r\n');
      });
      let bytes = 0;
      socket.on('data', (chunk) => {
        bytes += chunk.length;
        socket.pause(); // stop reading after the first chunk: the server must wait for us
        setTimeout(() => { socket.destroy(); resolve(bytes); }, 1500);
      });
      socket.on('error', reject);
    });
    expect(received).toBeGreaterThan(0);

    // Only the /metrics request itself is in flight.
    expect(await metricValue(server.base, 'onepic_http_requests_in_flight')).toBe(1);
    expect(await server.stop()).toBe(0);
  });
});
