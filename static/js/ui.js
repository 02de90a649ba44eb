/**
 * DOM rendering for the classifier page. Test hooks (keep stable):
 * - `body[data-model-state]`: "loading", "ready" or "error";
 * - `#results[data-state]`: "idle", "working", "done" or "error";
 * - one `#results [data-class][data-probability]` row per class when done, most likely first;
 * - `#alert[role=alert]` with `data-level` "error" (the photo was refused) or "warning" (it was
 *   analysed, with caveats); empty and hidden when there is nothing to say;
 * - `#results[data-urgent]`, `#results[data-uncertain]`: "true"/"false" when the manifest has
 *   decision rules (see decision.js), absent otherwise; `#results[data-photo-warnings]`: count.
 */

const byId = (id) => document.getElementById(id);

/**
 * @param {'loading' | 'ready' | 'error'} state
 * @param {string} message shown in the status line
 */
export function setModelState(state, message) {
  document.body.dataset.modelState = state;
  byId('model-status').textContent = message;
}

/** @param {'idle' | 'working' | 'done' | 'error'} state */
export function setResultsState(state) {
  const results = byId('results');
  results.dataset.state = state;
  results.setAttribute('aria-busy', String(state === 'working'));
  if (state === 'error') results.hidden = true;
}

/**
 * Show messages about the photo in the alert element, or hide it when there are none.
 * @param {'error' | 'warning'} level
 * @param {string[]} messages
 */
export function showAlert(level, messages) {
  const alert = byId('alert');
  alert.dataset.level = level;
  const title = document.createElement('strong');
  title.textContent = level === 'error' ? 'This photo could not be used. ' : 'Please note: ';
  const items = messages.map((message) => {
    const item = document.createElement('p');
    item.textContent = message;
    return item;
  });
  alert.replaceChildren(...(messages.length ? [title, ...items] : []));
  alert.hidden = messages.length === 0;
}

/**
 * Probability as a percentage for people: one decimal, "<0.1%" for tiny values.
 * @param {number} p
 * @returns {string}
 */
export function formatPercent(p) {
  return p < 0.0005 ? '<0.1%' : `${(p * 100).toFixed(1)}%`;
}

/**
 * One bar-chart row: name (linked to its description), cancer/benign label, percentage, bar and
 * one line of explanation. Colour is never the only signal: the label and the number say it too.
 * @param {{code: string, name: string, summary: string, malignant: boolean}} lesion
 * @param {number} p
 * @returns {HTMLLIElement}
 */
function resultRow(lesion, p) {
  const row = document.createElement('li');
  row.className = `result ${lesion.malignant ? 'malignant' : 'benign'}`;
  row.dataset.class = lesion.code;
  row.dataset.probability = p.toPrecision(8);

  const head = document.createElement('div');
  head.className = 'result-head';
  const name = document.createElement('a');
  name.className = 'result-name';
  name.href = `/classes#${lesion.code}`;
  name.textContent = lesion.name;
  const badge = document.createElement('span');
  badge.className = `badge ${lesion.malignant ? 'malignant' : 'benign'}`;
  badge.textContent = lesion.malignant ? 'skin cancer' : 'benign';
  const percent = document.createElement('span');
  percent.className = 'result-percent';
  percent.textContent = formatPercent(p);
  head.append(name, ' ', badge, percent);

  const bar = document.createElement('div');
  bar.className = 'bar';
  bar.setAttribute('aria-hidden', 'true');
  const fill = document.createElement('span');
  fill.className = 'bar-fill';
  fill.style.width = `${Math.max(0, Math.min(100, p * 100))}%`;
  bar.append(fill);

  const summary = document.createElement('p');
  summary.className = 'result-summary';
  summary.textContent = lesion.summary;

  row.append(head, bar, summary);
  return row;
}

/**
 * @typedef {object} Verdict
 * @property {string} headline
 * @property {string} detail
 * @property {string} guidance what to do, by risk
 * @property {boolean} urgent
 */

/**
 * What to tell the patient: a named type only when the model is confident, and advice by risk.
 * Never an all-clear: a photo cannot rule out skin cancer.
 * @param {{lesion: {name: string, advice: string}, p: number}} top
 * @param {import('./decision.js').Assessment | null} assessment
 * @param {object | undefined} decision the manifest's decision block
 * @param {Array<{name: string, urgent: boolean}>} classes
 * @returns {Verdict}
 */
export function verdict(top, assessment, decision, classes) {
  const cancers = classes.filter((c) => c.urgent).map((c) => c.name.toLowerCase());
  const uncertain = Boolean(assessment?.uncertain);
  const headline = uncertain
    ? 'The model is unsure about this photo'
    : `Most similar to: ${top.lesion.name} (${formatPercent(top.p)})`;
  const detail = uncertain
    ? `No lesion type reaches ${formatPercent(decision.uncertain_below)}. Below that level the ` +
      'model was too often wrong on the photos it was checked on, so it does not name a type. ' +
      'A sharper, closer photo with the spot in the centre of the frame may help.'
    : top.lesion.advice;
  let guidance;
  if (assessment?.urgent) {
    guidance =
      'Please see a dermatologist promptly. The model gives skin-cancer types ' +
      `(${cancers.join(', ')}) a combined ${formatPercent(assessment.urgentProbability)}, ` +
      'which is high enough to have this spot examined soon. Do not wait to see whether it ' +
      'changes.';
  } else {
    const share = assessment ? ` (together ${formatPercent(assessment.urgentProbability)})` : '';
    guidance =
      `The model sees no strong sign of the skin-cancer types it knows${share}, but a photo ` +
      'cannot rule out skin cancer. See a doctor if the spot is new, growing, changing in ' +
      'shape or colour, itching or bleeding, or if it worries you.';
  }
  return { headline, detail, guidance, urgent: Boolean(assessment?.urgent) };
}

/**
 * Show every class with its probability, most likely first, with the verdict and guidance.
 * @param {Array<{code: string, name: string, summary: string, advice: string, malignant: boolean,
 *   urgent: boolean}>} classes manifest order
 * @param {number[]} probabilities same order as classes
 * @param {import('./decision.js').Assessment | null} assessment
 * @param {object | undefined} decision the manifest's decision block
 * @param {number} photoWarnings how many photo checks failed
 */
export function renderResults(classes, probabilities, assessment, decision, photoWarnings) {
  const ranked = classes
    .map((lesion, i) => ({ lesion, p: probabilities[i] }))
    .sort((a, b) => b.p - a.p);
  byId('result-list').replaceChildren(...ranked.map(({ lesion, p }) => resultRow(lesion, p)));

  const said = verdict(ranked[0], assessment, decision, classes);
  byId('verdict').textContent = said.headline;
  byId('verdict-detail').textContent = said.detail;
  const guidance = byId('guidance');
  guidance.textContent = said.guidance;
  guidance.classList.toggle('urgent', said.urgent);
  byId('guidance-label').textContent = said.urgent ? 'Important' : 'What to do';

  const results = byId('results');
  if (assessment) {
    results.dataset.urgent = String(assessment.urgent);
    results.dataset.uncertain = String(assessment.uncertain);
  } else {
    delete results.dataset.urgent;
    delete results.dataset.uncertain;
  }
  results.dataset.photoWarnings = String(photoWarnings);
  results.hidden = false;
  setResultsState('done');

  const caveat = photoWarnings ? ' The photo may not suit the model: see the note above.' : '';
  announce(`Result: ${said.headline}. ${said.guidance}${caveat}`);
}

/**
 * Read a short sentence to screen-reader users (polite live region).
 * @param {string} message
 */
export function announce(message) {
  byId('announcer').textContent = message;
}

/**
 * Draw the model input (float RGB, 0..255) so the user sees exactly what is classified.
 * @param {Float32Array} input
 * @param {number} width
 * @param {number} height
 */
export function showPreview(input, width, height) {
  const canvas = /** @type {HTMLCanvasElement} */ (byId('preview'));
  canvas.width = width;
  canvas.height = height;
  const image = new ImageData(width, height);
  for (let i = 0, j = 0; i < input.length; i += 3, j += 4) {
    image.data[j] = input[i];
    image.data[j + 1] = input[i + 1];
    image.data[j + 2] = input[i + 2];
    image.data[j + 3] = 255;
  }
  canvas.getContext('2d').putImageData(image, 0, 0);
}
