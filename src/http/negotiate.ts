import Negotiator from 'negotiator';
import { LRUCache } from 'lru-cache';

/**
 * Whether an `Accept` header takes WebP, the one choice format negotiation needs (the domain
 * picks PNG or JPEG otherwise, from the picture). Accept headers repeat (a handful of browser
 * strings), so answers are memoised.
 */
export class WebpNegotiation {
  private readonly byAccept = new LRUCache<string, boolean>({ max: 1000 });

  accepts(accept: string): boolean {
    let webp = this.byAccept.get(accept);
    if (webp === undefined) {
      webp = /image\/webp/i.test(accept) && new Negotiator({ headers: { accept } }).mediaTypes(['image/webp']).length > 0;
      this.byAccept.set(accept, webp);
    }
    return webp;
  }
}
