/**
 * Page wiring: load the manifest and model, then classify each chosen file in the browser.
 *
 * Debug/test hook `window.lesionApp`: backend (TF.js backend name), inputSize ({width, height}),
 * and after each prediction lastInput (Float32Array, height*width*3 RGB model input),
 * lastProbabilities (number[], manifest class order) and lastCropBox ({x, y, width, height}).
 */

import { assess } from './decision.js';
import { fetchManifest, loadClassifier } from './model.js';
import { createPreprocessor, ImageDecodeError } from './preprocess.js';
import {
  clearError,
  renderResults,
  setModelState,
  setResultsState,
  showError,
  showPreview,
} from './ui.js';

const lesionApp = {
  backend: null,
  inputSize: null,
  lastInput: null,
  lastProbabilities: null,
  lastCropBox: null,
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
  setModelState('ready', 'Model ready. Choose a photo: it is analysed on this device.');
  return { manifest, preprocessor, classifier };
}

const ready = start();
ready.catch((error) => {
  console.error(error);
  setModelState('error', `The model could not be loaded: ${error.message}`);
});

let latestRequest = 0;

/**
 * Classify one file and show the result; a newer file supersedes an older one still running.
 * @param {File} file
 */
async function classify(file) {
  const request = ++latestRequest;
  setResultsState('working');
  try {
    const { manifest, preprocessor, classifier } = await ready;
    const { input, box } = await preprocessor.fromFile(file);
    const probabilities = classifier.predict(input);
    if (request !== latestRequest) return;
    Object.assign(lesionApp, {
      lastInput: input,
      lastProbabilities: probabilities,
      lastCropBox: box,
    });
    showPreview(input, preprocessor.width, preprocessor.height);
    const assessment = assess(manifest.classes, probabilities, manifest.decision);
    renderResults(manifest.classes, probabilities, assessment);
    clearError();
  } catch (error) {
    if (request !== latestRequest) return;
    if (!(error instanceof ImageDecodeError)) console.error(error);
    setResultsState('error');
    showError(
      error instanceof ImageDecodeError
        ? `${file.name}: ${error.message}`
        : `Sorry, this photo could not be analysed: ${error.message}`,
    );
  }
}

const input = document.getElementById('image-input');
input.addEventListener('change', () => {
  const [file] = input.files;
  if (file) classify(file);
});
