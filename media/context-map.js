// @ts-check
// The context map webview: the files one answer's compact cache was drawn from, ranked, as bars.
'use strict';

(function () {
  // @ts-ignore acquireVsCodeApi is provided by VS Code inside webviews.
  const vscode = acquireVsCodeApi();
  const root = /** @type {HTMLElement} */ (document.getElementById('map'));
  const MAX_RANGES = 8;

  window.addEventListener('message', (event) => {
    const message = event.data;
    if (!message) return;
    if (message.type === 'empty') renderEmpty(message.text);
    if (message.type === 'map') renderMap(message.map);
  });

  /** @param {string} text */
  function renderEmpty(text) {
    root.replaceChildren(element('p', 'empty', text));
  }

  /** @param {any} map */
  function renderMap(map) {
    root.replaceChildren();
    const header = element('div', 'header');
    header.appendChild(element('div', 'question', map.question));
    const inFiles = map.keptTotal - map.keptOutsideFiles;
    const outside = map.keptTotal > 0 ? (map.keptOutsideFiles / map.keptTotal) * 100 : 0;
    header.appendChild(element('div', 'summary',
      `${map.keptTotal.toLocaleString()} kept cache entries: ${inFiles.toLocaleString()} in ${map.files.length} files, ` +
      `${outside.toFixed(1)}% in the question and template.`));
    root.appendChild(header);
    if (map.files.length === 0) {
      root.appendChild(element('p', 'empty', 'No file kept any of the cache for this answer.'));
      return;
    }
    const top = Math.max(...map.files.map((/** @type {any} */ file) => file.share), 1e-9);
    const list = element('ol', 'files');
    for (const file of map.files) {
      const item = element('li', 'file');
      const label = element('div', 'file-label');
      const first = file.ranges[0];
      const name = element('button', 'link-button file-name', file.path);
      name.title = `Open ${file.path}`;
      name.addEventListener('click', () => open(file.path, first ? first.startLine : 1, first ? first.endLine : 1));
      label.appendChild(name);
      label.appendChild(element('span', 'file-share', formatShare(file.share)));
      item.appendChild(label);
      const bar = element('div', 'bar');
      bar.setAttribute('role', 'img');
      bar.setAttribute('aria-label', `${formatShare(file.share)} of the kept entries`);
      const fill = element('div', 'fill');
      fill.style.width = `${Math.max(1, (file.share / top) * 100).toFixed(1)}%`;
      bar.appendChild(fill);
      item.appendChild(bar);
      const ranges = element('div', 'ranges');
      for (const range of file.ranges.slice(0, MAX_RANGES)) {
        const text = range.startLine === range.endLine ? `L${range.startLine}` : `L${range.startLine}-${range.endLine}`;
        const button = element('button', 'link-button range', `${text} (${range.kept})`);
        button.title = `${range.kept} kept entries in lines ${range.startLine}-${range.endLine}`;
        button.addEventListener('click', () => open(file.path, range.startLine, range.endLine));
        ranges.appendChild(button);
      }
      if (file.ranges.length > MAX_RANGES) ranges.appendChild(element('span', 'more', `+${file.ranges.length - MAX_RANGES} more`));
      item.appendChild(ranges);
      list.appendChild(item);
    }
    root.appendChild(list);
  }

  /** @param {string} path @param {number} startLine @param {number} endLine */
  function open(path, startLine, endLine) {
    vscode.postMessage({ type: 'openReference', path, startLine, endLine });
  }

  /** @param {number} share */
  function formatShare(share) {
    const percent = share * 100;
    return percent >= 10 ? `${Math.round(percent)}%` : `${percent.toFixed(1)}%`;
  }

  /** @param {string} tag @param {string} [className] @param {string} [text] @returns {HTMLElement} */
  function element(tag, className, text) {
    const el = document.createElement(tag);
    if (className) el.className = className;
    if (text !== undefined) el.textContent = text;
    if (tag === 'button') /** @type {HTMLButtonElement} */ (el).type = 'button';
    return el;
  }

  vscode.postMessage({ type: 'ready' });
})();
