/**
 * Loading the exported TF.js Layers model and running it. TensorFlow.js itself comes from the
 * classic scripts /vendor/tfjs/tf.min.js and /vendor/tfjs-backend-wasm/tf-backend-wasm.min.js
 * (global `tf`), served from node_modules: nothing is loaded from a CDN.
 *
 * Integrity: every model file is fetched with the sha256 the manifest lists for it as its
 * Subresource Integrity metadata, so the browser refuses bytes that differ before TF.js sees
 * them; a mismatch stops loading with an IntegrityError. The files are fetched from
 * /model/v/<version>/, where <version> is the first VERSION_LENGTH hex digits of the manifest's
 * own sha256: the server caches those URLs as immutable and answers them only while that
 * manifest is installed (webapp/staticfiles.py).
 *
 * Measurement hook: `?backend=wasm|cpu|webgl` in the page URL forces a TF.js backend.
 */

import { averagesViews, photoTypeOf } from './decision.js';
import './layers.js';

/** Where the model and its manifest are served. */
export const MANIFEST_URL = '/model/manifest.json';

/** Hex digits of the manifest's sha256 that name a model version (webapp/manifest.py). */
export const VERSION_LENGTH = 16;

/** Backends that `?backend=` may force. */
export const BACKENDS = ['wasm', 'cpu', 'webgl'];

/** A model file whose bytes differ from the manifest's sha256, or that the manifest does not list. */
export class IntegrityError extends Error {
  constructor(message) {
    super(message);
    this.name = 'IntegrityError';
  }
}

/** sha256 of each fetched manifest's bytes, keyed by the parsed manifest object. */
const manifestDigests = new WeakMap();

/**
 * @param {ArrayBuffer} bytes
 * @returns {Promise<string>} lowercase hex sha256
 */
async function sha256Hex(bytes) {
  if (!globalThis.crypto?.subtle) {
    throw new Error(
      'This page must be opened over HTTPS (or from localhost): the browser only offers the ' +
        'cryptography that names the model version in a secure context.',
    );
  }
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/**
 * The Subresource Integrity metadata for a manifest entry (which stores the hex sha256).
 * @param {{path: string, sha256: string}} file
 * @returns {string} `sha256-<base64>`
 */
function integrityOf(file) {
  if (!/^[0-9a-f]{64}$/.test(file.sha256)) {
    throw new IntegrityError(`The model manifest lists no valid sha256 for ${file.path}.`);
  }
  const bytes = file.sha256.match(/../g).map((pair) => parseInt(pair, 16));
  return `sha256-${btoa(String.fromCharCode(...bytes))}`;
}

/**
 * Fetch and parse the model manifest (class table, preprocessing spec, model files and hashes).
 * @returns {Promise<object>}
 */
export async function fetchManifest() {
  const url = MANIFEST_URL;
  const response = await fetch(url, { cache: 'no-cache' });
  if (!response.ok) {
    throw new Error(`The model is not installed on this server (${url}: ${response.status}).`);
  }
  const bytes = await response.arrayBuffer();
  const manifest = JSON.parse(new TextDecoder().decode(bytes));
  if (!Array.isArray(manifest.classes) || manifest.classes.length === 0) {
    throw new Error(`The model manifest ${url} lists no classes.`);
  }
  if (!Array.isArray(manifest.files) || manifest.files.length === 0) {
    throw new IntegrityError(
      `The model manifest ${url} lists no file hashes to check the model against.`,
    );
  }
  manifestDigests.set(manifest, await sha256Hex(bytes));
  return manifest;
}

/**
 * A `fetch` for TF.js that hands over a model file only if the browser found its bytes to match
 * the sha256 the manifest lists for it.
 * @param {URL} base folder URL the manifest's file paths are relative to
 * @param {Map<string, string>} integrity manifest path -> Subresource Integrity metadata
 * @returns {(url: string, init?: RequestInit) => Promise<Response>}
 */
function verifiedFetch(base, integrity) {
  return async (url, init) => {
    const href = new URL(url, base).href;
    const path = href.startsWith(base.href)
      ? decodeURIComponent(href.slice(base.href.length))
      : href;
    if (!integrity.has(path)) {
      throw new IntegrityError(`The model asks for ${path}, which its manifest does not list.`);
    }
    let response;
    try {
      response = await fetch(href, { ...init, integrity: integrity.get(path) });
    } catch (error) {
      throw await explainFailedFetch(href, path, error);
    }
    if (!response.ok) throw downloadError(path, response.status);
    return response;
  };
}

/**
 * A failed model download, with the advice that fits it.
 * @param {string} path
 * @param {number} status
 * @returns {Error}
 */
function downloadError(path, status) {
  return new Error(
    `Downloading the model file ${path} failed (${status}); ` +
      'the model may have been updated meanwhile: reload the page.',
  );
}

/**
 * Why a fetch with integrity metadata rejected: the browser gives the same TypeError for a
 * network failure and for bytes that do not match, so fetch the file once more unchecked.
 * @param {string} href
 * @param {string} path
 * @param {Error} error what the checked fetch threw
 * @returns {Promise<Error>}
 */
async function explainFailedFetch(href, path, error) {
  const unchecked = await fetch(href, { cache: 'no-store' }).catch(() => null);
  if (unchecked === null) return error;
  if (!unchecked.ok) return downloadError(path, unchecked.status);
  return new IntegrityError(
    `Integrity check failed for the model file ${path}: its content does not match the ` +
      'manifest (corrupted or tampered with). The model was not used.',
  );
}

/**
 * Select the backend forced by `?backend=`, else WebAssembly (fast on CPUs; TF.js would pick
 * WebGL by default, which is slow under software GL), falling back to the plain JS 'cpu' backend.
 * The .wasm binaries come from the npm-versioned, immutable URL of the loaded backend script.
 * @returns {Promise<string>} the backend in use
 */
async function selectBackend() {
  const { tf } = globalThis;
  // Cross-origin isolation would make TF.js pick its threaded wasm, whose workers load blob:
  // scripts that the CSP (script-src 'self') blocks, and loading would hang: use the
  // single-threaded SIMD build (why not threads: docs/decisions.md, "Web app").
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  tf.wasm.setWasmPaths(`/vendor/tfjs-backend-wasm@${tf.wasm.version_wasm}/`);
  const forced = new URLSearchParams(window.location.search).get('backend');
  if (forced !== null) {
    if (!BACKENDS.includes(forced) || !(await tf.setBackend(forced))) {
      throw new Error(
        `The TF.js backend "${forced}" is not available here (choose from ${BACKENDS}).`,
      );
    }
  } else {
    let ready = false;
    try {
      ready = await tf.setBackend('wasm');
    } catch (error) {
      console.warn('TF.js wasm backend unavailable, using cpu', error);
    }
    if (!ready) await tf.setBackend('cpu');
  }
  await tf.ready();
  return tf.getBackend();
}

/**
 * @typedef {object} Classification
 * @property {number[]} probabilities class probabilities, manifest order
 * @property {number | null} oodScore the output the manifest's `decision.ood.output` names, null
 *   for a model without it
 * @property {number | null} clinicalProbability the output `decision.photo_type.output` names
 * @property {number[][]} otherViews the class probabilities of each view after the photo itself
 *   (its mirror image) where the manifest's `decision.test_time_augmentation` averages them for the
 *   photo's type; none otherwise
 */

/**
 * @typedef {object} Classifier
 * @property {string} backend TF.js backend name ('wasm', 'cpu' or 'webgl')
 * @property {(input: Float32Array) => Classification} classify the probabilities and, for a model
 *   with those outputs, its out-of-distribution score and probability of a clinical close-up, all of
 *   the photo itself, with the probabilities of its other views where its type averages them
 * @property {object} model the TF.js LayersModel (its first output: class probabilities)
 */

/**
 * Load the model named by the manifest, verifying every file, check it against the manifest,
 * and warm it up.
 * @param {object} manifest from fetchManifest
 * @param {{width: number, height: number}} inputSize from the preprocessing spec
 * @returns {Promise<Classifier>}
 */
export async function loadClassifier(manifest, inputSize) {
  const { tf } = globalThis;
  const digest = manifestDigests.get(manifest);
  if (!digest) throw new Error('loadClassifier needs a manifest obtained from fetchManifest.');
  const manifestUrl = new URL(MANIFEST_URL, window.location.href);
  const base = new URL(`v/${digest.slice(0, VERSION_LENGTH)}/`, manifestUrl);
  const integrity = new Map(manifest.files.map((file) => [file.path, integrityOf(file)]));
  const backend = await selectBackend();
  const modelUrl = new URL(manifest.model?.file ?? 'model.json', base);
  const model = await tf.loadLayersModel(modelUrl.href, {
    fetchFunc: verifiedFetch(base, integrity),
  });

  const [, height, width, channels] = model.inputs[0].shape;
  if (height !== inputSize.height || width !== inputSize.width || channels !== 3) {
    throw new Error(
      `The model takes ${width}x${height}x${channels} input but the manifest says ` +
        `${inputSize.width}x${inputSize.height}x3.`,
    );
  }
  const outputs = model.outputs[0].shape.at(-1);
  if (outputs !== manifest.classes.length) {
    throw new Error(
      `The model has ${outputs} outputs but the manifest lists ${manifest.classes.length} classes.`,
    );
  }

  const decision = manifest.decision ?? {};
  const otherViews = decision.test_time_augmentation?.views.slice(1) ?? [];
  const classes = manifest.classes.length;

  /**
   * The class probabilities of each view after the photo itself, in one batch.
   * @param {tf.Tensor4D} photo
   * @returns {number[][]}
   */
  function otherViewProbabilities(photo) {
    const batch = tf.concat(
      otherViews.map((view) => (view.flip_axes.length ? tf.reverse(photo, view.flip_axes) : photo)),
    );
    const all = [model.predict(batch)].flat()[0].dataSync();
    return otherViews.map((_, i) => Array.from(all.subarray(i * classes, (i + 1) * classes)));
  }

  /**
   * The photo first; its other views only when the photo type the model says it got is one that
   * `decision.test_time_augmentation` averages (decision.js: shownProbabilities).
   * @param {Float32Array} input height * width * 3 RGB values
   * @returns {Classification}
   */
  function classify(input) {
    return tf.tidy(() => {
      const photo = tf.tensor4d(input, [1, height, width, 3], 'float32');
      const outputs = [model.predict(photo)].flat();
      const named = new Map(model.outputNames.map((name, i) => [name, outputs[i]]));
      const first = (name) => (named.has(name) ? named.get(name).dataSync()[0] : null);
      const clinicalProbability = first(decision.photo_type?.output);
      const averaged =
        otherViews.length > 0 &&
        averagesViews(decision, photoTypeOf(decision, clinicalProbability));
      return {
        probabilities: Array.from(outputs[0].dataSync()),
        otherViews: averaged ? otherViewProbabilities(photo) : [],
        oodScore: first(decision.ood?.output),
        clinicalProbability,
      };
    });
  }

  // Warm-up: the first call of each batch size compiles kernels.
  const blank = new Float32Array(height * width * 3);
  classify(blank);
  if (otherViews.length)
    tf.tidy(() => otherViewProbabilities(tf.tensor4d(blank, [1, height, width, 3])));
  return { backend, classify, model };
}
