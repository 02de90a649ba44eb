/**
 * Loading the exported TF.js Layers model and running it. TensorFlow.js itself comes from the
 * classic scripts /vendor/tfjs/tf.min.js and /vendor/tfjs-backend-wasm/tf-backend-wasm.min.js
 * (global `tf`), served from node_modules: nothing is loaded from a CDN.
 */

/** Where the model and its manifest are served. */
export const MANIFEST_URL = '/model/manifest.json';

/** Where the TF.js WebAssembly binaries are served (trailing slash required). */
export const WASM_PATH = '/vendor/tfjs-backend-wasm/';

/**
 * Fetch and parse the model manifest (class table, preprocessing spec, model file).
 * @param {string} [url]
 * @returns {Promise<object>}
 */
export async function fetchManifest(url = MANIFEST_URL) {
  const response = await fetch(url, { cache: 'no-cache' });
  if (!response.ok) {
    throw new Error(`The model is not installed on this server (${url}: ${response.status}).`);
  }
  const manifest = await response.json();
  if (!Array.isArray(manifest.classes) || manifest.classes.length === 0) {
    throw new Error(`The model manifest ${url} lists no classes.`);
  }
  return manifest;
}

/**
 * Select the WebAssembly backend (fast on CPUs; TF.js would pick WebGL by default, which is
 * slow under software GL), falling back to the plain JS 'cpu' backend.
 * @param {string} wasmPath
 * @returns {Promise<string>} the backend in use
 */
async function selectBackend(wasmPath) {
  const { tf } = globalThis;
  tf.wasm.setWasmPaths(wasmPath);
  let ready = false;
  try {
    ready = await tf.setBackend('wasm');
  } catch (error) {
    console.warn('TF.js wasm backend unavailable, using cpu', error);
  }
  if (!ready) await tf.setBackend('cpu');
  await tf.ready();
  return tf.getBackend();
}

/**
 * @typedef {object} Classifier
 * @property {string} backend TF.js backend name ('wasm' or 'cpu')
 * @property {(input: Float32Array) => number[]} predict class probabilities, manifest order
 */

/**
 * Load the model named by the manifest, check it against the manifest, and warm it up.
 * @param {object} manifest from fetchManifest
 * @param {{width: number, height: number}} inputSize from the preprocessing spec
 * @param {{manifestUrl?: string, wasmPath?: string}} [options]
 * @returns {Promise<Classifier>}
 */
export async function loadClassifier(manifest, inputSize, options = {}) {
  const { tf } = globalThis;
  const manifestUrl = new URL(options.manifestUrl ?? MANIFEST_URL, window.location.href);
  const backend = await selectBackend(options.wasmPath ?? WASM_PATH);
  const modelUrl = new URL(manifest.model?.file ?? 'model.json', manifestUrl);
  const model = await tf.loadLayersModel(modelUrl.href);

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

  /**
   * @param {Float32Array} input height * width * 3 RGB values
   * @returns {number[]}
   */
  function predict(input) {
    return tf.tidy(() => {
      const batch = tf.tensor4d(input, [1, height, width, 3], 'float32');
      return Array.from(model.predict(batch).dataSync());
    });
  }

  predict(new Float32Array(height * width * 3)); // warm-up: the first call compiles kernels
  return { backend, predict };
}
