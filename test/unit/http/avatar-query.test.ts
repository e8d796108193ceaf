import { describe, expect, it } from 'vitest';
import { parseAvatarQuery } from '../../../src/http/avatar-query.js';
import { etagMatches } from '../../../src/http/routes/avatars.js';
import type { ReadPathConfig } from '../../../src/config/index.js';

const config: ReadPathConfig = {
  maxAgeSeconds: 60, staleWhileRevalidateSeconds: 600, defaultSize: 256, maxSize: 2048,
  activeTtlMs: 5000, activeEntries: 100, renditionCacheBytes: 1 << 20, placeholderCacheBytes: 1 << 20, storedSizes: [32, 64, 128, 256, 512, 768], redirectHosts: [],
};
const parse = (q: string, c = config) => parseAvatarQuery(new URLSearchParams(q), c);

describe('size', () => {
  it('defaults to 256 and reads s or its alias size', () => {
    expect(parse('').size).toBe(256);
    expect(parse('s=1').size).toBe(1);
    expect(parse('size=2048').size).toBe(2048);
    expect(parse('s=64&size=128').size).toBe(64);
  });

  it.each(['0', '2049', '-1', '1.5', 'abc', '', ' 64', '1e3', '99999999999'])('refuses s=%j with 400 invalid_size', (s) => {
    expect(() => parse(`s=${encodeURIComponent(s)}`)).toThrow(expect.objectContaining({ status: 400, code: 'invalid_size' }));
  });
});

describe('d (default image)', () => {
  it('distinguishes the placeholder, plain 404 and generated kinds', () => {
    expect(parse('').fallback).toEqual({ kind: 'placeholder_404' });
    expect(parse('d=404').fallback).toEqual({ kind: 'plain_404' });
    for (const kind of ['mp', 'identicon', 'initials', 'blank']) {
      expect(parse(`d=${kind}`).fallback).toEqual({ kind: 'generated', placeholder: kind });
    }
  });

  it('redirects only to http(s) image URLs', () => {
    expect(parse('d=https%3A%2F%2Fexample.com%2Fa%2Fb.PNG').fallback).toEqual({ kind: 'redirect', location: 'https://example.com/a/b.PNG' });
    for (const bad of ['https://example.com/a.html', 'javascript:alert(1)//a.png', 'ftp://example.com/a.png',
      'https://user:pw@example.com/a.png', '//example.com/a.png', 'retro', 'https://example.com/a.png/']) {
      expect(() => parse(`d=${encodeURIComponent(bad)}`), bad).toThrow(expect.objectContaining({ status: 400, code: 'invalid_default' }));
    }
  });

  it('narrows redirects to the allow-listed hosts', () => {
    const narrowed = { ...config, redirectHosts: ['cdn.example.com'] };
    expect(parse('d=https%3A%2F%2Fcdn.example.com%2Fa.png', narrowed).fallback.kind).toBe('redirect');
    expect(() => parse('d=https%3A%2F%2Fevil.example.com%2Fa.png', narrowed)).toThrow(expect.objectContaining({ code: 'invalid_default' }));
  });
});

describe('If-None-Match', () => {
  it('matches the tag in a list, weak or strong, and *', () => {
    expect(etagMatches('"abc"', '"abc"')).toBe(true);
    expect(etagMatches('"x", W/"abc"', '"abc"')).toBe(true);
    expect(etagMatches('*', '"abc"')).toBe(true);
    expect(etagMatches('', '"abc"')).toBe(false);
    expect(etagMatches('"abd"', '"abc"')).toBe(false);
  });
});
