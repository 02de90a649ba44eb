/**
 * DOM rendering for the classifier page. Test hooks (keep stable):
 * - `body[data-model-state]`: "loading", "ready" or "error";
 * - `#results[data-state]`: "idle", "working", "done" or "error";
 * - one `#results [data-class][data-probability]` row per class when done;
 * - `#error[role=alert]`: the message of the last failure, empty after a success;
 * - `#results[data-urgent]`, `#results[data-uncertain]`: "true"/"false" when the manifest has
 *   decision rules (see decision.js), absent otherwise.
 */

const elements = {
  status: () => document.getElementById('model-status'),
  error: () => document.getElementById('error'),
  results: () => document.getElementById('results'),
  list: () => document.getElementById('result-list'),
  topClass: () => document.getElementById('top-class'),
  topAdvice: () => document.getElementById('top-advice'),
  assessment: () => document.getElementById('assessment'),
  preview: () => document.getElementById('preview'),
};

/**
 * @param {'loading' | 'ready' | 'error'} state
 * @param {string} message shown in the status line
 */
export function setModelState(state, message) {
  document.body.dataset.modelState = state;
  elements.status().textContent = message;
}

/** @param {'idle' | 'working' | 'done' | 'error'} state */
export function setResultsState(state) {
  const results = elements.results();
  results.dataset.state = state;
  results.setAttribute('aria-busy', String(state === 'working'));
  if (state === 'error') results.hidden = true;
}

/** @param {string} message */
export function showError(message) {
  const error = elements.error();
  error.textContent = message;
  error.hidden = false;
}

export function clearError() {
  const error = elements.error();
  error.textContent = '';
  error.hidden = true;
}

/**
 * Probability as a percentage for people: one decimal, "<0.1%" for tiny values.
 * @param {number} p
 * @returns {string}
 */
function formatPercent(p) {
  return p < 0.0005 ? '<0.1%' : `${(p * 100).toFixed(1)}%`;
}

/**
 * One result row: name, optional cancer badge, meter and percentage.
 * @param {{code: string, name: string, malignant: boolean}} lesion
 * @param {number} p
 * @returns {HTMLLIElement}
 */
function resultRow(lesion, p) {
  const row = document.createElement('li');
  row.className = 'result';
  row.dataset.class = lesion.code;
  row.dataset.probability = p.toPrecision(8);

  const name = document.createElement('span');
  name.className = 'result-name';
  name.textContent = lesion.name;
  if (lesion.malignant) {
    const badge = document.createElement('span');
    badge.className = 'badge malignant';
    badge.textContent = 'skin cancer';
    name.append(' ', badge);
  }

  const meter = document.createElement('meter');
  meter.min = 0;
  meter.max = 1;
  meter.value = p;
  meter.setAttribute('aria-label', `${lesion.name} probability`);

  const percent = document.createElement('span');
  percent.className = 'result-percent';
  percent.textContent = formatPercent(p);

  row.append(name, meter, percent);
  return row;
}

/**
 * The sentence shown for the manifest's decision rules, or '' when there is nothing to flag.
 * @param {import('./decision.js').Assessment | null} assessment
 * @returns {string}
 */
function assessmentText(assessment) {
  if (assessment?.urgent) {
    return (
      'Possible skin cancer: the cancer types together reach ' +
      `${formatPercent(assessment.urgentProbability)}. ` +
      'Please have this lesion checked by a dermatologist soon.'
    );
  }
  if (assessment?.uncertain) {
    return (
      'The model is unsure about this photo. A sharper close-up may help; ' +
      'if in doubt, see a doctor.'
    );
  }
  return '';
}

/**
 * Show every class with its probability, most likely first, the top class's advice and the
 * decision-rule flags.
 * @param {Array<{code: string, name: string, advice: string, malignant: boolean}>} classes
 *   manifest order
 * @param {number[]} probabilities same order as classes
 * @param {import('./decision.js').Assessment | null} assessment
 */
export function renderResults(classes, probabilities, assessment) {
  const ranked = classes
    .map((lesion, i) => ({ lesion, p: probabilities[i] }))
    .sort((a, b) => b.p - a.p);
  elements.list().replaceChildren(...ranked.map(({ lesion, p }) => resultRow(lesion, p)));
  const [top] = ranked;
  elements.topClass().textContent = `Most similar to: ${top.lesion.name} (${formatPercent(top.p)})`;
  elements.topAdvice().textContent = top.lesion.advice;

  const flag = elements.assessment();
  flag.textContent = assessmentText(assessment);
  flag.hidden = flag.textContent === '';
  flag.classList.toggle('urgent', Boolean(assessment?.urgent));

  const results = elements.results();
  if (assessment) {
    results.dataset.urgent = String(assessment.urgent);
    results.dataset.uncertain = String(assessment.uncertain);
  } else {
    delete results.dataset.urgent;
    delete results.dataset.uncertain;
  }
  results.hidden = false;
  setResultsState('done');
}

/**
 * Draw the model input (float RGB, 0..255) so the user sees exactly what was classified.
 * @param {Float32Array} input
 * @param {number} width
 * @param {number} height
 */
export function showPreview(input, width, height) {
  const canvas = elements.preview();
  canvas.width = width;
  canvas.height = height;
  const image = new ImageData(width, height);
  for (let i = 0, j = 0; i < input.length; i += 3, j += 4) {
    image.data.set([input[i], input[i + 1], input[i + 2], 255], j);
  }
  canvas.getContext('2d').putImageData(image, 0, 0);
}
