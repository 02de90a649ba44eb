/**
 * Service worker (served at /sw.js so that its scope is the whole site): keeps the app, TF.js
 * and the model on this device so the page works offline after one visit. It only ever stores
 * the site's own files, never a photo or a result.
 *
 * Versioning: each site version (a hash of the app files and the model manifest, sent by the
 * server as `X-Site-Version` and in the page's `site-version` meta tag, see webapp/pages.py) gets
 * its own cache, `lesion-<version>`. A page or store request of a new version makes that cache
 * the current one and deletes the others, so an old app never mixes with a new model. The worker
 * script itself does not change with the version: no waiting for an old worker to let go.
 * - pages and the model manifest: network first, the cached copy when offline;
 * - /static, /vendor and /model files: cache first (fetched and stored on a miss);
 * - anything else (other methods, other hosts): not touched.
 */

const PREFIX = 'lesion-';
const NETWORK_FIRST = new Set(['/', '/classes', '/model-card', '/model/manifest.json']);
const CACHE_FIRST = ['/static/', '/vendor/', '/model/'];

/**
 * Whether a same-origin path may be stored.
 * @param {string} path
 * @returns {boolean}
 */
function cacheable(path) {
  return NETWORK_FIRST.has(path) || CACHE_FIRST.some((prefix) => path.startsWith(prefix));
}

/**
 * The current version's cache, or null before the first versioned page (caches survive worker
 * restarts, globals do not, so the current version is the one cache left).
 * @returns {Promise<Cache | null>}
 */
async function currentCache() {
  const name = (await caches.keys()).filter((n) => n.startsWith(PREFIX)).at(-1);
  return name ? caches.open(name) : null;
}

/**
 * Make `version` the current one: delete every other version's cache.
 * @param {string} version
 * @returns {Promise<Cache>}
 */
async function useVersion(version) {
  const current = PREFIX + version;
  const stale = (await caches.keys()).filter((n) => n.startsWith(PREFIX) && n !== current);
  await Promise.all(stale.map((name) => caches.delete(name)));
  return caches.open(current);
}

/**
 * Store the site's own URLs that are not cached yet.
 * @param {Cache} cache
 * @param {string[]} urls
 * @returns {Promise<number>} entries in the cache afterwards
 */
async function store(cache, urls) {
  const wanted = urls
    .map((url) => new URL(url, self.location.origin))
    .filter((url) => url.origin === self.location.origin && cacheable(url.pathname));
  await Promise.all(
    wanted.map(async (url) => {
      if (await cache.match(url.href)) return;
      try {
        const response = await fetch(url.href);
        if (response.ok) await cache.put(url.href, response);
      } catch {
        // Offline or refused: fetched again on first use.
      }
    }),
  );
  return (await cache.keys()).length;
}

self.addEventListener('install', (event) => {
  event.waitUntil(self.skipWaiting());
});

self.addEventListener('activate', (event) => {
  event.waitUntil(self.clients.claim());
});

// The page sends its version and the URLs it loaded (performance entries), so that exactly what
// the app needs, whatever the model's file names, is kept for offline use.
self.addEventListener('message', (event) => {
  const { type, version, urls } = event.data ?? {};
  if (type !== 'store' || !version) return;
  event.waitUntil(
    useVersion(version)
      .then((cache) => store(cache, urls ?? []))
      .then((count) => event.ports[0]?.postMessage({ version, count })),
  );
});

/**
 * @param {Request} request
 * @returns {Promise<Response>}
 */
async function networkFirst(request) {
  let response;
  try {
    response = await fetch(request);
  } catch (error) {
    const cached = await (await currentCache())?.match(request, { ignoreSearch: true });
    if (cached) return cached;
    throw error;
  }
  const version = response.headers.get('X-Site-Version');
  const cache = version ? await useVersion(version) : await currentCache();
  if (cache && response.ok) await cache.put(request, response.clone());
  return response;
}

/**
 * @param {Request} request
 * @returns {Promise<Response>}
 */
async function cacheFirst(request) {
  const cache = await currentCache();
  const cached = await cache?.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (cache && response.ok) await cache.put(request, response.clone());
  return response;
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  const url = new URL(request.url);
  const ours = url.origin === self.location.origin && cacheable(url.pathname);
  if (request.method !== 'GET' || !ours) return;
  const networkFirstPath = request.mode === 'navigate' || NETWORK_FIRST.has(url.pathname);
  event.respondWith(networkFirstPath ? networkFirst(request) : cacheFirst(request));
});
