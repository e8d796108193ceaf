import type { Registry } from 'prom-client';
import { StoreFullError } from '../../domain/errors.js';
import { json, type Reply } from '../reply.js';
import type { Handler } from '../router.js';
import type { HandlersOf, RouteDecls } from './route-decl.js';

export interface OpsDeps {
  /** Each named check resolves when that dependency answers. */
  readiness: Record<string, () => Promise<void>>;
  isDraining: () => boolean;
  registry: Registry;
  openapi: string;
}

/** A store that has not answered a readiness probe within this is reported as failing. */
const READY_TIMEOUT_MS = 2000;

export const OPS_ROUTES = {
  healthz: { method: 'get', pattern: '/healthz', auth: 'none' },
  readyz: { method: 'get', pattern: '/readyz', auth: 'none' },
  openapi: { method: 'get', pattern: '/api/v1/openapi.yaml', auth: 'none' },
  // Served on its own port instead when ONEPIC_METRICS_PORT is set (same path).
  metrics: { method: 'get', pattern: '/metrics', auth: 'none' },
} as const satisfies RouteDecls;

const withTimeout = (p: Promise<void>, ms: number) =>
  Promise.race([p, new Promise<void>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())]);

/** "full" tells an operator that freeing space, not waiting, brings the store back. */
const checkState = (r: PromiseSettledResult<void>): 'ok' | 'full' | 'unavailable' =>
  r.status === 'fulfilled' ? 'ok' : r.reason instanceof StoreFullError ? 'full' : 'unavailable';

export const metricsHandler = (registry: Registry): Handler => async (): Promise<Reply> => ({
  status: 200, headers: { 'Content-Type': registry.contentType, 'Cache-Control': 'no-store' }, body: await registry.metrics(),
});

export function opsHandlers(d: OpsDeps): HandlersOf<typeof OPS_ROUTES> {
  return {
    healthz: () => json(200, { status: 'ok' }, { 'Cache-Control': 'no-store' }),
    readyz: async () => {
      const names = Object.keys(d.readiness);
      const results = await Promise.allSettled(names.map((n) => withTimeout(d.readiness[n]!(), READY_TIMEOUT_MS)));
      const checks = Object.fromEntries(names.map((n, i) => [n, checkState(results[i]!)]));
      // Ready means "send me traffic": only a draining node says no. A store outage is shared
      // by every node, so failing readiness for it would take all of them out of the load
      // balancer at once, and with them the cached reads they can still serve; it shows as
      // "degraded" here, and in the store error metrics and alerts.
      const draining = d.isDraining();
      const healthy = results.every((r) => r.status === 'fulfilled');
      return json(draining ? 503 : 200, { status: draining ? 'draining' : healthy ? 'ready' : 'degraded', checks }, { 'Cache-Control': 'no-store' });
    },
    openapi: () => ({ status: 200, headers: { 'Content-Type': 'application/yaml; charset=utf-8', 'Access-Control-Allow-Origin': '*' }, body: d.openapi }),
    metrics: metricsHandler(d.registry),
  };
}
