/**
 * The ways a photo gets into the page besides the camera: the file picker, drag and drop onto
 * the page, and pasting from the clipboard. Each hands one File to `onFile`.
 */

/**
 * @param {{onFile: (file: File) => void, onProblem: (message: string) => void}} handlers
 *   onProblem receives a sentence for the patient when nothing usable was given
 */
export function setUpSources({ onFile, onProblem }) {
  const input = /** @type {HTMLInputElement} */ (document.getElementById('image-input'));
  const dropZone = document.getElementById('drop-zone');

  /**
   * @param {FileList | File[] | undefined} files
   * @param {string} nothing message when there is no file
   */
  function take(files, nothing) {
    const list = Array.from(files ?? []);
    if (list.length === 0) {
      onProblem(nothing);
      return;
    }
    onFile(list[0]);
  }

  input.addEventListener('change', () => {
    if (input.files?.length) take(input.files, '');
    input.value = ''; // choosing the same file again must fire another change
  });

  // The whole page accepts a drop, so a near miss does not make the browser open the file.
  let depth = 0;
  document.addEventListener('dragenter', (event) => {
    event.preventDefault();
    depth += 1;
    dropZone.classList.add('dragging');
  });
  document.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) dropZone.classList.remove('dragging');
  });
  document.addEventListener('dragover', (event) => event.preventDefault());
  document.addEventListener('drop', (event) => {
    event.preventDefault();
    depth = 0;
    dropZone.classList.remove('dragging');
    take(
      event.dataTransfer?.files,
      'What you dropped is not a file. Drag the photo file itself (from your files or desktop), ' +
        'or choose it with the button.',
    );
  });

  document.addEventListener('paste', (event) => {
    const files = Array.from(event.clipboardData?.files ?? []);
    event.preventDefault();
    take(
      files,
      'There is no picture in what you pasted. Copy the photo itself (not its name or a link) ' +
        'and paste again, or choose the file with the button.',
    );
  });
}
