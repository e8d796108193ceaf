import type { Registry } from 'prom-client';
import type { Accounts } from '../../domain/accounts.js';
import type { Avatars } from '../../domain/avatars.js';
import { guard } from '../auth.js';
import { JSON_BODY_LIMIT, uploadBodyLimit, uploadBodyWatch } from '../parse-body.js';
import type { Handler, RouteSpec } from '../router.js';
import { AccountSlots, BodyBudget } from '../upload-gate.js';
import { ACCOUNT_ROUTES, accountHandlers, type AccountRouteDeps } from './accounts.js';
import { AVATAR_ROUTES, avatarHandlers, type AvatarRouteSettings } from './avatars.js';
import { metricsHandler, OPS_ROUTES, opsHandlers, type OpsDeps } from './ops.js';
import { PICTURE_ROUTES, pictureHandlers, type PictureRouteDeps } from './pictures.js';
import type { GuardedHandler, RouteDecl } from './route-decl.js';

/**
 * The route table: every route the server registers, by name, with its method, path, auth and
 * body. The server builds its routes from it, and the tests read it (the OpenAPI document, the
 * deployment files, the auth guard), so a route added here is checked by all of them. The
 * order is the order of registration.
 */
export const ROUTES = { ...OPS_ROUTES, ...ACCOUNT_ROUTES, ...PICTURE_ROUTES, ...AVATAR_ROUTES } as const;
export type RouteName = keyof typeof ROUTES;

export type { RouteDecl } from './route-decl.js';

export interface RouteDeps {
  opsRoutes: OpsDeps;
  accountRoutes: Omit<AccountRouteDeps, 'accounts'>;
  pictureRoutes: Omit<PictureRouteDeps, 'maxUploadBytes'>;
  avatars: Avatars;
  read: AvatarRouteSettings;
  /** Also checks tokens, for the routes whose `auth` asks for one. */
  accounts: Accounts;
  maxUploadBytes: number;
  /** Body bytes in flight on the node, and uploads in flight per account (see upload-gate.ts). */
  uploadBudget: { bytesInFlight: number; perAccount: number };
  /** When /metrics has its own port (see `metricsRoutes`), the main one does not serve it. */
  metricsOnOwnPort: boolean;
}

/** The routes of the main port, each behind the guard its `auth` names. */
export function routes(d: RouteDeps): RouteSpec[] {
  const handlers: Record<RouteName, Handler | GuardedHandler> = {
    ...opsHandlers(d.opsRoutes),
    ...accountHandlers({ ...d.accountRoutes, accounts: d.accounts }),
    ...pictureHandlers({ ...d.pictureRoutes, maxUploadBytes: d.maxUploadBytes }),
    ...avatarHandlers(d.avatars, d.read),
  };
  const budget = new BodyBudget(d.uploadBudget.bytesInFlight);
  const slots = new AccountSlots(d.uploadBudget.perAccount);
  return (Object.keys(ROUTES) as RouteName[])
    .filter((name) => !(d.metricsOnOwnPort && name === 'metrics'))
    .map((name) => {
      const decl: RouteDecl = ROUTES[name];
      const spec = toSpec(decl, guard(d.accounts, decl.auth, handlers[name], decl.body === 'upload' ? slots : undefined), d.maxUploadBytes);
      if (decl.body !== undefined) spec.bodyBudget = budget;
      return spec;
    });
}

/** The routes of the metrics port, when it has its own. */
export function metricsRoutes(registry: Registry): RouteSpec[] {
  return [toSpec(ROUTES.metrics, metricsHandler(registry), 0)];
}

function toSpec(decl: RouteDecl, handler: Handler, maxUploadBytes: number): RouteSpec {
  const spec: RouteSpec = { method: decl.method, pattern: decl.pattern, handler };
  if (decl.body === 'json') spec.bodyLimit = JSON_BODY_LIMIT;
  if (decl.body === 'upload') {
    spec.bodyLimit = uploadBodyLimit(maxUploadBytes);
    spec.bodyWatch = uploadBodyWatch;
  }
  return spec;
}
