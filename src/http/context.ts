import type { HttpRequest, HttpResponse } from '@trufflesuite/uws-js-unofficial';
import { randomUUID } from 'node:crypto';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** The client's X-Request-Id when it is a sane token (so logs can join a proxy's), else a new one. */
export function requestIdFrom(header: string): string {
  return REQUEST_ID.test(header) ? header : randomUUID();
}

/**
 * Everything a handler may read. Valid across awaits: what uWS's request holds is copied out
 * before the handler's first await (uWS frees it when the callback returns).
 */
export interface Ctx {
  readonly method: string;
  readonly url: string;
  /** The query string as sent, without the `?`. */
  readonly rawQuery: string;
  readonly query: URLSearchParams;
  readonly params: string[];
  header(name: HeaderName): string;
  readonly ip: string;
  readonly requestId: string;
  /** The body, for routes declared with a body limit. */
  body: () => Promise<Buffer>;
}

const HEADERS = ['accept', 'authorization', 'content-type', 'content-length', 'if-none-match', 'x-forwarded-for', 'x-request-id'] as const;
type HeaderName = (typeof HEADERS)[number];

/**
 * The request as a handler sees it. Headers and the client address are read from uWS only when
 * asked for, because uWS's request object is valid only during the callback; `detach` copies
 * what is left before the handler's first await lets the callback return.
 */
export class RequestCtx implements Ctx {
  private req: HttpRequest | undefined;
  private readonly seen: Partial<Record<HeaderName, string>> = {};
  private parsedQuery: URLSearchParams | undefined;
  private address: string | undefined;
  private id: string | undefined;
  body: () => Promise<Buffer> = noBody;

  constructor(
    req: HttpRequest,
    private readonly res: HttpResponse,
    private readonly trustProxy: boolean,
    readonly method: string,
    readonly url: string,
    readonly rawQuery: string,
    readonly params: string[],
  ) {
    this.req = req;
  }

  header(name: HeaderName): string {
    let value = this.seen[name];
    if (value === undefined) this.seen[name] = value = this.req ? this.req.getHeader(name) : '';
    return value;
  }

  get query(): URLSearchParams {
    return (this.parsedQuery ??= new URLSearchParams(this.rawQuery));
  }

  get ip(): string {
    if (this.address === undefined) {
      const forwarded = this.trustProxy ? this.header('x-forwarded-for').split(',')[0]!.trim() : '';
      this.address = forwarded || Buffer.from(this.res.getRemoteAddressAsText()).toString();
    }
    return this.address;
  }

  get requestId(): string {
    return (this.id ??= requestIdFrom(this.header('x-request-id')));
  }

  /** Copies everything still unread out of uWS's request and response; call before they die. */
  detach(): void {
    if (!this.req) return;
    for (const name of HEADERS) this.header(name);
    void this.ip;
    void this.requestId;
    this.req = undefined;
  }
}

const noBody = (): Promise<Buffer> => Promise.reject(new Error('this route reads no body'));
