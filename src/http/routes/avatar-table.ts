import type { ReadPathConfig } from '../../config/index.js';
import type { Avatars } from '../../domain/avatars.js';
import type { Handler } from '../router.js';
import { avatarRoutes } from './avatars.js';
import type { HandlersOf, RouteDecls } from './route-decl.js';

/**
 * The avatar routes' entries in the route table. avatars.ts builds their handlers as route specs
 * of its own; they are matched to these entries here, and the server refuses to start if the two
 * disagree, so neither can gain a route the table (and so the tests) does not know.
 */
export const AVATAR_ROUTES = {
  rendition: { method: 'get', pattern: '/i/:key', auth: 'none' },
  renditionHead: { method: 'head', pattern: '/i/:key', auth: 'none' },
  avatar: { method: 'get', pattern: '/:name', auth: 'none' },
  avatarHead: { method: 'head', pattern: '/:name', auth: 'none' },
} as const satisfies RouteDecls;

export function avatarHandlers(avatars: Avatars, config: ReadPathConfig): HandlersOf<typeof AVATAR_ROUTES> {
  const specs = avatarRoutes(avatars, config);
  const declared = Object.values(AVATAR_ROUTES);
  const undeclared = specs.filter((s) => !declared.some((d) => d.method === s.method && d.pattern === s.pattern));
  if (undeclared.length > 0) {
    throw new Error(`avatar routes missing from the route table: ${undeclared.map((s) => `${s.method} ${s.pattern}`).join(', ')}`);
  }
  const handler = (name: keyof typeof AVATAR_ROUTES): Handler => {
    const { method, pattern } = AVATAR_ROUTES[name];
    const spec = specs.find((s) => s.method === method && s.pattern === pattern);
    if (!spec) throw new Error(`avatars.ts has no handler for ${method} ${pattern}`);
    return spec.handler;
  };
  return { rendition: handler('rendition'), renditionHead: handler('renditionHead'), avatar: handler('avatar'), avatarHead: handler('avatarHead') };
}
