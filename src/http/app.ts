import uWS from '@trufflesuite/uws-js-unofficial';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics/metrics.js';
import { fail } from '../domain/errors.js';
import { errorReply } from './reply.js';
import { InFlight } from './in-flight.js';
import { OverloadLog } from './overload-log.js';
import { registerRoutes, type RouteSpec } from './router.js';

export interface HttpServer {
  /** Resolves with the port actually bound (useful with port 0). */
  listen(host: string, port: number): Promise<number>;
  /** Stops accepting connections for good; requests in flight go on. */
  stopAccepting(): void;
  /**
   * Closes the listening socket for a while (new connections are refused at once) or opens it
   * again on the same address; see server/connection-cap.ts. Nothing after stopAccepting.
   */
  pauseAccepting(): void;
  /** False when the address could not be bound again; the caller tries later. */
  resumeAccepting(): boolean;
  /** Resolves when no request is in flight. */
  idle(): Promise<void>;
  /** Closes every connection. */
  close(): void;
}

/** uWS's ListenOptions.LIBUS_LISTEN_EXCLUSIVE_PORT: the enum is in its typings only, not at run time. */
const LIBUS_LISTEN_EXCLUSIVE_PORT = 1;

/** A uWS app serving `routes`, with a JSON 404 for everything else. */
export function createHttpServer(routes: RouteSpec[], deps: { metrics: Metrics; log: Logger; trustProxy: boolean }): HttpServer {
  const app = uWS.App();
  const inFlight = new InFlight();
  // Read at scrape time: the count is kept anyway for draining, so requests pay nothing more.
  deps.metrics.httpInFlight.report((gauge) => gauge.set(inFlight.count));
  const notFoundRoute: RouteSpec = {
    method: 'any', pattern: '/*', handler: () => errorReply(fail('not_found')),
  };
  registerRoutes({ app, inFlight, overload: new OverloadLog(deps.log), ...deps }, [...routes, notFoundRoute]);
  let listenSocket: uWS.us_listen_socket | null = null;
  // Where we listen, kept to reopen after a pause; null once stopped for good.
  let bound: { host: string; port: number } | null = null;
  const closeListener = (): void => {
    if (listenSocket) uWS.us_listen_socket_close(listenSocket);
    listenSocket = null;
  };

  return {
    listen: (host, port) => new Promise((resolve, reject) => {
      listenExclusively(app, host, port, (socket) => {
        if (!socket) return reject(new Error(`cannot listen on ${host}:${port}: the port is in use (another OnePic?) or not permitted`));
        listenSocket = socket;
        const actual = uWS.us_socket_local_port(socket);
        bound = { host, port: actual };
        resolve(actual);
      });
    }),
    stopAccepting: () => {
      bound = null;
      closeListener();
    },
    pauseAccepting: closeListener,
    resumeAccepting: () => {
      if (listenSocket || !bound) return true;
      // uWS calls back at once, before listen returns.
      listenExclusively(app, bound.host, bound.port, (socket) => { if (socket) listenSocket = socket; });
      return listenSocket !== null;
    },
    idle: () => inFlight.idle(),
    // close() is in uWS since v20.16 but missing from this build's typings.
    close: () => (app as unknown as { close(): void }).close(),
  };
}

/**
 * Listens without SO_REUSEPORT, which uWS would otherwise set: a second OnePic on the same port
 * would start and have the kernel split the connections between the two. The native listen
 * takes (host, port, options, cb); this build's typings lack that overload.
 */
function listenExclusively(app: uWS.TemplatedApp, host: string, port: number, cb: (socket: uWS.us_listen_socket | false) => void): void {
  const listen = app.listen as unknown as (h: string, p: number, o: number, cb: (s: uWS.us_listen_socket | false) => void) => void;
  listen.call(app, host, port, LIBUS_LISTEN_EXCLUSIVE_PORT, cb);
}
