/**
 * Taking a photo with the device camera (getUserMedia). The permission state is always shown in
 * `#camera-status` and mirrored in `#camera[data-camera-state]`: "off", "asking", "on", "denied",
 * "unavailable" or "error". The camera is switched off as soon as a photo is taken or the panel
 * is closed; frames never leave the page. The captured frame goes to the pipeline as decoded
 * pixels (an ImageBitmap), not re-encoded as a file.
 */

const elements = {
  panel: () => document.getElementById('camera'),
  video: () => document.getElementById('camera-video'),
  status: () => document.getElementById('camera-status'),
  open: () => document.getElementById('camera-open'),
  shoot: () => document.getElementById('camera-shoot'),
  close: () => document.getElementById('camera-close'),
};

/**
 * @param {'off' | 'asking' | 'on' | 'denied' | 'unavailable' | 'error'} state
 * @param {string} message
 */
function setState(state, message) {
  const panel = elements.panel();
  panel.dataset.cameraState = state;
  elements.status().textContent = message;
  const live = state === 'on';
  elements.video().hidden = !live;
  elements.shoot().hidden = !live;
  elements.close().hidden = !live;
  elements.open().hidden = live;
}

/**
 * A sentence for why getUserMedia failed.
 * @param {unknown} error
 * @returns {['denied' | 'unavailable' | 'error', string]}
 */
function explain(error) {
  const name = error instanceof DOMException ? error.name : '';
  if (name === 'NotAllowedError' || name === 'SecurityError') {
    return [
      'denied',
      'Camera access was refused. To use the camera, allow it for this site in the browser ' +
        'settings (the camera icon in the address bar), or choose a photo file instead.',
    ];
  }
  if (name === 'NotFoundError' || name === 'OverconstrainedError') {
    return [
      'unavailable',
      'No camera was found on this device. Please choose a photo file instead.',
    ];
  }
  if (name === 'NotReadableError' || name === 'AbortError') {
    return [
      'error',
      'The camera is busy or could not start (is another app using it?). Close other apps ' +
        'that use the camera and try again, or choose a photo file.',
    ];
  }
  return ['error', 'The camera could not be started. Please choose a photo file instead.'];
}

/**
 * Wire the camera controls.
 * @param {(frame: Promise<ImageBitmap>) => void} onFrame called, as the shutter is pressed, with
 *   the coming bitmap of the captured frame; the camera is off once it resolves
 */
export function setUpCamera(onFrame) {
  /** @type {MediaStream | null} */
  let stream = null;

  function stop() {
    stream?.getTracks().forEach((track) => track.stop());
    stream = null;
    elements.video().srcObject = null;
  }

  async function open() {
    if (!navigator.mediaDevices?.getUserMedia) {
      setState(
        'unavailable',
        'This browser cannot use a camera here (it needs a secure https connection and camera ' +
          'support). Please choose a photo file instead.',
      );
      return;
    }
    setState('asking', 'Asking for permission to use the camera…');
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: { ideal: 'environment' }, width: { ideal: 1920 } },
        audio: false,
      });
    } catch (error) {
      setState(...explain(error));
      return;
    }
    const video = elements.video();
    video.srcObject = stream;
    await video.play().catch(() => {});
    setState('on', 'Camera on. Hold it close to the spot, in good light, then take the photo.');
    elements.shoot().focus();
  }

  function shoot() {
    const video = elements.video();
    if (!stream || video.videoWidth === 0) return;
    const frame = createImageBitmap(video).finally(stop);
    setState('off', 'Photo taken; the camera is off.');
    onFrame(frame);
  }

  elements.open().addEventListener('click', open);
  elements.shoot().addEventListener('click', shoot);
  elements.close().addEventListener('click', () => {
    stop();
    setState('off', 'Camera off.');
  });
  window.addEventListener('pagehide', stop);
  setState('off', 'Camera off. It is only switched on when you press "Use the camera".');
  showBlockedPermission();
}

/** Say up front when the browser already blocks the camera for this site. */
async function showBlockedPermission() {
  try {
    const permission = await navigator.permissions.query({ name: 'camera' });
    if (permission.state === 'denied') {
      setState(...explain(new DOMException('', 'NotAllowedError')));
    }
  } catch {
    // The Permissions API does not know 'camera' in every browser: the state shows on use.
  }
}
