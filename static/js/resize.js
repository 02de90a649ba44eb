/**
 * Image resizing in plain typed arrays that reproduces the float32 `cv2.resize` used by
 * trainer/preprocess.py (OpenCV 5, x86 wheel). Browser canvas scaling is never used for
 * model input: it differs from OpenCV by up to 28 grey levels.
 *
 * Images are interleaved (row-major, `channels` values per pixel). Values are not rounded.
 * Every float32 operation of the C++ code is mirrored with Math.fround, so that:
 * - `resizeArea` is bit-exact with cv2.INTER_AREA for any shrink factor;
 * - `resizeBilinear` matches cv2.INTER_LINEAR on float32 within ~1e-4 grey levels (the wheel
 *   routes this case to Intel IPP, whose last-bit rounding is not fully reproducible).
 */

const f32 = Math.fround;

/**
 * @typedef {object} Image
 * @property {ArrayLike<number>} data interleaved pixel values
 * @property {number} width
 * @property {number} height
 * @property {number} channels values per pixel
 */

/**
 * One source-to-destination weight of an area-resize table (OpenCV `DecimateAlpha`).
 * @typedef {{di: number, si: number, alpha: number}} AreaWeight
 */

/**
 * The 1-D area weights of OpenCV's `computeResizeAreaTab`, in the same order.
 * @param {number} srcSize
 * @param {number} dstSize
 * @param {number} scale source pixels per destination pixel (>= 1)
 * @returns {AreaWeight[]}
 */
function areaTable(srcSize, dstSize, scale) {
  const table = [];
  for (let d = 0; d < dstSize; d++) {
    const fs1 = d * scale;
    const fs2 = fs1 + scale;
    const cellWidth = Math.min(scale, srcSize - fs1);
    const s2 = Math.min(Math.floor(fs2), srcSize - 1);
    const s1 = Math.min(Math.ceil(fs1), s2);
    if (s1 - fs1 > 1e-3) {
      table.push({ di: d, si: s1 - 1, alpha: f32((s1 - fs1) / cellWidth) });
    }
    for (let s = s1; s < s2; s++) {
      table.push({ di: d, si: s, alpha: f32(1.0 / cellWidth) });
    }
    if (fs2 - s2 > 1e-3) {
      table.push({ di: d, si: s2, alpha: f32(Math.min(fs2 - s2, 1.0, cellWidth) / cellWidth) });
    }
  }
  return table;
}

/**
 * OpenCV's `is_area_fast` shortcut: both scales are whole numbers, so each output pixel is
 * the plain mean of an `sx` by `sy` block. The block sum of 8-bit values is an exact integer
 * in float32 (below 2^24) for any image a browser canvas can hold, so order does not matter.
 * @param {Image} src
 * @param {number} dstW
 * @param {number} dstH
 * @param {number} sx
 * @param {number} sy
 * @returns {Float32Array}
 */
function resizeAreaWhole(src, dstW, dstH, sx, sy) {
  const { data, width, channels: cn } = src;
  const out = new Float32Array(dstW * dstH * cn);
  const inverseArea = f32(1 / (sx * sy));
  for (let dy = 0; dy < dstH; dy++) {
    for (let dx = 0; dx < dstW; dx++) {
      for (let c = 0; c < cn; c++) {
        let sum = 0;
        for (let y = dy * sy; y < (dy + 1) * sy; y++) {
          const row = y * width;
          for (let x = dx * sx; x < (dx + 1) * sx; x++) sum += data[(row + x) * cn + c];
        }
        out[(dy * dstW + dx) * cn + c] = f32(sum * inverseArea);
      }
    }
  }
  return out;
}

/**
 * Shrink with area averaging, exactly like cv2.resize(float32, INTER_AREA): each output pixel
 * is the overlap-weighted mean of the source pixels under it. Separable, O(width * height).
 * @param {Image} src must be at least as large as the output in both directions
 * @param {number} dstW
 * @param {number} dstH
 * @returns {Float32Array} dstH * dstW * channels values
 */
export function resizeArea(src, dstW, dstH) {
  const { data, width, height, channels: cn } = src;
  if (width < dstW || height < dstH) throw new RangeError('resizeArea only shrinks');
  if (width === dstW && height === dstH) return Float32Array.from(data);
  // OpenCV derives the scale as 1 / (dst / src), in double precision; so must we.
  const scaleX = 1 / (dstW / width);
  const scaleY = 1 / (dstH / height);
  const wholeX = Math.round(scaleX);
  const wholeY = Math.round(scaleY);
  if (Math.abs(scaleX - wholeX) < Number.EPSILON && Math.abs(scaleY - wholeY) < Number.EPSILON) {
    return resizeAreaWhole(src, dstW, dstH, wholeX, wholeY);
  }

  // Horizontal pass: every source row to dstW columns (float32 accumulation, table order).
  const xTable = areaTable(width, dstW, scaleX);
  const rowLength = dstW * cn;
  const rows = new Float32Array(height * rowLength);
  for (let y = 0; y < height; y++) {
    const inRow = y * width * cn;
    const outRow = y * rowLength;
    for (const { di, si, alpha } of xTable) {
      for (let c = 0; c < cn; c++) {
        rows[outRow + di * cn + c] += f32(data[inRow + si * cn + c] * alpha);
      }
    }
  }

  // Vertical pass: weighted sum of rows, flushed when the destination row changes.
  const out = new Float32Array(dstH * rowLength);
  const sum = new Float32Array(rowLength);
  const yTable = areaTable(height, dstH, scaleY);
  let previousRow = yTable[0].di;
  for (const { di, si, alpha } of yTable) {
    const row = si * rowLength;
    if (di !== previousRow) {
      out.set(sum, previousRow * rowLength);
      for (let i = 0; i < rowLength; i++) sum[i] = f32(alpha * rows[row + i]);
      previousRow = di;
    } else {
      for (let i = 0; i < rowLength; i++) sum[i] += f32(alpha * rows[row + i]);
    }
  }
  out.set(sum, previousRow * rowLength);
  return out;
}

/**
 * Sample positions for bilinear resizing along one axis: half-pixel centres, clamped to the
 * edge pixels (border replicate).
 * @param {number} srcSize
 * @param {number} dstSize
 * @returns {{lower: Int32Array, upper: Int32Array, weight: Float32Array}}
 */
function bilinearTable(srcSize, dstSize) {
  const lower = new Int32Array(dstSize);
  const upper = new Int32Array(dstSize);
  const weight = new Float32Array(dstSize);
  const scale = srcSize / dstSize;
  for (let d = 0; d < dstSize; d++) {
    const position = (d + 0.5) * scale - 0.5;
    const s = Math.floor(position);
    if (s < 0 || s >= srcSize - 1) {
      lower[d] = upper[d] = Math.min(Math.max(s, 0), srcSize - 1);
    } else {
      lower[d] = s;
      upper[d] = s + 1;
      weight[d] = position - s;
    }
  }
  return { lower, upper, weight };
}

/**
 * `a + (b - a) * t` in float32 with a fused multiply-add, as IPP computes it.
 * @param {number} a
 * @param {number} b
 * @param {number} t
 * @returns {number}
 */
function lerp(a, b, t) {
  return f32(a + f32(b - a) * t);
}

/**
 * Bilinear resize with half-pixel centres and edge clamping, like cv2.resize(float32,
 * INTER_LINEAR): rows first, then columns. Works for any sizes (enlarging or shrinking).
 * @param {Image} src
 * @param {number} dstW
 * @param {number} dstH
 * @returns {Float32Array} dstH * dstW * channels values
 */
export function resizeBilinear(src, dstW, dstH) {
  const { data, width, height, channels: cn } = src;
  const xs = bilinearTable(width, dstW);
  const ys = bilinearTable(height, dstH);
  const rowLength = dstW * cn;

  const rows = new Float32Array(height * rowLength);
  for (let y = 0; y < height; y++) {
    const inRow = y * width * cn;
    for (let dx = 0; dx < dstW; dx++) {
      const a = inRow + xs.lower[dx] * cn;
      const b = inRow + xs.upper[dx] * cn;
      for (let c = 0; c < cn; c++) {
        rows[y * rowLength + dx * cn + c] = lerp(data[a + c], data[b + c], xs.weight[dx]);
      }
    }
  }

  const out = new Float32Array(dstH * rowLength);
  for (let dy = 0; dy < dstH; dy++) {
    const a = ys.lower[dy] * rowLength;
    const b = ys.upper[dy] * rowLength;
    const t = ys.weight[dy];
    for (let i = 0; i < rowLength; i++) out[dy * rowLength + i] = lerp(rows[a + i], rows[b + i], t);
  }
  return out;
}
