/**
 * The manifest's optional `decision` block, applied to one prediction. The trainer chooses the
 * thresholds on validation data:
 * - urgent: the summed probability of `urgent_classes` is at or above `urgent_probability`
 *   (a plain argmax misses many cancers, so this flag is more sensitive than the top class);
 * - uncertain: the top probability is below `uncertain_below`.
 */

/**
 * @typedef {object} Assessment
 * @property {boolean} urgent
 * @property {number} urgentProbability summed probability of the urgent classes
 * @property {boolean} uncertain
 */

/**
 * @param {Array<{code: string}>} classes manifest order
 * @param {number[]} probabilities same order
 * @param {object} [decision] the manifest's `decision` block: urgent_classes (codes),
 *   urgent_probability and uncertain_below (thresholds)
 * @returns {Assessment | null} null when the manifest has no decision rules
 */
export function assess(classes, probabilities, decision) {
  if (!decision) return null;
  const urgentCodes = new Set(decision.urgent_classes ?? []);
  const urgentProbability = classes.reduce(
    (sum, lesion, i) => (urgentCodes.has(lesion.code) ? sum + probabilities[i] : sum),
    0,
  );
  const threshold = decision.urgent_probability;
  return {
    urgent: urgentCodes.size > 0 && Number.isFinite(threshold) && urgentProbability >= threshold,
    urgentProbability,
    uncertain: Math.max(...probabilities) < (decision.uncertain_below ?? 0),
  };
}
