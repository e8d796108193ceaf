/** Zipf popularity: a few users are read very often, most rarely, as avatars are. */

/** Draws ranks 0..n-1 with P(k) proportional to 1/(k+1)^s. */
export function zipfSampler(n: number, s: number): () => number {
  const cdf = new Float64Array(n);
  let acc = 0;
  for (let k = 0; k < n; k++) { acc += 1 / Math.pow(k + 1, s); cdf[k] = acc; }
  return () => {
    const u = Math.random() * acc;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cdf[mid] ?? 0) < u) lo = mid + 1; else hi = mid;
    }
    return lo;
  };
}
