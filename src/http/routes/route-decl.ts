import type { Principal } from '../../domain/accounts.js';
import type { Ctx } from '../context.js';
import type { Reply } from '../reply.js';
import type { Handler, Method } from '../router.js';

/**
 * How a route is declared in the route table: what a client must send (method, path, token, body)
 * without the handler, so the server, the OpenAPI check, the deployment check and the auth tests
 * all read one list. Each route group pairs its declarations with a factory of their handlers.
 */

/**
 * Who may call a route: anyone; any valid token (`token`, e.g. logging out); or only a token of
 * the user the path names (`owner`, every route under `/api/v1/users/:username` that changes or
 * lists that user's things). The guard in `../auth.ts` enforces it before the handler runs.
 */
export type Auth = 'none' | 'token' | 'owner';

/** The body a route reads: a small JSON document, or an image upload (raw or multipart). */
type BodyKind = 'json' | 'upload';

export interface RouteDecl {
  readonly method: Exclude<Method, 'any'>;
  /** uWS pattern; an owner route names its user as the first parameter, `:username`. */
  readonly pattern: string;
  readonly auth: Auth;
  readonly body?: BodyKind;
}

export type RouteDecls = Readonly<Record<string, RouteDecl>>;

/** A handler behind the guard: it gets the principal the token names, already checked. */
export type GuardedHandler = (ctx: Ctx, principal: Principal) => Promise<Reply>;

type HandlerOf<D extends RouteDecl> = D['auth'] extends 'none' ? Handler : GuardedHandler;

/** The handlers a group's factory must give: one per declared route, typed by its `auth`. */
export type HandlersOf<T extends RouteDecls> = { [K in keyof T]: HandlerOf<T[K]> };
