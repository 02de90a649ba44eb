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

/** Shades of Gray colour constancy: the illuminant, a per-channel power mean, scaled to neutral grey. */
class ShadesOfGray extends tf.layers.Layer {
  static className = 'ShadesOfGray';

  constructor(config) {
    super(config);
    this.power = config.power;
  }

  computeOutputShape(inputShape) {
    return inputShape;
  }

  call(inputs) {
    return tf.tidy(() => {
      const images = Array.isArray(inputs) ? inputs[0] : inputs;
      const illuminant = images
        .div(255)
        .pow(this.power)
        .mean([1, 2], true)
        .pow(1 / this.power);
      const length = illuminant.square().sum(-1, true).sqrt();
      const gain = length.div(illuminant.mul(Math.sqrt(3)).add(1e-6));
      return images.mul(gain).clipByValue(0, 255);
    });
  }

  getConfig() {
    return { ...super.getConfig(), power: this.power };
  }
}

tf.serialization.registerClass(ShadesOfGray);
