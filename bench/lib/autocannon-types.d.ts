// The part of autocannon's API the benchmarks use (the package ships no types).
declare module 'autocannon' {
  interface Request { method?: string; path: string; headers?: Record<string, string> }
  interface Client { setRequests(requests: Request[]): void }
  interface Options {
    url: string;
    connections: number;
    duration: number;
    pipelining?: number;
    overallRate?: number;
    requests?: Request[];
    setupClient?: (client: Client) => void;
  }
  interface Result {
    requests: { average: number; total: number };
    latency: { p50: number; p99: number; p99_9: number; average: number; max: number };
    throughput: { average: number };
    non2xx: number;
    errors: number;
    timeouts: number;
    statusCodeStats?: Record<string, { count: number }>;
  }
  function autocannon(options: Options): Promise<Result>;
  export default autocannon;
  export type { Options, Result, Request, Client };
}
