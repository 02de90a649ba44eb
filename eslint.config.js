// ESLint flat config: the browser's ES modules in static/js, the service worker and the classic
// script loaded before TF.js. Run with `npx eslint .` (scripts/test.sh does).
import js from '@eslint/js';
import globals from 'globals';

export default [
  { ignores: ['.venv/', 'node_modules/', 'model_artifacts/'] },
  js.configs.recommended,
  {
    files: ['static/js/**/*.js'],
    // `tf`: TensorFlow.js, loaded by the page as the classic script tf.min.js.
    languageOptions: { sourceType: 'module', globals: { ...globals.browser, tf: 'readonly' } },
  },
  {
    files: ['static/js/sw.js'],
    languageOptions: { sourceType: 'script', globals: globals.serviceworker },
  },
  {
    files: ['static/js/csp-shim.js'],
    languageOptions: { sourceType: 'script' },
  },
  {
    files: ['eslint.config.js'],
    languageOptions: { sourceType: 'module', globals: globals.node },
  },
];
