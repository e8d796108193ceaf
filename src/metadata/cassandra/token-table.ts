import type cassandra from 'cassandra-driver';
import type { TokenRecord } from '../port.js';
import { PLAIN_WRITE, READ } from './conditional-write.js';
import { toToken, ttlSeconds } from './rows.js';
import type { Statements } from './statements.js';

/**
 * Tokens: looked up by hash, and listed by account only to delete them with it. Plain writes
 * with a TTL (no Paxos): a token is written once, by one request, and never conditionally.
 */
export class TokenTable {
  constructor(
    private readonly client: cassandra.Client,
    private readonly cql: Statements,
  ) {}

  async put(token: TokenRecord): Promise<void> {
    const ttl = ttlSeconds(token.expiresAt);
    // Already expired: it could never be read back, and TTL 0 would mean "keep forever".
    if (ttl <= 0) return;
    // A logged batch: the token and its entry in the account's list are written both or neither,
    // so no live token escapes deleteAccountTokens.
    await this.client.batch([
      { query: this.cql.putToken, params: [token.tokenHash, token.username, token.uid, token.createdAt, token.expiresAt, ttl] },
      { query: this.cql.putUserToken, params: [token.username, token.uid, token.tokenHash, ttl] },
    ], { ...PLAIN_WRITE, logged: true });
  }

  async get(tokenHash: string): Promise<TokenRecord | null> {
    const row = (await this.client.execute(this.cql.getToken, [tokenHash], READ)).rows[0];
    // The TTL is rounded up to whole seconds; the exact expiry is the stored one.
    const token = row ? toToken(row) : null;
    return token && token.expiresAt.getTime() > Date.now() ? token : null;
  }

  /** Its entry in the account's list stays until its TTL or the account's deletion: harmless. */
  async delete(tokenHash: string): Promise<void> {
    await this.client.execute(this.cql.deleteToken, [tokenHash], PLAIN_WRITE);
  }

  /**
   * Deletes the tokens issued to the account `uid`, once the account is gone. Only that uid's:
   * the name may already belong to a new account with tokens of its own. Those tokens were
   * already dead (authentication compares their uid with the account's); this frees them now
   * rather than at their TTL.
   */
  async deleteAccountTokens(username: string, uid: string): Promise<void> {
    const hashes = (await this.client.execute(this.cql.userTokens, [username, uid], READ)).rows
      .map((row) => row.get('token_hash') as string);
    await this.client.batch([
      ...hashes.map((hash) => ({ query: this.cql.deleteToken, params: [hash] })),
      { query: this.cql.deleteUserTokens, params: [username, uid] },
    ], { ...PLAIN_WRITE, logged: true });
  }
}
