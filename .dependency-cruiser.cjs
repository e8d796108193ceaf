/**
 * Which folder of src/ may import which (`npm run lint`). Dependencies point inward, to
 * domain/, the use cases; the folders around it are adapters that domain/ never names. Only the
 * wiring (main.ts, server.ts, stores.ts, and src/wiring/ or src/server/ if server.ts is split)
 * sees everything and passes the implementations in. Each rule's comment is printed with its
 * failure, so it says how to fix it.
 *
 * Ports are TypeScript interfaces: domain/imaging-port.ts, metadata/port.ts and blobs/port.ts.
 * The two port files outside domain/ hold only types and import only domain/, so domain/ may
 * name them with `import type`; it may not import a value from them, nor anything else of
 * metadata/ or blobs/. Type-only imports count everywhere (tsPreCompilationDeps), since a type
 * drags its folder's vocabulary in just as a value does.
 *
 * A new folder under src/ gets its own rule here (every-folder-has-a-rule says so).
 */
const WIRING = ['^src/(main|server|stores)[.]ts$', '^src/(wiring|server)/'];
const PORT_FILES = '^src/(metadata|blobs)/port[.]ts$';
const RULED_FOLDERS = '^src/(domain|imaging|config|cache|metadata|blobs|http|metrics)/';

/** A rule that lets files under `from` import only `allowed` within the project. */
function onlyImports(name, comment, from, allowed) {
  return {
    name,
    comment,
    severity: 'error',
    from: { path: from, pathNot: PORT_FILES },
    to: { path: '^(src|test|bench|scripts|deploy)/', pathNot: allowed },
  };
}

module.exports = {
  forbidden: [
    onlyImports(
      'domain-imports-only-domain',
      'domain/ is the core and imports nothing of the project outside domain/ (the port files ' +
        'metadata/port.ts and blobs/port.ts are allowed, as types). Give domain/ a small ' +
        'interface or type of its own and let the wiring pass the implementation in.',
      '^src/domain/',
      ['^src/domain/', PORT_FILES],
    ),
    {
      name: 'domain-imports-ports-as-types',
      comment:
        'domain/ may take only types from metadata/port.ts and blobs/port.ts (`import type`): ' +
        'a port is an interface, never code the domain runs.',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { path: PORT_FILES, preCompilationOnly: false },
    },
    {
      name: 'ports-import-only-domain',
      comment:
        'metadata/port.ts and blobs/port.ts are interfaces the domain reads: they import ' +
        'only from domain/, never from an implementation.',
      severity: 'error',
      from: { path: PORT_FILES },
      to: { path: '^(src|test|bench|scripts|deploy)/', pathNot: '^src/domain/' },
    },
    onlyImports(
      'imaging-imports-only-domain',
      'imaging/ (the sharp pipeline and its worker pool) imports only domain/ and itself; ' +
        'types it shares with metadata/ or config/ belong in domain/.',
      '^src/imaging/',
      ['^src/(imaging|domain)/'],
    ),
    onlyImports(
      'config-imports-only-domain',
      'config/ reads the environment into typed config and imports nothing of the project ' +
        'but domain/ types (shared types such as image limits belong in domain/).',
      '^src/config/',
      ['^src/(config|domain)/'],
    ),
    {
      name: 'config-imports-domain-as-types',
      comment: 'config/ may take only types from domain/ (`import type`).',
      severity: 'error',
      from: { path: '^src/config/' },
      to: { path: '^src/domain/', preCompilationOnly: false },
    },
    onlyImports(
      'cache-imports-only-domain-and-metadata-port',
      'cache/ implements interfaces the domain owns; it imports only domain/, ' +
        'metadata/port.ts and metrics/ (each cache counts its own hits and misses).',
      '^src/cache/',
      ['^src/(cache|domain|metrics)/', '^src/metadata/port[.]ts$'],
    ),
    onlyImports(
      'metadata-imports-only-its-port-and-domain',
      'A metadata store imports its port (metadata/) and domain/, never http/, cache/, ' +
        'imaging/, config/ or blobs/; the wiring passes its config in.',
      '^src/metadata/',
      ['^src/(metadata|domain)/'],
    ),
    onlyImports(
      'blobs-imports-only-its-port-and-domain',
      'A blob store imports its port (blobs/) and domain/, never http/, cache/, imaging/, ' +
        'config/ or metadata/; the wiring passes its config in.',
      '^src/blobs/',
      ['^src/(blobs|domain)/'],
    ),
    onlyImports(
      'http-imports-only-domain-and-metrics',
      'http/ reaches the stores, caches and workers only through the domain: it imports ' +
        'domain/, metrics/ and its own files.',
      '^src/http/',
      ['^src/(http|domain|metrics)/'],
    ),
    onlyImports(
      'metrics-imports-only-domain-and-ports',
      'metrics/ counts what the ports do (its decorators wrap domain interfaces): it imports ' +
        'domain/, metadata/port.ts, blobs/port.ts and its own files.',
      '^src/metrics/',
      ['^src/(metrics|domain)/', PORT_FILES],
    ),
    {
      name: 'every-folder-has-a-rule',
      comment:
        'This folder of src/ has no rule yet: add one to .dependency-cruiser.cjs saying ' +
        'which folders it may import (and add it to RULED_FOLDERS there).',
      severity: 'error',
      from: { path: '^src/', pathNot: [RULED_FOLDERS, ...WIRING] },
      to: { path: '^src/' },
    },
    {
      name: 'only-wiring-imports-wiring',
      comment:
        'main.ts, server.ts and stores.ts (and src/wiring/, src/server/) assemble the ' +
        'program; nothing else imports them.',
      severity: 'error',
      from: { path: '^src/', pathNot: WIRING },
      to: { path: WIRING },
    },
    {
      name: 'src-never-imports-tests-or-tools',
      comment: 'src/ is what ships: it never imports test/, bench/, scripts/ or deploy/.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench|scripts|deploy)/' },
    },
    {
      name: 'domain-does-no-io',
      comment:
        'domain/ has no I/O of its own: no files, sockets, images, databases or workers. ' +
        'Reach them through a port.',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: {
        dependencyTypes: ['core', 'npm'],
        path: [
          '^(node:)?(fs|fs/promises|net|http|https|http2|dgram|child_process|worker_threads|cluster)$',
          'node_modules/(sharp|piscina|better-sqlite3|cassandra-driver|@aws-sdk|@trufflesuite|prom-client|pino)/',
        ],
      },
    },
    {
      name: 'no-circular',
      comment:
        'These modules import each other in a cycle (type imports count too): move what they ' +
        'share into a module of its own, or pass it in.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Count `import type` too: see the opening comment.
    tsPreCompilationDeps: 'specify',
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.cts', '.mts', '.js', '.cjs', '.mjs', '.d.ts'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
