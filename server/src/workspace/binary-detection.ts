// Binary files: by extension without reading them, else by their first 8 KB.
import { extensionOf } from './path-names';

/** Formats that are binary whatever their bytes happen to look like (svg, a text format, is absent on purpose). */
const BINARY_EXTENSIONS = new Set([
  // images
  'png', 'jpg', 'jpeg', 'gif', 'bmp', 'ico', 'icns', 'webp', 'tif', 'tiff', 'psd', 'heic', 'avif',
  // documents
  'pdf', 'doc', 'docx', 'xls', 'xlsx', 'ppt', 'pptx', 'odt', 'ods', 'odp',
  // archives and packages
  'zip', 'gz', 'tgz', 'bz2', 'xz', 'zst', '7z', 'rar', 'tar', 'jar', 'war', 'ear', 'whl', 'deb', 'rpm', 'dmg', 'iso', 'apk', 'vsix', 'nupkg',
  // compiled code and objects
  'exe', 'dll', 'so', 'dylib', 'a', 'o', 'obj', 'lib', 'class', 'pyc', 'pyo', 'wasm', 'node', 'elc', 'beam',
  // fonts
  'woff', 'woff2', 'ttf', 'otf', 'eot',
  // audio and video
  'mp3', 'mp4', 'm4a', 'wav', 'ogg', 'flac', 'aac', 'avi', 'mov', 'mkv', 'webm',
  // databases and model weights
  'sqlite', 'sqlite3', 'db', 'gguf', 'safetensors', 'pt', 'pth', 'ckpt', 'onnx', 'npy', 'npz', 'pkl', 'h5', 'tflite',
  'lockb',
]);

export function binaryByExtension(relPath: string): string | undefined {
  const ext = extensionOf(relPath);
  return BINARY_EXTENSIONS.has(ext) ? `.${ext} file` : undefined;
}

/** The sample git also looks at to call a file binary. */
const SAMPLE_BYTES = 8192;
/** Above this share of non-text characters in the sample, the file is not text. */
const MAX_NON_TEXT_SHARE = 0.1;

/** C0 controls other than tab, line feed, vertical tab, form feed, carriage return and escape (ANSI colours), and DEL. */
function isControl(code: number): boolean {
  return (code < 0x20 && !(code >= 0x09 && code <= 0x0d) && code !== 0x1b) || code === 0x7f;
}

export function binaryByContent(bytes: Uint8Array): string | undefined {
  const sample = bytes.subarray(0, SAMPLE_BYTES);
  if (sample.includes(0)) return 'contains NUL bytes';
  // stream: a character cut at the sample's end is held back, not counted as invalid.
  const text = new TextDecoder('utf-8').decode(sample, { stream: true });
  if (text.length === 0) return undefined;
  let nonText = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0xfffd || isControl(code)) nonText++;
  }
  const share = nonText / text.length;
  return share > MAX_NON_TEXT_SHARE ? `${Math.round(share * 100)}% of its first 8 KB is not UTF-8 text` : undefined;
}
