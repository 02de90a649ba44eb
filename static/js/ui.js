/**
 * DOM rendering for the classifier page. Test hooks (keep stable):
 * - `body[data-model-state]`: "loading", "ready" or "error";
 * - `#results[data-state]`: "idle", "working", "done" or "error";
 * - one `#results [data-class][data-probability]` row per class when done, most likely first;
 * - `#alert[role=alert]` with `data-level` "error" (the photo was refused) or "warning" (it was
 *   analysed, with caveats); empty and hidden when there is nothing to say;
 * - `#results[data-tier]`: the advice tier, "urgent", "check", "routine" or "not-judged" (see
 *   decision.js), when the manifest has decision rules; absent otherwise;
 * - `#results[data-urgent]`, `#results[data-uncertain]`: "true"/"false" when the manifest has
 *   decision rules, absent otherwise; `#results[data-photo-warnings]`: count;
 * - `#results[data-photo-type]`: "clinical" or "dermoscopic" for a model that tells photo types
 *   apart, absent otherwise; `#photo-type` says it when the photo is judged;
 * - `#show-output[aria-expanded]`: the "show the model's output anyway" control, shown when the
 *   photo cannot be judged; `#model-output` holds the bars.
 */

import { NOT_JUDGED } from './decision.js';

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
  if (state !== 'done') delete results.dataset.tier;
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

const CANNOT_JUDGE_HOW =
  'For a photo it can judge: use daylight or a bright lamp, without flash glare; hold the ' +
  'camera steady, as close as it can focus, with the spot in the middle of the frame; and show ' +
  'only skin, not a screen, paper or a busy background.';

const WATCH_FOR =
  'see a doctor if the spot is new, growing, changing in shape or colour, itching or bleeding, ' +
  'or if it worries you';

/**
 * @typedef {object} Verdict
 * @property {string} headline
 * @property {string} detail
 * @property {string} label heading of the guidance box
 * @property {string} guidance what to do, by tier
 */

/** What the page says about the photo type the model thinks it got (decision.js: photoTypeOf). */
const PHOTO_TYPE_NOTES = {
  clinical:
    'The model takes this for an ordinary close-up photo (not taken through a dermatoscope) and ' +
    'uses the advice levels that were checked on such photos.',
  dermoscopic:
    'The model takes this for a dermatoscope photo (taken through a skin microscope) and uses ' +
    'the advice levels that were checked on such photos.',
};

/**
 * Guidance by advice tier. Only "routine", below every threshold, says that nothing points to
 * cancer; no tier is an all-clear, as a photo cannot rule out skin cancer.
 * @param {import('./decision.js').Assessment} assessment
 * @param {string} cancers the cancer types, for the patient
 * @returns {{label: string, guidance: string}}
 */
function tierGuidance(assessment, cancers) {
  const combined = formatPercent(assessment.urgentProbability);
  const sensitivity = assessment.tierRule?.validation?.sensitivity;
  switch (assessment.tier) {
    case 'urgent':
      return {
        label: 'Important',
        guidance:
          `Please see a dermatologist promptly. The model gives skin-cancer types (${cancers}) ` +
          `a combined ${combined}, which is high enough to have this spot examined soon. Do ` +
          'not wait to see whether it changes.',
      };
    case 'check': {
      if (assessment.raisedByDoubt) {
        return {
          label: 'Have it checked',
          guidance:
            'Please have this spot checked by a doctor in the coming weeks. The model gives ' +
            `skin-cancer types (${cancers}) a combined ${combined}, but it is unsure about this ` +
            'photo, so that low share cannot be taken as reassurance. A photo cannot rule out ' +
            'skin cancer.',
        };
      }
      const level = Number.isFinite(sensitivity)
        ? ` This level was set so that ${Math.round(sensitivity * 100)}% of the skin cancers ` +
          'in the photos the model was checked on reach it.'
        : '';
      return {
        label: 'Have it checked',
        guidance:
          'Please have this spot checked by a doctor in the coming weeks. The model gives ' +
          `skin-cancer types (${cancers}) a combined ${combined}: not enough for urgent advice, ` +
          `but too much to call it nothing.${level} A photo cannot rule out skin cancer.`,
      };
    }
    case 'routine':
      return {
        label: 'What to do',
        guidance:
          'Nothing in this photo points to the skin-cancer types the model knows (together ' +
          `${combined}). But a photo cannot rule out skin cancer: watch the spot for changes ` +
          '(ABCDE: Asymmetry, irregular Border, several Colours, Diameter over 6 mm, Evolving) ' +
          `and ${WATCH_FOR}.`,
      };
    case NOT_JUDGED:
      return {
        label: 'What to do',
        guidance:
          'Take a new photo as described above and try again. Whatever this tool says, ' +
          `${WATCH_FOR}.`,
      };
    default:
      throw new Error(
        `The model manifest names an advice tier this page does not know: ${assessment.tier}`,
      );
  }
}

/**
 * What to tell the patient: a named type only when the model is confident and the photo can be
 * judged, and advice by tier. Never an all-clear: a photo cannot rule out skin cancer.
 * @param {{lesion: {name: string, summary: string, advice: string, malignant: boolean}, p: number}} top
 * @param {import('./decision.js').Assessment | null} assessment
 * @param {object | undefined} decision the manifest's decision block
 * @param {Array<{name: string, urgent: boolean}>} classes
 * @param {number} photoWarnings how many photo checks failed
 * @returns {Verdict}
 */
export function verdict(top, assessment, decision, classes, photoWarnings) {
  const cancers = classes
    .filter((c) => c.urgent)
    .map((c) => c.name.toLowerCase())
    .join(', ');
  if (assessment && !assessment.judged) {
    const why = photoWarnings
      ? 'It does not look like the close-up skin images the model learnt from (see the note above)'
      : 'It looks too unlike the skin photos the model learnt from';
    return {
      headline: 'This photo cannot be judged',
      detail: `${why}, so any answer would be a guess and none is given. ${CANNOT_JUDGE_HOW}`,
      ...tierGuidance(assessment, cancers),
    };
  }
  const uncertain = Boolean(assessment?.uncertain);
  const headline = uncertain
    ? 'The model is unsure about this photo'
    : `Most similar to: ${top.lesion.name} (${formatPercent(top.p)})`;
  let detail = top.lesion.advice;
  if (uncertain) {
    detail =
      `No lesion type reaches ${formatPercent(decision.uncertain_below)}. Below that level the ` +
      'model was too often wrong on the photos it was checked on, so it does not name a type. ' +
      'A sharper, closer photo with the spot in the centre of the frame may help.';
  } else if (assessment && assessment.tier !== 'routine' && !top.lesion.malignant) {
    detail =
      'But the skin-cancer types together reach ' +
      `${formatPercent(assessment.urgentProbability)}: too much to rule them out.`;
  }
  if (!assessment) {
    return {
      headline,
      detail,
      label: 'What to do',
      guidance: `A photo cannot rule out skin cancer: ${WATCH_FOR}.`,
    };
  }
  return { headline, detail, ...tierGuidance(assessment, cancers) };
}

/**
 * Show or hide the bars of a photo that cannot be judged.
 * @param {boolean} shown
 */
function showModelOutput(shown) {
  byId('model-output').hidden = !shown;
  byId('show-output').setAttribute('aria-expanded', String(shown));
  byId('show-output').textContent = shown
    ? "Hide the model's output"
    : "Show the model's output anyway";
}

/** Wire the "show the model's output anyway" control. */
export function setUpModelOutput() {
  const button = byId('show-output');
  button.addEventListener('click', () => {
    showModelOutput(button.getAttribute('aria-expanded') !== 'true');
  });
}

/**
 * Show every class with its probability, most likely first, with the verdict and guidance. For
 * a photo that cannot be judged the bars wait behind the "show the model's output" control.
 * @param {Array<{code: string, name: string, summary: string, advice: string, malignant: boolean,
 *   urgent: boolean}>} classes manifest order
 * @param {number[]} probabilities same order as classes
 * @param {import('./decision.js').Assessment | null} assessment
 * @param {object | undefined} decision the manifest's decision block
 * @param {number} photoWarnings how many photo checks failed
 */
export function renderResults(classes, probabilities, assessment, decision, photoWarnings) {
  const results = byId('results');
  const ranked = classes
    .map((lesion, i) => ({ lesion, p: probabilities[i] }))
    .sort((a, b) => b.p - a.p);
  byId('result-list').replaceChildren(...ranked.map(({ lesion, p }) => resultRow(lesion, p)));

  const said = verdict(ranked[0], assessment, decision, classes, photoWarnings);
  byId('verdict').textContent = said.headline;
  byId('verdict-detail').textContent = said.detail;
  byId('guidance').textContent = said.guidance;
  byId('guidance-label').textContent = said.label;

  const judged = assessment?.judged ?? true;
  const photoType = byId('photo-type');
  photoType.textContent = judged ? (PHOTO_TYPE_NOTES[assessment?.photoType] ?? '') : '';
  photoType.hidden = !photoType.textContent;
  if (assessment?.photoType) results.dataset.photoType = assessment.photoType;
  else delete results.dataset.photoType;
  byId('show-output').hidden = judged;
  byId('output-caveat').hidden = judged;
  showModelOutput(judged);

  if (assessment) {
    results.dataset.tier = assessment.tier;
    results.dataset.urgent = String(assessment.urgent);
    results.dataset.uncertain = String(assessment.uncertain);
  } else {
    delete results.dataset.tier;
    delete results.dataset.urgent;
    delete results.dataset.uncertain;
  }
  results.dataset.photoWarnings = String(photoWarnings);
  results.hidden = false;
  setResultsState('done');
  announce(`Result: ${said.headline}. ${said.guidance}`);
}

/**
 * After a new photo: move focus to the result heading and bring it into view (at once when the
 * reader prefers reduced motion), so that on a phone the result does not wait below the fold.
 */
export function revealResults() {
  const heading = byId('results-title');
  heading.focus({ preventScroll: true });
  const box = heading.getBoundingClientRect();
  if (box.top >= 0 && box.bottom <= window.innerHeight) return;
  const reduced = window.matchMedia('(prefers-reduced-motion: reduce)').matches;
  heading.scrollIntoView({ block: 'start', behavior: reduced ? 'auto' : 'smooth' });
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
