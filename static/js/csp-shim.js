/**
 * Loaded as a classic script before tf.min.js. The regenerator-runtime bundled in TF.js 4.22
 * assigns the undeclared global `regeneratorRuntime` in strict mode and, when that throws,
 * falls back to `Function(...)`, which the page's Content-Security-Policy (no 'unsafe-eval')
 * blocks, aborting TF.js. Declaring the global first makes the plain assignment succeed.
 */
globalThis.regeneratorRuntime = undefined;
