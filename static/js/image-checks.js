/**
 * Does the photo look like the dermatoscope images the model learnt from? The browser twin of
 * trainer/image_checks.py: the same statistics of the 75x100 model input, compared with the
 * bounds the trainer chose on validation images (manifest `decision.image_checks.bounds`).
 */

/**
 * @typedef {object} ImageStatistics
 * @property {number} brightness mean grey level, grey = 0.299 R + 0.587 G + 0.114 B
 * @property {number} colourfulness mean of max(R, G, B) - min(R, G, B)
 * @property {number} skin_share share of pixels with red strictly above green and blue
 * @property {number} sharpness variance of the 4-neighbour Laplacian of grey, interior pixels
 */

/**
 * @param {Float32Array} input height * width * 3 RGB values, 0..255
 * @param {number} width
 * @param {number} height
 * @returns {ImageStatistics}
 */
export function imageStatistics(input, width, height) {
  const pixels = width * height;
  const grey = new Float64Array(pixels);
  let greySum = 0;
  let chromaSum = 0;
  let skin = 0;
  for (let i = 0; i < pixels; i++) {
    const r = input[3 * i];
    const g = input[3 * i + 1];
    const b = input[3 * i + 2];
    grey[i] = 0.299 * r + 0.587 * g + 0.114 * b;
    greySum += grey[i];
    chromaSum += Math.max(r, g, b) - Math.min(r, g, b);
    if (r > g && r > b) skin += 1;
  }

  const laplacian = [];
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1; x < width - 1; x++) {
      const i = y * width + x;
      laplacian.push(grey[i - width] + grey[i + width] + grey[i - 1] + grey[i + 1] - 4 * grey[i]);
    }
  }
  const mean = laplacian.reduce((sum, v) => sum + v, 0) / (laplacian.length || 1);
  const variance = laplacian.reduce((sum, v) => sum + (v - mean) ** 2, 0) / (laplacian.length || 1);

  return {
    brightness: greySum / pixels,
    colourfulness: chromaSum / pixels,
    skin_share: skin / pixels,
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
