/**
 * Where the model looked: occlusion sensitivity for the top class, the browser twin of
 * trainer/explain.py (same cells, occluder, fill colour and normalisation; see that file).
 *
 * It runs after the probabilities are shown, in batches that yield to the page between them, and
 * stops when a newer photo or frame makes it stale. Only the model's first output (the class
 * probabilities) is read.
 *
 * Test hooks on `canvas#saliency`: `data-state` "idle", "working", "done" (drawn) or "error";
 * when done, `data-grid` (the map as JSON rows, values 0..1, top-left first), `data-class` (the
 * class code it explains) and `data-ms` (computing time, from the first batch to drawn).
 */

/** Map cell side in input pixels (the 75x100 input gives 15 x 20 cells). */
export const CELL = 5;
/** Side of the occluding square, centred on its cell, in input pixels. */
export const PATCH = 15;
/** A probability drop that counts as a full-strength map value at least. */
export const MIN_DROP = 0.02;
/** Occluded copies per model call: small, so that the page stays responsive between calls. */
export const BATCH = 10;

const byId = (id) => document.getElementById(id);

/**
 * The mean colour of an input, per channel, as float32 (as trainer/explain.py computes it).
 * @param {Float32Array} input height * width * 3 RGB values
 * @returns {Float32Array}
 */
function meanColour(input) {
  const sums = [0, 0, 0];
  for (let i = 0; i < input.length; i += 3) {
    sums[0] += input[i];
    sums[1] += input[i + 1];
    sums[2] += input[i + 2];
  }
  return Float32Array.from(sums, (sum) => sum / (input.length / 3));
}

/**
 * Copies of the input with one cell's occluding square filled with `fill`, for cells
 * `first` .. `first + count - 1` (row-major).
 * @param {Float32Array} input
 * @param {number} height
 * @param {number} width
 * @param {Float32Array} fill
 * @param {number} first
 * @param {number} count
 * @returns {Float32Array} count * height * width * 3 values
 */
function occludedCopies(input, height, width, fill, first, count) {
  const cols = width / CELL;
  const margin = (PATCH - CELL) / 2;
  const batch = new Float32Array(count * input.length);
  for (let k = 0; k < count; k++) {
    const offset = k * input.length;
    batch.set(input, offset);
    const row = Math.floor((first + k) / cols);
    const col = (first + k) % cols;
    const top = Math.max(0, row * CELL - margin);
    const bottom = Math.min(height, row * CELL - margin + PATCH);
    const left = Math.max(0, col * CELL - margin);
    const right = Math.min(width, col * CELL - margin + PATCH);
    for (let y = top; y < bottom; y++) {
      for (let x = left; x < right; x++) {
        batch.set(fill, offset + (y * width + x) * 3);
      }
    }
  }
  return batch;
}

/** Let the page handle input (and, first, paint the probabilities) before the next batch. */
function yieldToPage() {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Resolves after the next paint. */
function afterPaint() {
  return new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
}

/**
 * The occlusion map for one class, or null when `isCurrent` turned false meanwhile.
 * @param {object} model TF.js LayersModel
 * @param {Float32Array} input height * width * 3 RGB values
 * @param {number} height
 * @param {number} width
 * @param {number} classIndex the class to explain
 * @param {number} probability its probability for the unoccluded input
 * @param {() => boolean} isCurrent
 * @returns {Promise<number[][] | null>} rows of values 0..1, top-left first
 */
export async function occlusionMap(
  model,
  input,
  height,
  width,
  classIndex,
  probability,
  isCurrent,
) {
  const { tf } = globalThis;
  if (height % CELL || width % CELL) {
    throw new Error(`A ${width}x${height} input does not tile into ${CELL}x${CELL} cells.`);
  }
  const rows = height / CELL;
  const cols = width / CELL;
  const fill = meanColour(input);
  const drops = new Float32Array(rows * cols);
  await afterPaint();
  for (let first = 0; first < drops.length; first += BATCH) {
    await yieldToPage();
    if (!isCurrent()) return null;
    const count = Math.min(BATCH, drops.length - first);
    const scores = tf.tidy(() => {
      const copies = occludedCopies(input, height, width, fill, first, count);
      const batch = tf.tensor4d(copies, [count, height, width, 3]);
      const output = model.predict(batch, { batchSize: BATCH });
      const probabilities = Array.isArray(output) ? output[0] : output;
      return probabilities.slice([0, classIndex], [count, 1]);
    });
    const values = await scores.data();
    scores.dispose();
    values.forEach((p, k) => {
      drops[first + k] = Math.max(0, probability - p);
    });
  }
  const scale = Math.max(Math.max(...drops), MIN_DROP);
  return Array.from({ length: rows }, (_, i) =>
    Array.from(drops.subarray(i * cols, (i + 1) * cols), (drop) => drop / scale),
  );
}

/**
 * Colour of a map value: transparent for 0, through yellow and orange to opaque red for 1.
 * @param {number} value 0..1
 * @returns {[number, number, number, number]} RGBA bytes
 */
function heatColour(value) {
  return [255, Math.round(230 * (1 - value)), 0, Math.round(200 * value)];
}

/**
 * Draw the map on the canvas (one canvas pixel per cell; CSS stretches it smoothly over the frame).
 * @param {HTMLCanvasElement} canvas
 * @param {number[][]} grid
 */
function drawMap(canvas, grid) {
  canvas.height = grid.length;
  canvas.width = grid[0].length;
  const image = new ImageData(canvas.width, canvas.height);
  grid.flat().forEach((value, i) => image.data.set(heatColour(value), i * 4));
  canvas.getContext('2d').putImageData(image, 0, 0);
}

/**
 * Set the overlay's state; anything but "done" clears the drawn map and its legend.
 * @param {'idle' | 'working' | 'done' | 'error'} state
 */
function setState(state) {
  const canvas = byId('saliency');
  canvas.dataset.state = state;
  if (state !== 'done') {
    delete canvas.dataset.grid;
    delete canvas.dataset.class;
    delete canvas.dataset.ms;
  }
  byId('saliency-panel').hidden = state !== 'done';
  canvas.hidden = state !== 'done' || !byId('saliency-toggle').checked;
  byId('saliency-status').textContent =
    state === 'working' ? 'Working out which areas of the photo mattered most…' : '';
}

/** Hide the map: the photo or the frame changed. */
export function clearSaliency() {
  setState('idle');
}

/**
 * Compute the map for the most likely class and draw it over the framed photo.
 * @param {object} model TF.js LayersModel
 * @param {Float32Array} input the classified input
 * @param {{width: number, height: number}} size input size
 * @param {Array<{code: string, name: string}>} classes manifest order
 * @param {number[]} probabilities the model's for `input`, manifest order
 * @param {number[]} shown the probabilities the page shows (`decision.js: shownProbabilities`),
 *   whose top class is the one explained
 * @param {() => boolean} isCurrent false once a newer photo or frame replaced this one
 */
export async function explainTopClass(
  model,
  input,
  size,
  classes,
  probabilities,
  shown,
  isCurrent,
) {
  setState('working');
  const classIndex = shown.indexOf(Math.max(...shown));
  const startedAt = performance.now();
  let grid;
  try {
    const p = probabilities[classIndex];
    grid = await occlusionMap(model, input, size.height, size.width, classIndex, p, isCurrent);
  } catch (error) {
    if (isCurrent()) setState('error');
    throw error;
  }
  if (!grid || !isCurrent()) return;
  const canvas = byId('saliency');
  drawMap(canvas, grid);
  byId('saliency-class').textContent = classes[classIndex].name.toLowerCase();
  setState('done');
  Object.assign(canvas.dataset, {
    grid: JSON.stringify(grid),
    class: classes[classIndex].code,
    ms: (performance.now() - startedAt).toFixed(1),
  });
}

/** Wire the show/hide toggle. */
export function setUpSaliency() {
  const toggle = byId('saliency-toggle');
  toggle.addEventListener('change', () => {
    byId('saliency').hidden = byId('saliency').dataset.state !== 'done' || !toggle.checked;
  });
  setState('idle');
}
