/**
 * The browser twin of trainer/preprocess.py: turns an image file into the model's input.
 *
 * 1. decode to 8-bit RGB with EXIF orientation applied and no colour management; transparent
 *    pixels are composited over white;
 * 2. centre-crop to 3:4 (height:width) with the same integer rounding as Python, or use a
 *    caller-supplied crop box;
 * 3. resize the crop to the input size in JS (resize.js): area averaging when shrinking,
 *    bilinear with half-pixel centres otherwise; float32, not rounded;
 * 4. values stay in 0..255 RGB: normalisation is inside the model.
 */

import { resizeArea, resizeBilinear } from './resize.js';

/** The preprocessing this file implements; the model manifest must name the same one. */
export const PREPROCESSING_ID = 'rgb-centre-3x4-area-v1';

/** A file that cannot be turned into model input; the message is meant for the user. */
export class ImageDecodeError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'ImageDecodeError';
  }
}

/** @typedef {{x: number, y: number, width: number, height: number}} CropBox */

/**
 * Largest centred 3:4 (height:width) box in an image; same rounding as `centre_crop_box`.
 * @param {number} width
 * @param {number} height
 * @returns {CropBox}
 */
export function centreCropBox(width, height) {
  let cropW;
  let cropH;
  if (width * 3 >= height * 4) {
    cropW = Math.floor((8 * height + 3) / 6);
    cropH = height;
  } else {
    cropW = width;
    cropH = Math.floor((6 * width + 4) / 8);
  }
  cropW = Math.max(1, Math.min(cropW, width));
  cropH = Math.max(1, Math.min(cropH, height));
  return {
    x: Math.floor((width - cropW) / 2),
    y: Math.floor((height - cropH) / 2),
    width: cropW,
    height: cropH,
  };
}

/**
 * Decode a file to an ImageBitmap with EXIF orientation applied and colours left as stored
 * (no ICC or gamma conversion), as OpenCV decodes it. The caller closes the bitmap.
 * @param {Blob} blob
 * @returns {Promise<ImageBitmap>}
 */
export async function decodeImage(blob) {
  if (blob.size === 0) throw new ImageDecodeError('The file is empty: please choose a photo.');
  try {
    return await createImageBitmap(blob, {
      imageOrientation: 'from-image',
      colorSpaceConversion: 'none',
    });
  } catch {
    throw new ImageDecodeError(
      'This file could not be read as an image. Please choose a JPEG, PNG or WebP photo.',
    );
  }
}

/**
 * The RGB pixels of a box of the bitmap, 1:1 (no scaling), alpha composited over white.
 * @param {ImageBitmap} bitmap
 * @param {CropBox} box
 * @returns {import('./resize.js').Image}
 */
export function readPixels(bitmap, box) {
  const canvas = new OffscreenCanvas(box.width, box.height);
  const context = canvas.getContext('2d', { willReadFrequently: true });
  if (!context) throw new ImageDecodeError('This image is too large to process on this device.');
  context.imageSmoothingEnabled = false;
  context.fillStyle = '#ffffff';
  context.fillRect(0, 0, box.width, box.height);
  context.drawImage(bitmap, box.x, box.y, box.width, box.height, 0, 0, box.width, box.height);
  const rgba = context.getImageData(0, 0, box.width, box.height).data;
  const rgb = new Uint8Array(box.width * box.height * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    rgb[j] = rgba[i];
    rgb[j + 1] = rgba[i + 1];
    rgb[j + 2] = rgba[i + 2];
  }
  return { data: rgb, width: box.width, height: box.height, channels: 3 };
}

/**
 * Check that a crop box is a non-empty integer rectangle inside a width x height image.
 * @param {CropBox} box
 * @param {number} width
 * @param {number} height
 */
function checkBox(box, width, height) {
  const { x, y, width: w, height: h } = box;
  const integers = [x, y, w, h].every(Number.isInteger);
  if (!integers || x < 0 || y < 0 || w < 1 || h < 1 || x + w > width || y + h > height) {
    throw new RangeError(`crop box ${JSON.stringify(box)} is not inside ${width}x${height}`);
  }
}

/**
 * @typedef {object} Preprocessor
 * @property {number} width model input width
 * @property {number} height model input height
 * @property {(bitmap: ImageBitmap, box?: CropBox) => Float32Array} fromBitmap
 */

/**
 * Build the preprocessing described by a manifest's `preprocessing` block, refusing any spec
 * this file does not implement, so that the Python and JS sides cannot drift apart silently.
 * @param {object} spec the manifest's `preprocessing` block
 * @returns {Preprocessor}
 */
export function createPreprocessor(spec) {
  if (spec?.id !== PREPROCESSING_ID) {
    throw new Error(
      `The model expects preprocessing "${spec?.id}", but this page implements ` +
        `"${PREPROCESSING_ID}". Update the web app or the model.`,
    );
  }
  const { input_width: width, input_height: height, channels, channel_order: order } = spec;
  if (!Number.isInteger(width) || !Number.isInteger(height) || channels !== 3 || order !== 'RGB') {
    throw new Error(`Unsupported preprocessing parameters: ${JSON.stringify(spec)}`);
  }

  /**
   * Crop (centre 3:4 unless a box is given) and resize a decoded image to model input.
   * @param {ImageBitmap} bitmap
   * @param {CropBox} [box]
   * @returns {Float32Array} height * width * 3 RGB values in 0..255
   */
  function fromBitmap(bitmap, box = centreCropBox(bitmap.width, bitmap.height)) {
    checkBox(box, bitmap.width, bitmap.height);
    const crop = readPixels(bitmap, box);
    const shrinking = crop.width >= width && crop.height >= height;
    return shrinking ? resizeArea(crop, width, height) : resizeBilinear(crop, width, height);
  }

  return { width, height, fromBitmap };
}
