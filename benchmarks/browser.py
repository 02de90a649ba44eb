"""Browser figures for model folders, measured in headless Chromium through the real page.

Timestamps come from the page's own clock (performance.now(), origin = navigation start),
recorded by an init script, so Playwright's round trips are not counted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Browser, Page

from benchmarks.stats import percentile
from trainer.test_time_augmentation import decision_views
from webapp.manifest import manifest_version

BACKENDS = ("wasm", "cpu", "webgl")
TIMEOUT_MS = 180_000

# Marks: model ready, photo chosen (the file input's change event), result shown (#results
# data-state "done" after a change). Each result shown bumps html[data-bench-shown], which
# Python waits for with a selector (the page's CSP forbids wait_for_function's string eval).
INIT_SCRIPT = """
(() => {
  const marks = (window.__bench = { ready: null, chosen: null, shown: null, count: 0 });
  new MutationObserver(() => {
    if (marks.ready === null && document.body?.dataset.modelState === 'ready') {
      marks.ready = performance.now();
    }
    const results = document.getElementById('results');
    if (marks.chosen !== null && marks.shown === null && results?.dataset.state === 'done') {
      marks.shown = performance.now();
      marks.count += 1;
      document.documentElement.dataset.benchShown = String(marks.count);
    }
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-model-state', 'data-state'] });
  document.addEventListener('change', () => { marks.chosen = performance.now(); marks.shown = null; }, true);
})();
"""

# Times one photo as the page runs it (static/js/model.js), after warm-up calls, in the page's TF.js: model.predict +
# dataSync of every output on the photo (one random input), then, where the manifest averages views, on the batch of
# its other views: the time of a photo whose type averages them.
INFERENCE_SCRIPT = """
async ([url, shape, iterations, budgetMs, views]) => {
  const model = await tf.loadLayersModel(url);
  const photo = tf.randomUniform([1, ...shape], 0, 255);
  const others = views > 1 ? tf.randomUniform([views - 1, ...shape], 0, 255) : null;
  const run = () => tf.tidy(() => {
    [model.predict(photo)].flat().forEach((output) => output.dataSync());
    if (others) [model.predict(others)].flat()[0].dataSync();
  });
  for (let i = 0; i < 2; i++) run();
  const times = [];
  const start = performance.now();
  while (times.length < iterations && (times.length < 3 || performance.now() - start < budgetMs)) {
    const t0 = performance.now();
    run();
    times.push(performance.now() - t0);
  }
  photo.dispose();
  others?.dispose();
  model.dispose();
  return { backend: tf.getBackend(), times };
}
"""

# Bytes the browser fetched: model files (under /model/) and everything.
TRANSFER_SCRIPT = """
() => {
  const entries = performance.getEntriesByType('resource');
  const sum = (list) => list.reduce((total, e) => total + e.transferSize, 0);
  const nav = performance.getEntriesByType('navigation')[0];
  return { model: sum(entries.filter((e) => e.name.includes('/model/'))),
           all: sum(entries) + (nav ? nav.transferSize : 0) };
}
"""


@dataclass
class ModelUnderTest:
    """A model folder served by its own server during the benchmark."""

    label: str
    folder: Path
    base_url: str = ""

    @property
    def manifest(self) -> dict:
        return json.loads((self.folder / "manifest.json").read_text())

    @property
    def version(self) -> str | None:
        return manifest_version(self.folder)

    @property
    def views(self) -> int:
        """How many views of a photo of a type that averages them the page runs the model on
        (``trainer.test_time_augmentation``)."""
        return 1 + len(decision_views(self.manifest.get("decision", {})))


@dataclass
class RoundResult:
    """Everything measured for one model in one round."""

    ready_ms: float = 0.0
    first_result_ms: float = 0.0
    transfer_model: int = 0
    transfer_all: int = 0
    photo_ms: dict[str, list[float]] = field(default_factory=dict)
    inference: dict[str, dict[str, float]] = field(default_factory=dict)


def choose_photo(page: Page, photo: Path) -> float:
    """Choose a photo; return the page's time from the choice to the result shown (ms)."""
    count = page.evaluate("window.__bench.count")
    page.set_input_files("input#image-input", str(photo))
    page.wait_for_selector(f"html[data-bench-shown='{count + 1}']", state="attached", timeout=TIMEOUT_MS)
    marks = page.evaluate("window.__bench")
    return marks["shown"] - marks["chosen"]


def wait_ready(page: Page) -> None:
    page.wait_for_selector("body[data-model-state=ready], body[data-model-state=error]", timeout=TIMEOUT_MS)
    if page.get_attribute("body", "data-model-state") != "ready":
        raise RuntimeError(f"the page could not load the model: {page.inner_text('#model-status')}")


def cold_visit(browser: Browser, model: ModelUnderTest, photos: dict[str, Path], result: RoundResult) -> None:
    """Fresh profile (empty cache): page load to ready, first result, then more photos.

    Service workers are blocked (as in ``inference``): bytes a worker fetches do not show in the
    page's resource timing, and its background caching would run during the timed photos.
    """
    context = browser.new_context(service_workers="block")
    context.add_init_script(INIT_SCRIPT)
    page = context.new_page()
    page.goto(f"{model.base_url}/")
    wait_ready(page)
    ready = page.evaluate("window.__bench.ready")
    first_photo = next(iter(photos.values()))
    # First result: navigation to ready, plus the page's own choice-to-result time.
    result.first_result_ms = ready + choose_photo(page, first_photo)
    result.ready_ms = ready
    transfer = page.evaluate(TRANSFER_SCRIPT)
    result.transfer_model, result.transfer_all = transfer["model"], transfer["all"]
    for _ in range(2):
        for name, photo in photos.items():
            result.photo_ms.setdefault(name, []).append(choose_photo(page, photo))
    context.close()


def inference(browser: Browser, model: ModelUnderTest, backend: str, iterations: int, budget_ms: float) -> dict:
    """Median and p95 of one photo's prediction (with its other views, where the manifest averages them) on a
    backend forced with ?backend=.

    Service workers are blocked: the page's offline cache (static/js/sw.js) would store the model
    in the background while it is timed (see docs/decisions.md, "Web app").
    """
    context = browser.new_context(service_workers="block")
    page = context.new_page()
    page.goto(f"{model.base_url}/?backend={backend}")
    wait_ready(page)
    shape = model.manifest["model"]["input_shape"]
    url = f"/model/v/{model.version}/model.json"
    measured = page.evaluate(INFERENCE_SCRIPT, [url, shape, iterations, budget_ms, model.views])
    context.close()
    if measured["backend"] != backend:
        raise RuntimeError(f"asked for {backend}, the page used {measured['backend']}")
    times = measured["times"]
    return {"median": percentile(times, 50), "p95": percentile(times, 95), "n": len(times)}


def measure_round(
    browser: Browser, model: ModelUnderTest, photos: dict[str, Path], iterations: int, budget_ms: float
) -> RoundResult:
    """One round for one model: a cold visit, then inference on each backend."""
    result = RoundResult()
    cold_visit(browser, model, photos, result)
    for backend in BACKENDS:
        result.inference[backend] = inference(browser, model, backend, iterations, budget_ms)
    return result
