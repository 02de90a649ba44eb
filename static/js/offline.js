/**
 * Registers the service worker (sw.js) and, once it runs, hands it this site version and the
 * files this page loaded, so that the page works offline next time. Shows the outcome in
 * `#offline-status` and `html[data-offline]`: "ready" when everything needed is stored.
 */

/**
 * Ask the active worker to store the URLs as this version; resolves with its answer.
 * @param {ServiceWorker} worker
 * @param {string} version
 * @param {string[]} urls
 * @returns {Promise<{version: string, count: number}>}
 */
function storeInWorker(worker, version, urls) {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = (event) => resolve(event.data);
    worker.postMessage({ type: 'store', version, urls }, [channel.port2]);
  });
}

/**
 * On the classifier page, wait until the model has loaded (or failed), so that all its files
 * are known.
 */
function pageSettled() {
  return new Promise((resolve) => {
    const classifier = document.getElementById('model-status') !== null;
    const state = () => document.body.dataset.modelState;
    const settled = () => !classifier || state() === 'ready' || state() === 'error';
    if (settled()) {
      resolve();
      return;
    }
    const observer = new MutationObserver(() => {
      if (settled()) {
        observer.disconnect();
        resolve();
      }
    });
    observer.observe(document.body, { attributes: true, attributeFilter: ['data-model-state'] });
  });
}

async function goOffline() {
  const status = document.getElementById('offline-status');
  const version = document.querySelector('meta[name="site-version"]')?.content ?? '';
  if (!('serviceWorker' in navigator)) return;
  try {
    const registration = await navigator.serviceWorker.register('/sw.js');
    if (!registration || !version) return; // blocked (e.g. by browser automation) or unversioned
    const { active } = await navigator.serviceWorker.ready;
    await pageSettled();
    const urls = [
      window.location.pathname,
      '/',
      '/classes',
      ...performance.getEntriesByType('resource').map((entry) => entry.name),
    ];
    await storeInWorker(active, version, urls);
    // Only the classifier page loads TF.js and the model: only there is everything now stored.
    if (document.body.dataset.modelState !== 'ready') return;
    document.documentElement.dataset.offline = 'ready';
    if (status) status.textContent = 'This page now also works offline on this device.';
  } catch (error) {
    console.warn('Offline use is not available', error);
    document.documentElement.dataset.offline = 'unavailable';
  }
}

goOffline();
