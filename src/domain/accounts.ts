import { randomUUID } from 'node:crypto';
import type { MetadataStore } from '../metadata/port.js';
import { fail } from './errors.js';
import { LoginThrottle } from './login-throttle.js';
import { foldUsername, isReservedUsername, isWellFormedUsername, pathUsername } from './names.js';
import { DUMMY_HASH_PROMISE, hashPassword, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, verifyPassword } from './passwords.js';
import { toView, type PictureView } from './picture-view.js';
import { hashToken, looksLikeToken, newToken } from './tokens.js';

/** Who a request acts as, once its bearer token checked out. */
export interface Principal {
  username: string;
  uid: string;
  tokenHash: string;
}

/** What anyone may see of an account: its name and its active picture. */
interface PublicProfile {
  username: string;
  active: PictureView | null;
}

export interface AccountsOptions {
  tokenTtlMs: number;
  throttle: LoginThrottle;
}

/** Registration, logins, tokens and the rule that a token acts only on its own user. */
export class Accounts {
  constructor(private readonly store: MetadataStore, private readonly options: AccountsOptions) {}

  /** Validates a name for registration and returns it folded. */
  static checkNewUsername(raw: string): string {
    const username = foldUsername(raw);
    if (!isWellFormedUsername(username)) {
      throw fail('invalid_username');
    }
    if (isReservedUsername(username)) throw fail('reserved_username', username);
    return username;
  }

  async register(rawUsername: string, password: string): Promise<{ username: string; token: string }> {
    const username = Accounts.checkNewUsername(rawUsername);
    checkPassword(password);
    const uid = randomUUID();
    const created = await this.store.createUser({
      username, uid, passwordHash: await hashPassword(password), createdAt: new Date(), activePictureId: null,
    });
    if (!created) throw fail('username_taken', username);
    return { username, token: await this.issueToken(username, uid) };
  }

  /** Exchanges a password for a new token; failures are throttled per account and per IP. */
  async login(rawUsername: string, password: string, clientIp: string): Promise<{ token: string }> {
    const username = foldUsername(rawUsername);
    this.options.throttle.check(username, clientIp);
    const user = isWellFormedUsername(username) ? await this.store.getUser(username) : null;
    // Verify against a dummy hash for unknown users so response time does not reveal which names exist.
    const ok = await verifyPassword(password.slice(0, MAX_PASSWORD_LENGTH), user?.passwordHash ?? (await DUMMY_HASH_PROMISE));
    if (!user || !ok) {
      this.options.throttle.recordFailure(username, clientIp);
      throw fail('unauthorized', 'wrong_password');
    }
    this.options.throttle.recordSuccess(username);
    return { token: await this.issueToken(username, user.uid) };
  }

  async logout(principal: Principal): Promise<void> {
    await this.store.deleteToken(principal.tokenHash);
  }

  /** The public view of the account a path names, read from the store (not the read path's cache); 404 if none. */
  async profile(rawUsername: string): Promise<PublicProfile> {
    const username = pathUsername(rawUsername);
    const lookup = username ? await this.store.getActive(username) : undefined;
    if (!username || !lookup || lookup.kind === 'no_user') throw fail('user_not_found');
    return { username, active: lookup.kind === 'active' ? toView(lookup.picture, true) : null };
  }

  /** The principal behind an `Authorization` header value, or 401. */
  async authenticate(authorization: string | undefined): Promise<Principal> {
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization ?? '');
    const token = match?.[1];
    if (!token || !looksLikeToken(token)) throw fail('unauthorized');
    const tokenHash = hashToken(token);
    const record = await this.store.getToken(tokenHash);
    if (!record) throw fail('unauthorized', 'unknown_token');
    // A token outlives nothing: if its account was deleted (even if the name was taken again), it is dead.
    const user = await this.store.getUser(record.username);
    if (!user || user.uid !== record.uid) throw fail('unauthorized', 'unknown_token');
    return { username: user.username, uid: user.uid, tokenHash };
  }

  /** Folds the path's username and checks the principal may act on it (403 otherwise). */
  static authorize(principal: Principal, rawUsername: string): string {
    const username = foldUsername(rawUsername);
    if (username !== principal.username) throw fail('forbidden');
    return username;
  }

  private async issueToken(username: string, uid: string): Promise<string> {
    const token = newToken();
    const now = Date.now();
    await this.store.putToken({
      tokenHash: hashToken(token), username, uid, createdAt: new Date(now), expiresAt: new Date(now + this.options.tokenTtlMs),
    });
    return token;
  }
}

function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw fail('password_too_short', MIN_PASSWORD_LENGTH);
  }
  if (password.length > MAX_PASSWORD_LENGTH) {
    throw fail('password_too_long', MAX_PASSWORD_LENGTH);
  }
}
