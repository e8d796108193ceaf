import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROUTES, type RouteDecl } from '../../../src/http/routes/index.js';
import { ERRORS } from '../../../src/domain/errors.js';

/**
 * docs/openapi.yaml is the project's public description of its HTTP interface. These checks keep
 * it honest: it must be a well-formed OpenAPI 3.1 document, document exactly the routes the server
 * registers (no more, no fewer), and list every stable error code of the error catalogue.
 */

const ROOT = new URL('../../../', import.meta.url);
const DOC_PATH = new URL('docs/openapi.yaml', ROOT);
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Obj = { [key: string]: Json };

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function loadDoc(): Obj {
  const doc: unknown = parse(readFileSync(DOC_PATH, 'utf8'));
  if (!isObj(doc)) throw new Error('docs/openapi.yaml is not a YAML mapping');
  return doc;
}

/** Every value in the tree, with its JSON pointer. */
function* walk(node: Json, pointer = ''): Generator<[string, Json]> {
  yield [pointer, node];
  if (Array.isArray(node)) {
    for (const [i, child] of node.entries()) yield* walk(child, `${pointer}/${i}`);
  } else if (isObj(node)) {
    for (const [key, child] of Object.entries(node)) yield* walk(child, `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`);
  }
}

function resolvePointer(doc: Json, ref: string): Json | undefined {
  if (!ref.startsWith('#')) return undefined; // only local references are used in this document
  let node: Json | undefined = doc;
  for (const raw of ref.slice(1).split('/').slice(1)) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) node = node[Number(key)];
    else if (isObj(node)) node = Object.hasOwn(node, key) ? node[key] : undefined;
    else return undefined;
  }
  return node;
}

/** Follows `$ref` (possibly chained) to the object it names. */
function deref(doc: Obj, node: Json | undefined): Json | undefined {
  for (let hops = 0; isObj(node) && typeof node.$ref === 'string' && hops < 10; hops++) node = resolvePointer(doc, node.$ref);
  return node;
}

function operations(doc: Obj): Array<{ method: string; path: string; op: Obj; pathItem: Obj }> {
  const out: Array<{ method: string; path: string; op: Obj; pathItem: Obj }> = [];
  for (const [path, pathItem] of Object.entries(doc.paths as Obj)) {
    if (!isObj(pathItem)) continue;
    for (const method of HTTP_METHODS) {
      const op = pathItem[method];
      if (op !== undefined) out.push({ method, path, op: op as Obj, pathItem });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The server's route table: the same list the server registers its routes from (with /metrics,
// which is served on its own port instead when ONEPIC_METRICS_PORT is set, at the same path).

/** `del` -> `delete`; `/:name` -> `{name}`. The catch-all avatar route `/:name` serves both avatar forms. */
function toOpenApi(route: RouteDecl): Array<[method: string, path: string]> {
  const method = route.method === 'del' ? 'delete' : route.method;
  if (route.pattern === '/:name') return [[method, '/{username}'], [method, '/{username}.{ext}']];
  return [[method, route.pattern.replace(/:([A-Za-z0-9_]+)/g, '{$1}')]];
}

const key = (method: string, path: string) => `${method.toUpperCase()} ${path}`;

// ---------------------------------------------------------------------------------------------
// Error codes: the catalogue in src/domain/errors.ts is the one list of what clients can see.

function sourceFiles(dir: URL): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .map((f) => join(dir.pathname, f));
}

/** Catalogue codes that nothing outside the catalogue names: entries no code path can raise. */
function unraisedCodes(): string[] {
  const source = sourceFiles(new URL('src/', ROOT)).filter((f) => !f.endsWith('domain/errors.ts'))
    .map((f) => readFileSync(f, 'utf8')).join('\n');
  return Object.keys(ERRORS).filter((code) => {
    // StoreUnavailableError builds its codes from the store's name.
    const [store] = code.split('_unavailable');
    return !source.includes(`'${code}'`) && !(code.endsWith('_unavailable') && source.includes(`StoreUnavailableError('${store}'`));
  });
}

/** Codes a response's JSON error schema names: `error.code.enum` anywhere in the document. */
function documentedErrorCodes(doc: Obj, pointerFilter: (pointer: string) => boolean = () => true): Set<string> {
  const codes = new Set<string>();
  for (const [pointer, node] of walk(doc)) {
    if (!pointerFilter(pointer) || !isObj(node)) continue;
    const error = node.properties && isObj(node.properties) ? node.properties.error : undefined;
    const code = isObj(error) && isObj(error.properties) ? error.properties.code : undefined;
    if (isObj(code) && Array.isArray(code.enum)) for (const c of code.enum) codes.add(String(c));
  }
  return codes;
}

// ---------------------------------------------------------------------------------------------

describe('docs/openapi.yaml', () => {
  const doc = loadDoc();

  describe('is a structurally sound OpenAPI 3.1 document', () => {
    it('declares OpenAPI 3.1 with info and paths', () => {
      expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
      expect(isObj(doc.info) && typeof doc.info.title === 'string' && typeof doc.info.version === 'string').toBe(true);
      expect(isObj(doc.paths)).toBe(true);
    });

    it('gives every operation responses, each with a description and a status code key', () => {
      const ops = operations(doc);
      expect(ops.length).toBeGreaterThan(0);
      for (const { method, path, op } of ops) {
        const where = key(method, path);
        expect(isObj(op.responses) && Object.keys(op.responses).length > 0, `${where} has responses`).toBe(true);
        for (const [status, response] of Object.entries(op.responses as Obj)) {
          expect(status, `${where} status key`).toMatch(/^(?:[1-5](?:\d\d|XX)|default)$/);
          const resolved = deref(doc, response);
          expect(isObj(resolved) && typeof resolved.description === 'string', `${where} ${status} has a description`).toBe(true);
        }
      }
    });

    it('resolves every $ref', () => {
      const refs = [...walk(doc)].filter(([pointer]) => pointer.endsWith('/$ref'));
      expect(refs.length).toBeGreaterThan(0);
      for (const [pointer, ref] of refs) {
        expect(typeof ref, pointer).toBe('string');
        expect(resolvePointer(doc, ref as string), `${pointer} -> ${String(ref)}`).toBeDefined();
      }
    });

    it('declares every path template variable as a required path parameter, and no others', () => {
      for (const { method, path, op, pathItem } of operations(doc)) {
        const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!).sort();
        const params = [...((pathItem.parameters as Json[] | undefined) ?? []), ...((op.parameters as Json[] | undefined) ?? [])]
          .map((p) => deref(doc, p))
          .filter((p): p is Obj => isObj(p) && p.in === 'path');
        expect(params.map((p) => p.name).sort(), key(method, path)).toEqual(templated);
        for (const p of params) expect(p.required, `${key(method, path)} ${String(p.name)}`).toBe(true);
      }
    });

    it('gives operations unique operationIds and only defined security schemes', () => {
      const ids = operations(doc).map(({ op }) => op.operationId);
      expect(new Set(ids).size).toBe(ids.length);
      const schemes = Object.keys(((doc.components as Obj | undefined)?.securitySchemes as Obj | undefined) ?? {});
      for (const { method, path, op } of operations(doc)) {
        for (const requirement of (op.security as Obj[] | undefined) ?? []) {
          for (const name of Object.keys(requirement)) expect(schemes, `${key(method, path)} security`).toContain(name);
        }
      }
    });
  });

  it('documents exactly the routes the server registers', () => {
    const served = new Set(Object.values(ROUTES).flatMap(toOpenApi).map(([m, p]) => key(m, p)));
    const documented = new Set(operations(doc).map(({ method, path }) => key(method, path)));
    const undocumented = [...served].filter((k) => !documented.has(k)).sort();
    const phantom = [...documented].filter((k) => !served.has(k)).sort();
    expect({ undocumented, phantom }).toEqual({ undocumented: [], phantom: [] });
  });

  it('asks for a bearer token exactly on the routes the table guards', () => {
    const guarded = new Map(Object.values(ROUTES).flatMap((r) => toOpenApi(r).map(([m, p]) => [key(m, p), r.auth !== 'none'] as const)));
    expect(guarded.size).toBeGreaterThan(0);
    for (const { method, path, op } of operations(doc)) {
      const security = (op.security ?? doc.security ?? []) as Obj[];
      const asksForToken = security.some((requirement) => Object.keys(requirement).includes('bearerAuth'));
      expect(asksForToken, `${key(method, path)} security`).toBe(guarded.get(key(method, path)));
    }
  });

  it('lists every error code of the catalogue, and none it lacks', () => {
    const inCatalogue = new Set(Object.keys(ERRORS));
    const inResponses = documentedErrorCodes(doc, (p) => p.startsWith('/paths/') || p.startsWith('/components/responses/'));
    // 405 and the catch-all 404 are described for every path in info.description, not per operation.
    const global = new Set(['method_not_allowed', 'not_found']);
    const missing = [...inCatalogue].filter((c) => !inResponses.has(c) && !global.has(c)).sort();
    expect(missing, 'catalogue codes that no documented response lists').toEqual([]);
    const documented = new Set(((resolvePointer(doc, '#/components/schemas/ErrorCode') as Obj).enum as string[]));
    expect([...documented].sort(), 'components.schemas.ErrorCode lists exactly the catalogue').toEqual([...inCatalogue].sort());
    const unknown = [...inResponses].filter((c) => !inCatalogue.has(c)).sort();
    expect(unknown, 'documented codes the catalogue lacks').toEqual([]);
  });

  it('has no catalogue entry that nothing raises', () => {
    expect(unraisedCodes()).toEqual([]);
  });
});
