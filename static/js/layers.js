/**
 * TF.js twins of the trainer's custom Keras layers (trainer/models/layers.py), registered with
 * TF.js's serialization so that `tf.loadLayersModel` can build models that use them.
 */

/** Bilinear resizing with aligned corners: the model's in-model upsampling of its 75x100 input. */
class AlignedResizing extends tf.layers.Layer {
  static className = 'AlignedResizing';

  constructor(config) {
    super(config);
    this.height = config.height;
    this.width = config.width;
  }

  computeOutputShape(inputShape) {
    return [inputShape[0], this.height, this.width, inputShape[3]];
  }

  call(inputs) {
    return tf.tidy(() => {
      const images = Array.isArray(inputs) ? inputs[0] : inputs;
      return tf.image.resizeBilinear(images, [this.height, this.width], true);
    });
  }

  getConfig() {
    return { ...super.getConfig(), height: this.height, width: this.width };
  }
}

tf.serialization.registerClass(AlignedResizing);
