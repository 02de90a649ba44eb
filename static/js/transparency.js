/**
 * Does a decoded image have transparent pixels (any alpha below 255)? The preprocessing paints
 * them over white, and the patient is told so. Decided from the pixels, whatever the source.
 */

/** Pixels read at a time, so that a very large photo never needs one huge pixel buffer. */
const STRIP_PIXELS = 1 << 20;

const TRANSPARENT_NOTE = 'Parts of this image are transparent; they were treated as white.';

/**
 * @param {ImageBitmap} bitmap
 * @returns {boolean}
 */
function hasTransparentPixels(bitmap) {
  const { width, height } = bitmap;
  const rows = Math.max(1, Math.min(height, Math.floor(STRIP_PIXELS / width)));
  const context = new OffscreenCanvas(width, rows).getContext('2d', { willReadFrequently: true });
  if (!context) throw new Error('This image is too large to process on this device.');
  for (let top = 0; top < height; top += rows) {
    const strip = Math.min(rows, height - top);
    context.clearRect(0, 0, width, rows);
    context.drawImage(bitmap, 0, top, width, strip, 0, 0, width, strip);
    const rgba = context.getImageData(0, 0, width, strip).data;
    for (let i = 3; i < rgba.length; i += 4) {
      if (rgba[i] < 255) return true;
    }
  }
  return false;
}

/**
 * The note for the patient, when the image has transparent pixels.
 * @param {ImageBitmap} bitmap
 * @returns {string[]}
 */
export function transparencyNotes(bitmap) {
  return hasTransparentPixels(bitmap) ? [TRANSPARENT_NOTE] : [];
}
