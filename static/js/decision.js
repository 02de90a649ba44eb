/**
 * The manifest's optional `decision` block, applied to one prediction; the browser twin of
 * trainer/decision.py. The trainer chooses the thresholds on validation data:
 * - tier: advice by the summed probability of `urgent_classes` (the cancer types): the first of
 *   `tiers` (highest `min_probability` first) that it reaches, e.g. "urgent", "check", "routine";
 *   with a `referral` rule, summed over the model's calibrated probabilities before its class
 *   offsets (each probability to the power `power`, times its class weight, renormalised);
 *   a manifest without `tiers` has "urgent" (from `urgent_probability`) and "routine" only;
 *   "not-judged" instead when the photo checks failed or the photo is out of distribution;
 * - uncertain: the top probability is below `uncertain_below` (no lesion type is named); an
 *   uncertain photo gets `unsure_tier` (e.g. "check") where its score alone would give the lowest
 *   tier, the one that could reassure;
 * - photo type: for a model with a `photo_type` output, "clinical" (an ordinary close-up) or
 *   "dermoscopic"; the photo then gets its type's tiers from `tiers_by_photo_type`;
 * - shown probabilities: for a photo of a type with class offsets of its own
 *   (`offsets_by_photo_type`), the probabilities before the class offsets, adjusted by that type's
 *   offsets and temperature; for a photo of a type in `test_time_augmentation`, the mean of those
 *   of the photo and of its other views (its mirror image); the page shows them and names their
 *   top lesion type, while the advice (tiers and `uncertain`) is decided on the model's own
 *   probabilities of the photo itself, as without them.
 */

export const NOT_JUDGED = 'not-judged';

/**
 * @typedef {object} Tier
 * @property {string} name
 * @property {number} min_probability
 * @property {{sensitivity: number | null, specificity: number | null}} [validation]
 */

/**
 * @typedef {object} Assessment
 * @property {string} tier a tier name from the manifest, or NOT_JUDGED
 * @property {boolean} judged false when the photo cannot be judged
 * @property {Tier | null} tierRule the tier's manifest entry (null when not judged)
 * @property {boolean} urgent the summed probability reaches the "urgent" tier's threshold
 * @property {number} urgentProbability summed probability of the urgent classes (before the class
 *   offsets, with a `referral` rule)
 * @property {boolean} uncertain
 * @property {boolean} raisedByDoubt the lowest tier was replaced by `unsure_tier` because the model
 *   is unsure
 * @property {string | null} photoType the photo type the model says it got, null without a rule
 * @property {number[]} probabilities the probabilities to show, in manifest order
 */

/**
 * The photo type the model's `photo_type` output says (`trainer/photo_type.py: photo_types`).
 * @param {object} decision
 * @param {number | null | undefined} clinicalProbability
 * @returns {string | null} "clinical" or "dermoscopic"; null without the output or the rule
 */
export function photoTypeOf(decision, clinicalProbability) {
  const rule = decision.photo_type;
  if (!rule || !Number.isFinite(clinicalProbability)) return null;
  const [dermoscopic, clinical] = rule.types;
  return clinicalProbability >= rule.clinical_from ? clinical : dermoscopic;
}

/**
 * The decision's tiers (the photo type's own where it has them), highest threshold first.
 * @param {object} decision
 * @param {string | null} [photoType]
 * @returns {Tier[]}
 */
export function adviceTiers(decision, photoType = null) {
  const own = photoType ? decision.tiers_by_photo_type?.[photoType] : undefined;
  const tiers = own ?? decision.tiers;
  if (Array.isArray(tiers)) {
    return [...tiers].sort((a, b) => b.min_probability - a.min_probability);
  }
  if (Number.isFinite(decision.urgent_probability)) {
    return [
      { name: 'urgent', min_probability: decision.urgent_probability },
      { name: 'routine', min_probability: 0 },
    ];
  }
  throw new Error('The model manifest has decision rules but no advice thresholds.');
}

/**
 * Whether the photo is out of distribution: said so, or its score above the manifest's threshold
 * (`trainer/ood.py: is_out_of_distribution`). A model or manifest without the rule judges every photo.
 * @param {object} decision
 * @param {{outOfDistribution?: boolean, oodScore?: number | null}} photo
 * @returns {boolean}
 */
export function isOutOfDistribution(decision, photo) {
  if (photo.outOfDistribution) return true;
  const threshold = decision.ood?.threshold;
  return (
    Number.isFinite(photo.oodScore) && Number.isFinite(threshold) && photo.oodScore > threshold
  );
}

/**
 * The probabilities the advice is scored on (`trainer/decision.py: referral_probabilities`): with
 * the decision's `referral` rule, the model's calibrated probabilities before its class offsets.
 * @param {Array<{code: string}>} classes manifest order
 * @param {number[]} probabilities same order
 * @param {object} decision
 * @returns {number[]}
 */
export function referralProbabilities(classes, probabilities, decision) {
  const rule = decision.referral;
  if (!rule) return probabilities;
  const weighted = classes.map(
    (lesion, i) => probabilities[i] ** rule.power * rule.class_weights[lesion.code],
  );
  const total = weighted.reduce((sum, value) => sum + value, 0);
  return weighted.map((value) => value / total);
}

/**
 * One view's probabilities as the page shows them: the model's own, except for a photo of a type
 * with class offsets of its own in `offsets_by_photo_type`: then the referral probabilities, their
 * logs plus the type's class offsets, divided by its temperature, softmax.
 * @param {Array<{code: string}>} classes manifest order
 * @param {number[]} probabilities same order
 * @param {object} decision
 * @param {string | null} photoType
 * @returns {number[]}
 */
function shownForOneView(classes, probabilities, decision, photoType) {
  const rule = photoType ? decision.offsets_by_photo_type?.[photoType] : undefined;
  if (!rule) return probabilities;
  const before = referralProbabilities(classes, probabilities, decision);
  const logits = classes.map(
    (lesion, i) =>
      (Math.log(Math.max(before[i], 1e-12)) + rule.class_offsets[lesion.code]) / rule.temperature,
  );
  const top = Math.max(...logits);
  const exps = logits.map((value) => Math.exp(value - top));
  const total = exps.reduce((sum, value) => sum + value, 0);
  return exps.map((value) => value / total);
}

/**
 * Whether the decision's `test_time_augmentation` shows a photo of this type the mean over its
 * views (`trainer/decision.py: averaged_photos`).
 * @param {object} decision
 * @param {string | null} photoType
 * @returns {boolean}
 */
export function averagesViews(decision, photoType) {
  const rule = decision.test_time_augmentation;
  return Boolean(rule && photoType && photoType in rule.photo_types);
}

/**
 * The probabilities the page shows (`trainer/decision.py: shown_probabilities`): those of the
 * photo itself (`shownForOneView`), or for a photo of a type in `test_time_augmentation`, their
 * mean over the photo and its other views.
 * @param {Array<{code: string}>} classes manifest order
 * @param {number[]} probabilities same order
 * @param {object} decision
 * @param {string | null} photoType
 * @param {number[][]} [otherViews] the model's probabilities for each view after the photo itself
 * @returns {number[]}
 */
export function shownProbabilities(classes, probabilities, decision, photoType, otherViews = []) {
  const shown = shownForOneView(classes, probabilities, decision, photoType);
  if (!averagesViews(decision, photoType)) return shown;
  const rule = decision.test_time_augmentation;
  if (otherViews.length !== rule.views.length - 1) {
    throw new Error(
      `The model manifest averages ${rule.views.length} views of ${photoType} photos, ` +
        `but ${otherViews.length + 1} were classified.`,
    );
  }
  const views = [
    shown,
    ...otherViews.map((view) => shownForOneView(classes, view, decision, photoType)),
  ];
  return shown.map((_, i) => views.reduce((sum, view) => sum + view[i], 0) / views.length);
}

/**
 * @param {Array<{code: string}>} classes manifest order
 * @param {number[]} probabilities same order
 * @param {object} [decision] the manifest's `decision` block
 * @param {{photoChecksFailed?: boolean, outOfDistribution?: boolean, oodScore?: number | null,
 *   clinicalProbability?: number | null, otherViews?: number[][]}} [photo] what the photo checks
 *   said, the model's out-of-distribution score (judged by `decision.ood.threshold`) or the verdict
 *   on it, its photo-type output and its other views' probabilities; a failed check or an unusual
 *   photo is not judged
 * @returns {Assessment | null} null when the manifest has no decision rules
 */
export function assess(classes, probabilities, decision, photo = {}) {
  if (!decision) return null;
  const urgentCodes = new Set(decision.urgent_classes ?? []);
  const scored = referralProbabilities(classes, probabilities, decision);
  const urgentProbability = classes.reduce(
    (sum, lesion, i) => (urgentCodes.has(lesion.code) ? sum + scored[i] : sum),
    0,
  );
  const photoType = photoTypeOf(decision, photo.clinicalProbability);
  const tiers = adviceTiers(decision, photoType);
  const byScore = tiers.find((tier) => urgentProbability >= tier.min_probability);
  if (!byScore) throw new Error('The model manifest has no advice tier starting at 0.');
  const uncertain = Math.max(...probabilities) < (decision.uncertain_below ?? 0);
  const raise = uncertain && byScore === tiers.at(-1);
  const raisedTo = raise ? tiers.find((tier) => tier.name === decision.unsure_tier) : undefined;
  const reached = raisedTo ?? byScore;
  const judged = !photo.photoChecksFailed && !isOutOfDistribution(decision, photo);
  return {
    tier: judged ? reached.name : NOT_JUDGED,
    judged,
    tierRule: judged ? reached : null,
    urgent: reached.name === 'urgent',
    urgentProbability,
    uncertain,
    raisedByDoubt: judged && raisedTo !== undefined,
    photoType,
    probabilities: shownProbabilities(
      classes,
      probabilities,
      decision,
      photoType,
      photo.otherViews,
    ),
  };
}
