/**
 * Page wiring: load the manifest and model, take a photo in (file, drop, paste or camera), let
 * the patient frame the spot, and classify the framed crop in the browser.
 *
 * Debug/test hook `window.lesionApp`: backend (TF.js backend name), inputSize ({width, height}),
 * readyMs (page start to model ready), and after each prediction lastInput (Float32Array,
 * height*width*3 RGB model input), lastProbabilities (number[], the model's, manifest class order),
 * lastOtherViews (number[][], the model's for the photo's other views: model.js classify),
 * lastShownProbabilities (the ones shown: decision.js shownProbabilities),
 * lastOodScore (the model's out-of-distribution score, or null for a model without one),
 * lastCropBox ({x, y, width, height}), lastStatistics and lastWarnings (photo checks),
 * lastAssessment (decision.js: tier, judged, …; null without decision rules),
 * lastTiming ({totalMs}: photo chosen, or frame changed, to result shown) and predictions (count).
 */

import { assess } from './decision.js';
import { inspectFile } from './file-kinds.js';
import { setUpFraming } from './framing.js';
import { setUpCamera } from './camera.js';
import { imageStatistics, photoWarnings } from './image-checks.js';
import { fetchManifest, loadClassifier } from './model.js';
import { createPreprocessor, decodeImage, ImageDecodeError } from './preprocess.js';
import { clearSaliency, explainTopClass, setUpSaliency } from './saliency.js';
import { setUpSources } from './sources.js';
import { transparencyNotes } from './transparency.js';
import {
  renderResults,
  revealResults,
  setModelState,
  setResultsState,
  setUpModelOutput,
  showAlert,
  showPreview,
} from './ui.js';

/** Re-classify this long after the last frame move. */
const REFRAME_DELAY_MS = 250;

const lesionApp = {
  backend: null,
  inputSize: null,
  readyMs: null,
  lastInput: null,
  lastProbabilities: null,
  lastShownProbabilities: null,
  lastOodScore: null,
  lastCropBox: null,
  lastStatistics: null,
  lastWarnings: null,
  lastAssessment: null,
  lastTiming: null,
  predictions: 0,
};
window.lesionApp = lesionApp;

/** Load everything the page needs before it can classify. */
async function start() {
  setModelState('loading', 'Loading the model…');
  const manifest = await fetchManifest();
  const preprocessor = createPreprocessor(manifest.preprocessing);
  lesionApp.inputSize = { width: preprocessor.width, height: preprocessor.height };
  const classifier = await loadClassifier(manifest, preprocessor);
  lesionApp.backend = classifier.backend;
  lesionApp.readyMs = performance.now();
  setModelState('ready', 'Ready. Add a photo: it is analysed on this device and never uploaded.');
  return { manifest, preprocessor, classifier };
}

const ready = start();
ready.catch((error) => {
  console.error(error);
  setModelState('error', `The model could not be loaded: ${error.message}`);
});

/** The photo being framed: its decoded bitmap and what the file check had to say about it. */
let current = /** @type {null | {bitmap: ImageBitmap, notes: string[]}} */ (null);
let latestRequest = 0;
let reframeTimer = 0;

/**
 * A note for photos too small to show a lesion: the model input is then an enlargement.
 * @param {ImageBitmap} bitmap
 * @param {{width: number, height: number}} size model input size
 * @returns {string[]}
 */
function sizeNotes(bitmap, size) {
  if (bitmap.width >= size.width && bitmap.height >= size.height) return [];
  return [
    `This image is only ${bitmap.width}×${bitmap.height} pixels: too small to show a skin ` +
      `lesion, so the result below is not useful. Please use a close-up photo of at least ` +
      `${size.width}×${size.height} pixels.`,
  ];
}

/**
 * Classify the current photo inside a box and show everything.
 * @param {import('./preprocess.js').CropBox} box
 * @param {number} startedAt performance.now() when the user acted
 */
async function classifyBox(box, startedAt) {
  const { manifest, preprocessor, classifier } = await ready;
  const input = preprocessor.fromBitmap(current.bitmap, box);
  const { probabilities, otherViews, oodScore, clinicalProbability } = classifier.classify(input);
  const statistics = imageStatistics(input, preprocessor.width, preprocessor.height);
  const warnings = photoWarnings(statistics, manifest.decision?.image_checks);
  showPreview(input, preprocessor.width, preprocessor.height);
  const assessment = assess(manifest.classes, probabilities, manifest.decision, {
    photoChecksFailed: warnings.length > 0,
    oodScore,
    clinicalProbability,
    otherViews,
  });
  const shown = assessment?.probabilities ?? probabilities;
  renderResults(manifest.classes, shown, assessment, manifest.decision, warnings.length);
  // A photo the model cannot judge gets no map: it would name the top class.
  if (assessment?.judged !== false) {
    const request = latestRequest;
    const isCurrent = () => request === latestRequest;
    explainTopClass(
      classifier.model,
      input,
      preprocessor,
      manifest.classes,
      probabilities,
      shown,
      isCurrent,
    ).catch((error) => console.error(error));
  }

  const messages = [...current.notes];
  if (warnings.length) {
    messages.push(
      'This photo does not look like the close-up skin images the model learnt from: ' +
        `${warnings.map((w) => w.message).join('; ')}. So the model does not judge it.`,
    );
  }
  showAlert('warning', messages);
  Object.assign(lesionApp, {
    lastInput: input,
    lastProbabilities: probabilities,
    lastOtherViews: otherViews,
    lastShownProbabilities: shown,
    lastOodScore: oodScore,
    lastClinicalProbability: clinicalProbability,
    lastCropBox: { ...box },
    lastStatistics: statistics,
    lastWarnings: warnings,
    lastAssessment: assessment,
    lastTiming: { totalMs: performance.now() - startedAt },
    predictions: lesionApp.predictions + 1,
  });
}

/**
 * Check and decode a photo file.
 * @param {File} file
 * @returns {Promise<{bitmap: ImageBitmap, notes: string[]}>}
 */
async function openFile(file) {
  const kind = await inspectFile(file);
  if (kind.refusal) throw new ImageDecodeError(kind.refusal);
  let bitmap;
  try {
    bitmap = await decodeImage(file);
  } catch (error) {
    throw error instanceof ImageDecodeError ? new ImageDecodeError(kind.decodeFailure) : error;
  }
  const notes = kind.mayHaveAlpha ? [...kind.notes, ...transparencyNotes(bitmap)] : kind.notes;
  return { bitmap, notes };
}

/**
 * A camera frame: pixels already decoded, checked for transparency like any photo.
 * @param {Promise<ImageBitmap>} frame
 * @returns {Promise<{bitmap: ImageBitmap, notes: string[]}>}
 */
async function openFrame(frame) {
  const bitmap = await frame;
  return { bitmap, notes: transparencyNotes(bitmap) };
}

/**
 * Show a new photo, classify it with the default frame, and bring the result into view.
 * @param {Promise<{bitmap: ImageBitmap, notes: string[]}>} opened from openFile or openFrame
 */
async function takePhoto(opened) {
  const startedAt = performance.now();
  const request = ++latestRequest;
  clearTimeout(reframeTimer);
  setResultsState('working');
  clearSaliency();
  try {
    const { bitmap, notes } = await opened;
    const { preprocessor } = await ready;
    if (request !== latestRequest) {
      bitmap.close();
      return;
    }
    current?.bitmap.close();
    current = { bitmap, notes: [...notes, ...sizeNotes(bitmap, preprocessor)] };
    const box = framing.show(bitmap);
    await classifyBox(box, startedAt);
    if (request === latestRequest) revealResults();
  } catch (error) {
    if (request !== latestRequest) return;
    fail(error);
  }
}

/** @param {unknown} error */
function fail(error) {
  const known = error instanceof ImageDecodeError;
  if (!known) console.error(error);
  current?.bitmap.close();
  current = null;
  framing.hide();
  setResultsState('error');
  const message = error instanceof Error ? error.message : String(error);
  showAlert('error', [known ? message : `Sorry, this photo could not be analysed: ${message}`]);
}

/**
 * Re-classify after the frame moved, once the user pauses (or at once for the button).
 * @param {number} delay
 */
function reframe(delay) {
  if (!current) return;
  const startedAt = performance.now();
  const request = ++latestRequest;
  clearTimeout(reframeTimer);
  setResultsState('working');
  clearSaliency();
  reframeTimer = setTimeout(() => {
    if (request !== latestRequest || !current) return;
    classifyBox(framing.box(), startedAt).catch(fail);
  }, delay);
}

const framing = setUpFraming(() => reframe(REFRAME_DELAY_MS));
document.getElementById('frame-analyse').addEventListener('click', () => reframe(0));
setUpModelOutput();
setUpSources({
  onFile: (file) => takePhoto(openFile(file)),
  onProblem: (message) => {
    if (message) showAlert('error', [message]);
  },
});
setUpCamera((frame) => takePhoto(openFrame(frame)));
setUpSaliency();
