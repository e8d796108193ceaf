/**
 * nginx serving one file with the headers OnePic sent for it: the yardstick for OnePic's
 * cache-hit read. One process (master_process off), pinned to SERVER_CPU like OnePic.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SERVER_CPU } from './cpu.js';
import { freePort, waitHttp } from './server.js';

export interface StaticTwin {
  url: string;
  /** taskset execs nginx in place, and with master_process off that one process is the worker. */
  pid: number;
  /** Safe to call more than once. */
  stop(): void;
}

/** Serves `bytes` at `urlPath` ("/u0?s=128", the query ignored) with `headers`; resolves once it answers. */
export async function startNginxTwin(urlPath: string, bytes: Buffer, headers: Record<string, string>): Promise<StaticTwin> {
  const path = urlPath.split('?')[0] ?? urlPath;
  const dir = mkdtempSync(join(tmpdir(), 'onepic-bench-nginx-'));
  mkdirSync(join(dir, 'www'));
  mkdirSync(join(dir, 'logs'));
  writeFileSync(join(dir, 'www', path.slice(1)), bytes);
  const port = await freePort();
  const q = (v: string): string => `'${v.replace(/'/g, "\\'")}'`;
  const addHeaders = Object.entries(headers).filter(([k, v]) => k !== 'Content-Type' && v !== '')
    .map(([k, v]) => `        add_header ${k} ${q(v)} always;`).join('\n');
  writeFileSync(join(dir, 'nginx.conf'), `daemon off;
master_process off;
worker_processes 1;
error_log ${dir}/logs/error.log warn;
pid ${dir}/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 100000;
    keepalive_timeout 65;
    server_tokens off;
    etag off;
    client_body_temp_path ${dir}/tmp-body;
    proxy_temp_path ${dir}/tmp-proxy;
    fastcgi_temp_path ${dir}/tmp-fastcgi;
    uwsgi_temp_path ${dir}/tmp-uwsgi;
    scgi_temp_path ${dir}/tmp-scgi;
    server {
        listen 127.0.0.1:${port};
        root ${dir}/www;
        location = ${path} {
        types { }
        default_type ${q(headers['Content-Type'] ?? 'application/octet-stream')};
${addHeaders}
        }
    }
}
`);
  const child = spawn('taskset', ['-c', SERVER_CPU, 'nginx', '-c', join(dir, 'nginx.conf'), '-p', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  const kill = (): void => { if (child.exitCode === null) child.kill('SIGKILL'); };
  process.on('exit', kill);
  const url = `http://127.0.0.1:${port}${urlPath}`;
  await waitHttp(url, 10_000, child);
  return {
    url,
    pid: child.pid ?? 0,
    stop() {
      if (child.exitCode !== null || child.signalCode !== null || child.killed) return;
      child.kill('SIGTERM');
      process.off('exit', kill);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
