import { Accounts, type Principal } from '../domain/accounts.js';
import { fail } from '../domain/errors.js';
import type { Ctx } from './context.js';
import type { Reply } from './reply.js';
import type { Handler } from './router.js';
import type { Auth, GuardedHandler } from './routes/route-decl.js';
import type { AccountSlots } from './upload-gate.js';

/**
 * The one auth guard. Routes do not check tokens themselves: the route table declares each
 * route's `auth`, and `guard` wraps its handler here, so a route cannot forget the check and the
 * tests can list every route that needs it. The token is checked before the body is read (the
 * router holds it back until the handler asks for it), and so are the account's upload slots.
 */

/** The principal of the request's bearer token: 401 without a valid one. */
function requireToken(accounts: Accounts, ctx: Ctx): Promise<Principal> {
  return accounts.authenticate(ctx.header('authorization'));
}

/** The principal, when its token acts on `username`'s own things: 401 without a valid token, 403 for another user's. */
async function requireOwner(accounts: Accounts, ctx: Ctx, username: string): Promise<Principal> {
  const principal = await requireToken(accounts, ctx);
  Accounts.authorize(principal, username);
  return principal;
}

/** The handler as the router calls it: behind the check that `auth` asks for, and within the account's `slots` when given. */
export function guard(accounts: Accounts, auth: Auth, handler: Handler | GuardedHandler, slots?: AccountSlots): Handler {
  const guarded = handler as GuardedHandler;
  const within = slots === undefined ? guarded : withSlot(slots, guarded);
  switch (auth) {
    case 'none':
      return handler as Handler;
    case 'token':
      return async (ctx): Promise<Reply> => within(ctx, await requireToken(accounts, ctx));
    case 'owner':
      // An owner route's first path parameter is the user it acts on (`/api/v1/users/:username/...`).
      return async (ctx): Promise<Reply> => within(ctx, await requireOwner(accounts, ctx, ctx.params[0]!));
  }
}

/** Runs the handler in one of the account's slots (429 when it has none left), given back when it ends. */
function withSlot(slots: AccountSlots, handler: GuardedHandler): GuardedHandler {
  return async (ctx, principal) => {
    const release = slots.enter(principal.username);
    if (!release) throw fail('too_many_uploads', slots.perAccount);
    try {
      return await handler(ctx, principal);
    } finally {
      release();
    }
  };
}
