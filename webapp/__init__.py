"""Web front end of the skin-lesion classifier.

The server only serves files: the page, the model and TensorFlow.js. Photos are decoded,
preprocessed and classified in the browser and are never uploaded. This package must not
import TensorFlow or the trainer: it runs with fastapi, uvicorn and jinja2 alone.
"""
