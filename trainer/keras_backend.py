"""TensorFlow with the legacy tf-keras API, the only Keras whose export TF.js layers can load.

Import ``tf`` and ``keras`` from here, never from tensorflow directly, so that the environment
variables are set before TensorFlow is first imported (why tf-keras: docs/decisions.md).
"""

import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# tensorflowjs imports tensorflow_decision_forests, whose welcome banner needs IPython when
# stdout is captured (as under pytest): turn the banner off.
os.environ.setdefault("TFDF_DISABLE_WELCOME_MESSAGE", "1")

import tensorflow as tf
import tf_keras as keras

__all__ = ["keras", "tf"]
