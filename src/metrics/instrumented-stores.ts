import type { BlobInfo, BlobStore } from '../blobs/port.js';
import type { ActiveLookup, MetadataStore, PictureRecord, TokenRecord, UserRecord } from '../metadata/port.js';
import type { Metrics } from './metrics.js';

/**
 * The store ports, timing every operation into onepic_store_operation_seconds and counting the
 * ones that throw into onepic_store_errors_total, labelled {store, backend, operation}. An
 * expected answer (null, false: no such user, name taken) is a result, not an error; only a
 * thrown error counts. The operation label is the port's method name: a fixed set.
 *
 * Explicit methods rather than a Proxy: the compiler checks that every port method is covered,
 * and a new method added to a port fails the build here until it is given a label.
 */

type Recorder = <T>(operation: string, run: () => Promise<T>) => Promise<T>;

/**
 * Creates every {operation} error series at 0, so that rate() sees the first failure and an
 * error-ratio panel shows 0 rather than "no data" on a healthy node.
 */
function zeroErrors<S extends object>(instrumented: S, metrics: Metrics, store: string, backend: string): S {
  for (const operation of Object.keys(instrumented)) {
    if (operation !== 'close') metrics.storeErrors.inc({ store, backend, operation }, 0);
  }
  return instrumented;
}

function recorder(metrics: Metrics, store: 'metadata' | 'blobs', backend: string): Recorder {
  return async (operation, run) => {
    const labels = { store, backend, operation };
    const started = performance.now();
    try {
      return await run();
    } catch (err) {
      metrics.storeErrors.inc(labels);
      throw err;
    } finally {
      metrics.storeDuration.observe(labels, (performance.now() - started) / 1000);
    }
  };
}

export function instrumentMetadataStore(store: MetadataStore, backend: 'embedded' | 'cassandra', metrics: Metrics): MetadataStore {
  const timed = recorder(metrics, 'metadata', backend);
  return zeroErrors<MetadataStore>({
    createUser: (user: UserRecord) => timed('createUser', () => store.createUser(user)),
    getUser: (username: string) => timed('getUser', () => store.getUser(username)),
    deleteUser: (username: string) => timed('deleteUser', () => store.deleteUser(username)),
    putToken: (token: TokenRecord) => timed('putToken', () => store.putToken(token)),
    getToken: (tokenHash: string) => timed('getToken', () => store.getToken(tokenHash)),
    deleteToken: (tokenHash: string) => timed('deleteToken', () => store.deleteToken(tokenHash)),
    insertPicture: (picture: PictureRecord, opts: { uid: string; makeActive: boolean }) =>
      timed('insertPicture', () => store.insertPicture(picture, opts)),
    listPictures: (username: string) => timed('listPictures', () => store.listPictures(username)),
    getPicture: (username: string, id: string) => timed('getPicture', () => store.getPicture(username, id)),
    updateLabel: (username: string, id: string, label: string) => timed('updateLabel', () => store.updateLabel(username, id, label)),
    deletePicture: (username: string, id: string) => timed('deletePicture', () => store.deletePicture(username, id)),
    setActive: (username: string, id: string) => timed('setActive', () => store.setActive(username, id)),
    clearActive: (username: string) => timed('clearActive', () => store.clearActive(username)),
    getActive: (username: string): Promise<ActiveLookup> => timed('getActive', () => store.getActive(username)),
    isHashReferenced: (username: string, hash: string) => timed('isHashReferenced', () => store.isHashReferenced(username, hash)),
    ping: () => timed('ping', () => store.ping()),
    // Once per process, at shutdown: nothing to watch.
    close: () => store.close(),
  }, metrics, 'metadata', backend);
}

export function instrumentBlobStore(store: BlobStore, backend: 'fs' | 's3', metrics: Metrics): BlobStore {
  const timed = recorder(metrics, 'blobs', backend);
  return zeroErrors<BlobStore>({
    put: (key: string, bytes: Uint8Array, contentType: string) => timed('put', () => store.put(key, bytes, contentType)),
    get: (key: string) => timed('get', () => store.get(key)),
    head: (key: string) => timed('head', () => store.head(key)),
    delete: (key: string) => timed('delete', () => store.delete(key)),
    deletePrefix: (prefix: string) => timed('deletePrefix', () => store.deletePrefix(prefix)),
    list: (prefix: string) => timedListing(store.list(prefix), metrics, { store: 'blobs', backend, operation: 'list' }),
    ping: () => timed('ping', () => store.ping()),
    close: () => store.close(),
  }, metrics, 'blobs', backend);
}

/**
 * One observation per listing: the time spent inside the store's next() calls, summed, so the
 * consumer's own work between items (the sweeper asks the metadata store about each one) is not
 * charged to the blob store. Per page is not possible from here (the port yields items, and
 * pages are the backend's business: S3 has 1000-key pages, fs none), and an observation per item
 * would fill the histogram with near-zero samples for items already fetched. A listing the
 * consumer stops early is observed too; one that throws also counts an error.
 */
async function* timedListing(
  listing: AsyncIterable<BlobInfo>, metrics: Metrics, labels: { store: string; backend: string; operation: string },
): AsyncGenerator<BlobInfo, void, undefined> {
  const iterator = listing[Symbol.asyncIterator]();
  let spentMs = 0;
  let finished = false;
  try {
    for (;;) {
      const started = performance.now();
      let step: IteratorResult<BlobInfo>;
      try {
        step = await iterator.next();
      } catch (err) {
        finished = true;
        metrics.storeErrors.inc(labels);
        throw err;
      } finally {
        spentMs += performance.now() - started;
      }
      if (step.done) {
        finished = true;
        return;
      }
      yield step.value;
    }
  } finally {
    // The consumer stopped early: let the store release what it holds (a directory handle, a request).
    if (!finished) await iterator.return?.();
    metrics.storeDuration.observe(labels, spentMs / 1000);
  }
}
