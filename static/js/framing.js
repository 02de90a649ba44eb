/**
 * The framing step: the whole photo with a movable, resizable 3:4 frame. The frame starts as the
 * default centre crop (preprocess.js `centreCropBox`, so the default prediction equals Python's)
 * and is kept as an integer box inside the image, which is what the model crops.
 *
 * Controls: drag the frame; drag its corner handle, use the size slider, Ctrl + mouse wheel or a
 * two-finger pinch to resize; with the frame focused, arrow keys move it (Shift: faster), + and -
 * resize it, and 0 or Home resets it.
 */

import { centreCropBox } from './preprocess.js';

/** Longest side of the on-screen copy of the photo, in canvas pixels. */
const DISPLAY_MAX = 1200;
/** Smallest frame, as a percentage of the largest one. */
const MIN_PERCENT = 15;

/** @typedef {import('./preprocess.js').CropBox} CropBox */

/**
 * @param {number} value
 * @param {number} low
 * @param {number} high
 * @returns {number}
 */
function clamp(value, low, high) {
  return Math.min(Math.max(value, low), high);
}

/**
 * Wire the framing controls.
 * @param {(box: CropBox, reason: 'user') => void} onChange called whenever the user moves or
 *   resizes the frame
 * @returns {{show: (bitmap: ImageBitmap) => CropBox, box: () => CropBox, hide: () => void}}
 */
export function setUpFraming(onChange) {
  const section = document.getElementById('framing');
  const stage = document.getElementById('frame-stage');
  const canvas = /** @type {HTMLCanvasElement} */ (document.getElementById('photo'));
  const frame = document.getElementById('frame');
  const handle = document.getElementById('frame-handle');
  const size = /** @type {HTMLInputElement} */ (document.getElementById('frame-size'));
  const reset = document.getElementById('frame-reset');

  let imageWidth = 1;
  let imageHeight = 1;
  /** @type {CropBox} */
  let full = { x: 0, y: 0, width: 1, height: 1 };
  /** @type {CropBox} */
  let box = full;

  function draw() {
    frame.style.left = `${(100 * box.x) / imageWidth}%`;
    frame.style.top = `${(100 * box.y) / imageHeight}%`;
    frame.style.width = `${(100 * box.width) / imageWidth}%`;
    frame.style.height = `${(100 * box.height) / imageHeight}%`;
    const percent = Math.round((100 * box.width) / full.width);
    size.value = String(percent);
    size.setAttribute('aria-valuetext', `${percent}% of the largest frame`);
    frame.dataset.box = `${box.x},${box.y},${box.width},${box.height}`;
  }

  /** @param {CropBox} next */
  function update(next) {
    const unchanged = ['x', 'y', 'width', 'height'].every((k) => next[k] === box[k]);
    box = next;
    draw();
    if (!unchanged) onChange(box, 'user');
  }

  /**
   * Move the frame's top-left corner to (x, y) image pixels, kept inside the photo.
   * @param {number} x
   * @param {number} y
   */
  function moveTo(x, y) {
    update({
      ...box,
      x: clamp(Math.round(x), 0, imageWidth - box.width),
      y: clamp(Math.round(y), 0, imageHeight - box.height),
    });
  }

  /**
   * Resize to `percent` of the largest frame, keeping the centre where possible.
   * @param {number} percent
   */
  function resizeTo(percent) {
    const scale = clamp(percent, MIN_PERCENT, 100) / 100;
    const width = Math.max(1, Math.round(full.width * scale));
    const height = Math.max(1, Math.round(full.height * scale));
    if (scale === 1) {
      update({ ...full });
      return;
    }
    const cx = box.x + box.width / 2;
    const cy = box.y + box.height / 2;
    update({
      width,
      height,
      x: clamp(Math.round(cx - width / 2), 0, imageWidth - width),
      y: clamp(Math.round(cy - height / 2), 0, imageHeight - height),
    });
  }

  /** Image pixels per CSS pixel of the displayed photo. */
  function pixelScale() {
    return imageWidth / (canvas.getBoundingClientRect().width || 1);
  }

  // Pointer gestures: one pointer on the frame drags it, one on the handle resizes it, two
  // anywhere on the stage pinch.
  /** @type {Map<number, {x: number, y: number}>} */
  const pointers = new Map();
  /**
   * @type {null | {mode: 'move' | 'resize' | 'pinch', x: number, y: number, box: CropBox,
   *   distance: number}}
   */
  let gesture = null;

  function pinchDistance() {
    const [a, b] = [...pointers.values()];
    return Math.hypot(a.x - b.x, a.y - b.y) || 1;
  }

  stage.addEventListener('pointerdown', (event) => {
    pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
    if (pointers.size === 2) {
      gesture = { mode: 'pinch', x: 0, y: 0, box: { ...box }, distance: pinchDistance() };
    } else if (event.target === handle || event.target === frame) {
      const mode = event.target === handle ? 'resize' : 'move';
      gesture = { mode, x: event.clientX, y: event.clientY, box: { ...box }, distance: 0 };
      frame.focus({ preventScroll: true });
    } else {
      return;
    }
    stage.setPointerCapture(event.pointerId);
    event.preventDefault();
  });

  stage.addEventListener('pointermove', (event) => {
    if (!pointers.has(event.pointerId) || !gesture) return;
    pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
    const scale = pixelScale();
    const start = gesture.box;
    if (gesture.mode === 'move') {
      moveTo(
        start.x + (event.clientX - gesture.x) * scale,
        start.y + (event.clientY - gesture.y) * scale,
      );
    } else if (gesture.mode === 'resize') {
      const dx = event.clientX - gesture.x;
      const grow = Math.max(dx, ((event.clientY - gesture.y) * 4) / 3) * scale;
      resizeTo((100 * (start.width + 2 * grow)) / full.width);
    } else if (pointers.size === 2) {
      resizeTo((100 * start.width * (pinchDistance() / gesture.distance)) / full.width);
    }
  });

  for (const type of ['pointerup', 'pointercancel']) {
    stage.addEventListener(type, (event) => {
      pointers.delete(event.pointerId);
      if (pointers.size === 0) gesture = null;
    });
  }

  // Ctrl + wheel (also what a trackpad pinch sends) resizes; a plain wheel still scrolls the page.
  stage.addEventListener(
    'wheel',
    (event) => {
      if (!event.ctrlKey) return;
      event.preventDefault();
      resizeTo((100 * box.width) / full.width - Math.sign(event.deltaY) * 5);
    },
    { passive: false },
  );

  frame.addEventListener('keydown', (event) => {
    const step = Math.max(1, Math.round((event.shiftKey ? 0.1 : 0.02) * full.width));
    const moves = {
      ArrowLeft: [-step, 0],
      ArrowRight: [step, 0],
      ArrowUp: [0, -step],
      ArrowDown: [0, step],
    };
    const percent = (100 * box.width) / full.width;
    if (event.key in moves) {
      const [dx, dy] = moves[event.key];
      moveTo(box.x + dx, box.y + dy);
    } else if (event.key === '+' || event.key === '=') {
      resizeTo(percent + 5);
    } else if (event.key === '-' || event.key === '_') {
      resizeTo(percent - 5);
    } else if (event.key === '0' || event.key === 'Home') {
      update({ ...full });
    } else {
      return;
    }
    event.preventDefault();
  });

  size.addEventListener('input', () => resizeTo(Number(size.value)));
  reset.addEventListener('click', () => update({ ...full }));

  /**
   * Show a new photo with the default frame; returns that frame (no onChange call).
   * @param {ImageBitmap} bitmap
   * @returns {CropBox}
   */
  function show(bitmap) {
    imageWidth = bitmap.width;
    imageHeight = bitmap.height;
    const shrink = Math.min(1, DISPLAY_MAX / Math.max(imageWidth, imageHeight));
    canvas.width = Math.max(1, Math.round(imageWidth * shrink));
    canvas.height = Math.max(1, Math.round(imageHeight * shrink));
    const context = canvas.getContext('2d');
    context.imageSmoothingEnabled = shrink < 1;
    context.imageSmoothingQuality = 'high';
    context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    stage.classList.toggle('tall', imageHeight > imageWidth);
    full = centreCropBox(imageWidth, imageHeight);
    box = { ...full };
    size.min = String(MIN_PERCENT);
    draw();
    section.hidden = false;
    return box;
  }

  function hide() {
    section.hidden = true;
  }

  return { show, box: () => box, hide };
}
