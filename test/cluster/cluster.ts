import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import cassandra from 'cassandra-driver';
import { scrape, sumIn } from '../support/metrics.js';
import { sleep } from '../support/timing.js';

/**
 * The local cluster of `npm run cluster:up` (scripts/cluster/*.sh, deploy/local), driven from a
 * test through the same scripts an operator runs: N OnePic nodes behind a real nginx, on the
 * real Cassandra and MinIO of `npm run services:up`. Each test cluster has its own state
 * directory under .cluster/, its own ports, and a keyspace and S3 prefix of its own (the
 * keyspace is dropped by destroy()).
 */

const run = promisify(execFile);
const REPO = path.resolve(import.meta.dirname, '../..');
const SCRIPTS = path.join(REPO, 'scripts/cluster');

export interface ClusterOptions {
  nodes: number;
  /** Extra environment for every node (ONEPIC_*). */
  env?: Record<string, string>;
}

export class TestCluster {
  /** Commands run and their output, for the failure message. */
  readonly transcript: string[] = [];

  private constructor(
    readonly stateDir: string,
    readonly proxyPort: number,
    readonly keyspace: string,
    private readonly env: Record<string, string>,
  ) {}

  /** Brings up a cluster with `cluster:up` on the first free run of ports from 8110 up. */
  static async up(options: ClusterOptions): Promise<TestCluster> {
    const id = randomBytes(4).toString('hex');
    const proxyPort = await freePortRun(8110, options.nodes + 2);
    const keyspace = `cluster_test_${id}`;
    const env = {
      ...process.env as Record<string, string>,
      ...options.env,
      ONEPIC_CLUSTER_STATE: path.join(REPO, '.cluster', `test-${id}`),
      ONEPIC_CLUSTER_PORT: String(proxyPort),
      ONEPIC_CLUSTER_NODES: String(options.nodes),
      ONEPIC_CLUSTER_KEYSPACE: keyspace,
      ONEPIC_CLUSTER_S3_PREFIX: `cluster-test-${id}/`,
    };
    const cluster = new TestCluster(env.ONEPIC_CLUSTER_STATE, proxyPort, keyspace, env);
    try {
      await cluster.script('up.sh');
    } catch (err) {
      // Whatever did start (nodes, nginx) must not outlive the run.
      const logs = await cluster.logs();
      await cluster.destroy(true);
      throw new Error(`${(err as Error).message}\n${logs}`);
    }
    return cluster;
  }

  get base(): string {
    return `http://127.0.0.1:${this.proxyPort}`;
  }

  nodePort(n: number): number {
    return this.proxyPort + n;
  }

  nodeBase(n: number): string {
    return `http://127.0.0.1:${this.nodePort(n)}`;
  }

  /** The node number behind an `X-Upstream` address ("127.0.0.1:8112" -> 2); the last one tried. */
  nodeOf(upstream: string | null): number {
    const last = (upstream ?? '').split(',').pop()!.trim();
    const port = Number(last.split(':').pop());
    return port > this.proxyPort && port < this.proxyPort + 100 ? port - this.proxyPort : 0;
  }

  /**
   * SIGKILLs node n; resolves once its port refuses connections, with when the signal went out
   * (`signalAt`) and when the port was first seen refusing (`goneAt`). Between the two the node
   * runs no code, yet its listening socket stays open until the last of its threads has exited
   * (its main thread may already show as a zombie), and the kernel completes handshakes there:
   * a request that nginx connects and sends then is reset unread, which nginx cannot tell from a
   * request the node had read, so a POST gets 502. From `goneAt` on every connection is refused and nginx
   * passes even a POST to the next node. So a request is in flight at the kill when it started
   * before `goneAt` and ended after `signalAt`. The signal is sent from here rather than by
   * `node.sh kill`, whose start-up on a busy machine would blur those instants.
   */
  async kill(n: number): Promise<{ signalAt: number; goneAt: number }> {
    const pid = Number(await readFile(path.join(this.stateDir, `node-${n}`, 'pid'), 'utf8'));
    const signalAt = Date.now();
    process.kill(pid, 'SIGKILL');
    // Probed back to back: goneAt is late by at most one loopback connection attempt.
    while (!(await refuses(this.nodePort(n)))) {
      if (Date.now() - signalAt > 10_000) throw new Error(`node ${n} (pid ${pid}) still accepts connections 10 s after SIGKILL`);
    }
    const goneAt = Date.now();
    while (alive(pid)) await sleep(5);
    this.transcript.push(`SIGKILL node ${n} (pid ${pid})`);
    return { signalAt, goneAt };
  }
  start(n: number): Promise<string> { return this.script('node.sh', 'start', String(n)); }
  /** scale.sh remove: out of nginx's list, reload, then SIGTERM (the node drains). */
  remove(n: number): Promise<string> { return this.script('scale.sh', 'remove', String(n)); }
  add(n: number): Promise<string> { return this.script('scale.sh', 'add', String(n)); }

  /** cluster:down, then drops the keyspace; keeps the state directory (logs) when `keepLogs`. */
  async destroy(keepLogs: boolean): Promise<void> {
    await this.script('down.sh').catch((err) => this.transcript.push(String(err)));
    const client = new cassandra.Client({
      contactPoints: (process.env.ONEPIC_CASSANDRA_CONTACT_POINTS ?? '127.0.0.1:9042').split(','),
      localDataCenter: process.env.ONEPIC_CASSANDRA_LOCAL_DC ?? 'datacenter1',
    });
    try {
      await client.execute(`DROP KEYSPACE IF EXISTS ${this.keyspace}`);
    } catch { /* left for the next services:down */ } finally {
      await client.shutdown();
    }
    if (!keepLogs) await rm(this.stateDir, { recursive: true, force: true });
  }

  /** The last lines of every node's log and of nginx's error log. */
  async logs(lines = 15): Promise<string> {
    const files = [...Array.from({ length: 9 }, (_, i) => `node-${i + 1}/node.log`), 'nginx/error.log'];
    const parts: string[] = [];
    for (const file of files) {
      const text = await readFile(path.join(this.stateDir, file), 'utf8').catch(() => null);
      if (text !== null) parts.push(`--- ${file}\n${text.trimEnd().split('\n').slice(-lines).join('\n')}`);
    }
    return parts.join('\n');
  }

  private async script(name: string, ...args: string[]): Promise<string> {
    try {
      const { stdout, stderr } = await run('bash', [path.join(SCRIPTS, name), ...args], { env: this.env, cwd: REPO, timeout: 120_000 });
      this.transcript.push(`$ ${name} ${args.join(' ')}\n${stdout}${stderr}`);
      return stdout + stderr;
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      throw new Error(`scripts/cluster/${name} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    }
  }
}

/** Whether a process still runs: not gone, and not a zombie waiting for its parent. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Whether a connection to the port on loopback is refused (nothing listens there). */
function refuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => { socket.destroy(); resolve(false); });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

/** The first port p (from `from`, in steps of 10, below 8200) with p .. p + count - 1 all free. */
async function freePortRun(from: number, count: number): Promise<number> {
  for (let base = from; base + count <= 8200; base += 10) {
    const used = await Promise.all(Array.from({ length: count }, (_, i) => portInUse(base + i)));
    if (!used.some(Boolean)) return base;
  }
  throw new Error(`no run of ${count} free ports between ${from} and 8199`);
}

/** The sum of onepic_http_requests_total over the avatar route (`/:name`) on one node. */
export async function avatarRequests(nodeBase: string): Promise<number> {
  return sumIn(await scrape(nodeBase), 'onepic_http_requests_total', { route: '/:name' });
}
