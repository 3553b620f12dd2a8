// Small helpers on the folder-relative, forward-slash paths every rule sees.

export function baseName(relPath: string): string {
  return relPath.slice(relPath.lastIndexOf('/') + 1);
}

/** Lower-cased extension without the dot ('' when none); a leading dot (".env") is no extension. */
export function extensionOf(relPath: string): string {
  const name = baseName(relPath);
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
}
