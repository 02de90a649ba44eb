/**
 * What kind of file did the patient give us? Read from the file's first bytes (names and MIME
 * types lie), so that a refusal can say what the file really is and what to do, and so that a
 * valid but unusual image gets a note about how it was handled. Whether an image really has
 * transparent pixels is decided after decoding (transparency.js); the header only says whether it
 * can have any.
 */

/** Bytes read from the start of a file; enough for JPEG frame headers after big EXIF blocks. */
const HEAD_BYTES = 256 * 1024;

const HEIF_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'mif1', 'msf1']);

/**
 * @typedef {object} FileKind
 * @property {string} kind 'jpeg', 'png', 'gif', 'webp', 'bmp', 'avif', 'heic', 'tiff', 'pdf',
 *   'svg', 'text', 'empty' or 'unknown'
 * @property {string | null} refusal why the file is refused before decoding, or null
 * @property {string} decodeFailure what to say if the browser cannot decode it
 * @property {string[]} notes how a valid image of this kind is handled, for the patient
 * @property {boolean} mayHaveAlpha whether its pixels can be transparent (never for JPEG; for PNG
 *   only with an alpha channel or a tRNS chunk)
 */

/**
 * @param {Uint8Array} bytes
 * @param {number} offset
 * @param {string} text ASCII
 * @returns {boolean}
 */
function startsWith(bytes, offset, text) {
  if (bytes.length < offset + text.length) return false;
  for (let i = 0; i < text.length; i++) {
    if (bytes[offset + i] !== text.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * Number of colour components of a JPEG (1 grey, 3 colour, 4 CMYK), from its first frame header.
 * @param {Uint8Array} bytes
 * @returns {number | null}
 */
function jpegComponents(bytes) {
  let i = 2;
  while (i + 9 < bytes.length) {
    if (bytes[i] !== 0xff) return null;
    const marker = bytes[i + 1];
    if (marker === 0xff) {
      i += 1; // fill byte
      continue;
    }
    const length = (bytes[i + 2] << 8) | bytes[i + 3];
    const isFrame = marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker);
    if (isFrame) return bytes[i + 9];
    if (marker === 0xda) return null; // scan data before any frame header: malformed
    i += 2 + length;
  }
  return null;
}

/**
 * A JPEG ends with the EOI marker FF D9 (some cameras pad with zero bytes after it).
 * @param {Uint8Array} tail the last bytes of the file
 * @returns {boolean}
 */
function jpegIsComplete(tail) {
  let end = tail.length;
  while (end > 0 && tail[end - 1] === 0) end -= 1;
  return end >= 2 && tail[end - 2] === 0xff && tail[end - 1] === 0xd9;
}

/**
 * A PNG ends with its IEND chunk.
 * @param {Uint8Array} tail the last bytes of the file
 * @returns {boolean}
 */
function pngIsComplete(tail) {
  return tail.length >= 12 && startsWith(tail, tail.length - 8, 'IEND');
}

/**
 * PNG colour type 4 or 6 (grey or colour with alpha), or a tRNS chunk: pixels may be transparent.
 * @param {Uint8Array} bytes
 * @returns {boolean}
 */
function pngMayHaveAlpha(bytes) {
  const colourType = bytes[25];
  if (colourType === 4 || colourType === 6) return true;
  for (let i = 8; i + 8 <= bytes.length;) {
    const length =
      ((bytes[i] << 24) | (bytes[i + 1] << 16) | (bytes[i + 2] << 8) | bytes[i + 3]) >>> 0;
    if (startsWith(bytes, i + 4, 'tRNS')) return true;
    if (startsWith(bytes, i + 4, 'IDAT')) return false;
    i += 12 + length;
  }
  return false;
}

/**
 * An animated GIF has more than one image; counting graphic-control extensions (21 F9 04) is
 * a reliable enough sign, as is the NETSCAPE looping extension.
 * @param {Uint8Array} bytes
 * @returns {boolean}
 */
function gifIsAnimated(bytes) {
  let controls = 0;
  for (let i = 0; i + 2 < bytes.length; i++) {
    if (bytes[i] === 0x21 && bytes[i + 1] === 0xf9 && bytes[i + 2] === 0x04) controls += 1;
    if (controls > 1 || (bytes[i] === 0x4e && startsWith(bytes, i, 'NETSCAPE2.0'))) return true;
  }
  return false;
}

/**
 * Looks like text: no NUL bytes and mostly printable characters in the first kilobyte.
 * @param {Uint8Array} bytes
 * @returns {boolean}
 */
function looksLikeText(bytes) {
  const sample = bytes.subarray(0, 1024);
  if (sample.length === 0 || sample.includes(0)) return false;
  const printable = sample.filter((b) => b === 9 || b === 10 || b === 13 || b >= 32).length;
  return printable / sample.length > 0.95;
}

const TRUNCATED =
  'This photo file is incomplete: it was cut off, for example by an interrupted download or ' +
  'copy, so part of the picture is missing. Please save or send the photo again.';

const CANNOT_READ =
  'This file could not be opened as a picture. Please choose a photo saved as JPEG, PNG or WebP.';

/**
 * @param {string} kind
 * @param {Partial<FileKind>} [details]
 * @returns {FileKind}
 */
function fileKind(kind, details = {}) {
  return {
    kind,
    refusal: null,
    decodeFailure: CANNOT_READ,
    notes: [],
    mayHaveAlpha: true,
    ...details,
  };
}

/**
 * Classify a file by its content.
 * @param {Blob} file
 * @returns {Promise<FileKind>}
 */
export async function inspectFile(file) {
  if (file.size === 0) {
    return fileKind('empty', {
      refusal:
        'This file is empty (0 bytes), so there is no photo in it. It may not have finished ' +
        'downloading or copying: please choose the photo again.',
    });
  }
  const bytes = new Uint8Array(await file.slice(0, HEAD_BYTES).arrayBuffer());
  const tail = new Uint8Array(await file.slice(Math.max(0, file.size - 64)).arrayBuffer());

  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    const components = jpegComponents(bytes);
    const notes = [];
    if (components === 1) {
      notes.push(
        'This is a black-and-white photo. The model was trained on colour photos and colour ' +
          'matters for telling lesion types apart, so this result is less reliable.',
      );
    }
    if (components === 4) {
      notes.push(
        'This JPEG uses print colours (CMYK), so its colours may look slightly different from ' +
          'the original. An ordinary camera photo (RGB) gives a more reliable result.',
      );
    }
    // Phones may append data after the end marker (motion photos), so only explain, never refuse.
    const decodeFailure = jpegIsComplete(tail) ? CANNOT_READ : TRUNCATED;
    return fileKind('jpeg', { notes, decodeFailure, mayHaveAlpha: false });
  }
  if (startsWith(bytes, 0, '\x89PNG\r\n\x1a\n')) {
    const decodeFailure = pngIsComplete(tail) ? CANNOT_READ : TRUNCATED;
    return fileKind('png', { decodeFailure, mayHaveAlpha: pngMayHaveAlpha(bytes) });
  }
  if (startsWith(bytes, 0, 'GIF87a') || startsWith(bytes, 0, 'GIF89a')) {
    const notes = gifIsAnimated(bytes)
      ? ['This is an animated GIF: only its first frame was analysed.']
      : [];
    notes.push('GIF images have few colours; the original photo (JPEG or PNG) works better.');
    return fileKind('gif', { notes });
  }
  if (startsWith(bytes, 0, 'RIFF') && startsWith(bytes, 8, 'WEBP')) return fileKind('webp');
  if (startsWith(bytes, 0, 'BM')) return fileKind('bmp');
  if (startsWith(bytes, 4, 'ftyp')) {
    const brand = String.fromCharCode(...bytes.subarray(8, 12));
    if (brand === 'avif' || brand === 'avis') return fileKind('avif');
    if (HEIF_BRANDS.has(brand)) {
      return fileKind('heic', {
        decodeFailure:
          'This is a HEIC photo (the iPhone default format), which this browser cannot open. ' +
          'Convert it to JPEG first: on the iPhone, share the photo and pick "Save as JPEG" or ' +
          'email it to yourself; or set Settings > Camera > Formats > "Most Compatible" for new ' +
          'photos. On a computer, open it in Photos or Preview and export as JPEG.',
      });
    }
  }
  if (startsWith(bytes, 0, 'II*\x00') || startsWith(bytes, 0, 'MM\x00*')) {
    return fileKind('tiff', {
      decodeFailure:
        'This is a TIFF image, which browsers cannot open. Please export it as JPEG or PNG ' +
        '(for example with Preview, Photos or Paint) and choose that file.',
    });
  }
  if (startsWith(bytes, 0, '%PDF-')) {
    return fileKind('pdf', {
      refusal:
        'This is a PDF document, not a photo. Please choose the photo itself (JPEG or PNG). If ' +
        'the photo is inside the PDF, take a screenshot of it and choose the screenshot.',
    });
  }
  const text = looksLikeText(bytes) ? new TextDecoder().decode(bytes.subarray(0, 4096)) : '';
  if (file.type === 'image/svg+xml' || /<svg[\s>]/i.test(text)) {
    return fileKind('svg', {
      refusal:
        'This is a drawing (SVG vector graphic), not a photo. Please choose a photo of the skin ' +
        'taken with a camera (JPEG or PNG).',
    });
  }
  if (text) {
    return fileKind('text', {
      refusal:
        `This file contains text, not a picture, even though its name is "${file.name}". ` +
        'Please choose the photo file itself (JPEG or PNG).',
    });
  }
  return fileKind('unknown');
}
