/**
 * Does the photo look like the dermatoscope images the model learnt from? The browser twin of
 * trainer/image_checks.py: the same statistics of the 75x100 model input, compared with the
 * bounds the trainer chose on validation images (manifest `decision.image_checks.bounds`).
 *
 * Dermatoscope images often show a round field of view, vignetted towards the corners or inside a
 * near-black border. So the statistics look only at the central ellipse (normalised squared radius
 * at most ELLIPSE_RADIUS2) and, inside it, leave out the dark border: pixels with grey below
 * BORDER_GREY that are 4-connected to the image edge through such pixels. When that would leave
 * less than MIN_KEPT_SHARE of the ellipse, the whole ellipse counts.
 */

const ELLIPSE_RADIUS2 = 0.8;
const BORDER_GREY = 40;
const MIN_KEPT_SHARE = 0.25;

/**
 * @typedef {object} ImageStatistics
 * @property {number} brightness mean grey level, grey = 0.299 R + 0.587 G + 0.114 B
 * @property {number} colourfulness mean of max(R, G, B) - min(R, G, B)
 * @property {number} skin_share share of pixels with red strictly above green and blue
 * @property {number} sharpness variance of the 4-neighbour Laplacian of grey over the pixels kept
 *   together with their 4 neighbours
 */

/**
 * The pixels the statistics use: the central ellipse less the dark border, found by a flood fill
 * from the dark pixels on the image edge.
 * @param {Float64Array} grey
 * @param {number} width
 * @param {number} height
 * @returns {Uint8Array} 1 for kept pixels
 */
function keptPixels(grey, width, height) {
  const border = new Uint8Array(width * height);
  const stack = [];
  const visit = (i) => {
    if (!border[i] && grey[i] < BORDER_GREY) {
      border[i] = 1;
      stack.push(i);
    }
  };
  for (let x = 0; x < width; x++) {
    visit(x);
    visit((height - 1) * width + x);
  }
  for (let y = 0; y < height; y++) {
    visit(y * width);
    visit(y * width + width - 1);
  }
  while (stack.length) {
    const i = stack.pop();
    const x = i % width;
    if (x > 0) visit(i - 1);
    if (x < width - 1) visit(i + 1);
    if (i >= width) visit(i - width);
    if (i < (height - 1) * width) visit(i + width);
  }

  const ellipse = new Uint8Array(width * height);
  const kept = new Uint8Array(width * height);
  let ellipseCount = 0;
  let keptCount = 0;
  for (let y = 0; y < height; y++) {
    const dy = (y + 0.5 - height / 2) / (height / 2);
    for (let x = 0; x < width; x++) {
      const dx = (x + 0.5 - width / 2) / (width / 2);
      const i = y * width + x;
      if (dy * dy + dx * dx <= ELLIPSE_RADIUS2) {
        ellipse[i] = 1;
        ellipseCount += 1;
        if (!border[i]) {
          kept[i] = 1;
          keptCount += 1;
        }
      }
    }
  }
  return keptCount < MIN_KEPT_SHARE * ellipseCount ? ellipse : kept;
}

/**
 * @param {Float32Array} input height * width * 3 RGB values, 0..255
 * @param {number} width
 * @param {number} height
 * @returns {ImageStatistics}
 */
export function imageStatistics(input, width, height) {
  const pixels = width * height;
  const grey = new Float64Array(pixels);
  for (let i = 0; i < pixels; i++) {
    grey[i] = 0.299 * input[3 * i] + 0.587 * input[3 * i + 1] + 0.114 * input[3 * i + 2];
  }
  const kept = keptPixels(grey, width, height);

  let count = 0;
  let greySum = 0;
  let chromaSum = 0;
  let skin = 0;
  for (let i = 0; i < pixels; i++) {
    if (!kept[i]) continue;
    const r = input[3 * i];
    const g = input[3 * i + 1];
    const b = input[3 * i + 2];
    count += 1;
    greySum += grey[i];
    chromaSum += Math.max(r, g, b) - Math.min(r, g, b);
    if (r > g && r > b) skin += 1;
  }

  const laplacian = [];
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1; x < width - 1; x++) {
      const i = y * width + x;
      if (kept[i] && kept[i - width] && kept[i + width] && kept[i - 1] && kept[i + 1]) {
        laplacian.push(grey[i - width] + grey[i + width] + grey[i - 1] + grey[i + 1] - 4 * grey[i]);
      }
    }
  }
  const mean = laplacian.reduce((sum, v) => sum + v, 0) / (laplacian.length || 1);
  const variance = laplacian.reduce((sum, v) => sum + (v - mean) ** 2, 0) / (laplacian.length || 1);

  return {
    brightness: greySum / count,
    colourfulness: chromaSum / count,
    skin_share: skin / count,
    sharpness: variance,
  };
}

/** What to tell the patient when a statistic is out of bounds, by `<statistic>:<min|max>`. */
const MESSAGES = {
  'brightness:min': 'it is very dark: use daylight or a bright lamp, without flash glare',
  'colourfulness:min':
    'it has almost no colour (a black-and-white photo or a filter?): colour matters for telling ' +
    'lesion types apart',
  'skin_share:min':
    'it does not show much skin-coloured area: fill the frame with the spot and the skin around it',
  'sharpness:min': 'it looks blurry or featureless: hold the camera steady and let it focus',
  'sharpness:max':
    'it looks grainy or cluttered (noise, text or a busy background) rather than a close-up ' +
    'of skin',
};

/**
 * @typedef {object} PhotoWarning
 * @property {string} check `<statistic>:<min|max>`
 * @property {string} message plain-language reason
 */

/**
 * The checks this photo fails; none when the manifest has no image checks.
 * @param {ImageStatistics} statistics
 * @param {object} [imageChecks] the manifest's `decision.image_checks`
 * @returns {PhotoWarning[]}
 */
export function photoWarnings(statistics, imageChecks) {
  const warnings = [];
  for (const [name, bounds] of Object.entries(imageChecks?.bounds ?? {})) {
    const value = statistics[name];
    if (!Number.isFinite(value)) continue;
    for (const [side, failed] of [
      ['min', value < bounds.min],
      ['max', value > bounds.max],
    ]) {
      const check = `${name}:${side}`;
      if (failed && MESSAGES[check]) warnings.push({ check, message: MESSAGES[check] });
    }
  }
  return warnings;
}
