// @ts-check
// The chat panel's webview: renders turns from the extension, streams answer text in, and sends questions, stops,
// copies, inserts and reference clicks back. Model text is only ever placed with textContent (see markdown.js).
'use strict';

(function () {
  // @ts-ignore acquireVsCodeApi is provided by VS Code inside webviews.
  const vscode = acquireVsCodeApi();
  // @ts-ignore set by markdown.js
  const markdown = /** @type {{ parseMarkdown(text: string): any[] }} */ (window.snapkvMarkdown);

  const turnsEl = /** @type {HTMLElement} */ (document.getElementById('turns'));
  const emptyEl = /** @type {HTMLElement} */ (document.getElementById('empty'));
  const noticeEl = /** @type {HTMLElement} */ (document.getElementById('notice'));
  const form = /** @type {HTMLFormElement} */ (document.getElementById('composer'));
  const input = /** @type {HTMLTextAreaElement} */ (document.getElementById('question'));
  const stopButton = /** @type {HTMLButtonElement} */ (document.getElementById('stop'));
  const newChatButton = /** @type {HTMLButtonElement} */ (document.getElementById('new-chat'));

  /** @type {Map<string, { turn: any, el: HTMLElement }>} */
  const turns = new Map();
  /** Turns whose answer changed since the last frame. */
  const dirty = new Set();
  let frameRequested = false;

  const saved = vscode.getState();
  if (saved && typeof saved.draft === 'string') input.value = saved.draft;

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    send();
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });
  input.addEventListener('input', () => vscode.setState({ draft: input.value }));
  stopButton.addEventListener('click', () => vscode.postMessage({ type: 'stop' }));
  newChatButton.addEventListener('click', () => vscode.postMessage({ type: 'newChat' }));

  function send() {
    const question = input.value.trim();
    if (!question) return;
    vscode.postMessage({ type: 'ask', question });
    input.value = '';
    vscode.setState({ draft: '' });
  }

  window.addEventListener('message', (event) => {
    const message = event.data;
    if (!message || typeof message.type !== 'string') return;
    switch (message.type) {
      case 'restore':
        turns.clear();
        turnsEl.replaceChildren();
        for (const turn of message.turns) upsertTurn(turn);
        updateEmpty();
        scrollToEnd(true);
        break;
      case 'turn': {
        const follow = !turns.has(message.turn.id) || isNearEnd();
        upsertTurn(message.turn);
        updateEmpty();
        if (follow) scrollToEnd(true);
        break;
      }
      case 'delta': {
        const entry = turns.get(message.id);
        if (!entry) break;
        entry.turn.answer += message.text;
        entry.turn.status = 'streaming';
        dirty.add(message.id);
        requestFrame();
        break;
      }
      case 'notice':
        renderNotice(message.notice);
        break;
      case 'busy':
        stopButton.hidden = !message.busy;
        document.body.classList.toggle('busy', !!message.busy);
        break;
      case 'focusInput':
        input.focus();
        break;
    }
  });

  function requestFrame() {
    if (frameRequested) return;
    frameRequested = true;
    requestAnimationFrame(() => {
      frameRequested = false;
      const nearEnd = isNearEnd();
      for (const id of dirty) {
        const entry = turns.get(id);
        if (entry) renderTurn(entry.el, entry.turn);
      }
      dirty.clear();
      if (nearEnd) scrollToEnd(true);
    });
  }

  /** @param {any} turn */
  function upsertTurn(turn) {
    let entry = turns.get(turn.id);
    if (!entry) {
      const el = document.createElement('section');
      el.className = 'turn';
      turnsEl.appendChild(el);
      entry = { turn, el };
      turns.set(turn.id, entry);
    }
    entry.turn = turn;
    dirty.delete(turn.id);
    renderTurn(entry.el, turn);
  }

  /** @param {HTMLElement} el @param {any} turn */
  function renderTurn(el, turn) {
    el.dataset.status = turn.status;
    const question = element('div', 'question');
    question.appendChild(element('div', 'who', 'You'));
    question.appendChild(element('div', 'question-text', turn.question));
    if (turn.selection) {
      const chip = element('button', 'selection-chip link-button', `${turn.selection.path}:${turn.selection.startLine}-${turn.selection.endLine}`);
      chip.title = 'Open the selection';
      chip.addEventListener('click', () => openReference(turn.selection.path, turn.selection.startLine, turn.selection.endLine));
      question.appendChild(chip);
    }

    const answer = element('div', 'answer');
    answer.appendChild(element('div', 'who', 'SnapKV'));
    const body = element('div', 'markdown');
    renderMarkdown(body, turn.answer);
    if (turn.status === 'waiting') body.appendChild(element('p', 'placeholder', 'Reading the question against the repository…'));
    if (turn.status === 'streaming' || turn.status === 'waiting') body.classList.add('streaming');
    answer.appendChild(body);
    if (turn.status === 'stopped') answer.appendChild(element('div', 'state-line', 'Stopped.'));
    if (turn.status === 'error') answer.appendChild(element('div', 'state-line error', turn.error || 'The question failed.'));
    if (turn.references && turn.references.length > 0) answer.appendChild(renderReferences(turn));
    if (turn.stats) answer.appendChild(element('div', 'stats', turn.stats));
    el.replaceChildren(question, answer);
  }

  /** @param {any} turn */
  function renderReferences(turn) {
    const box = element('div', 'references');
    const header = element('div', 'references-header');
    header.appendChild(element('span', 'references-title', 'Kept context'));
    if (turn.requestId) {
      const mapButton = element('button', 'link-button', 'Context map');
      mapButton.addEventListener('click', () => vscode.postMessage({ type: 'showContextMap', requestId: turn.requestId }));
      header.appendChild(mapButton);
    }
    box.appendChild(header);
    const list = element('ul', 'reference-list');
    for (const file of turn.references) {
      const item = element('li', 'reference');
      const first = file.ranges && file.ranges[0];
      const name = element('button', 'link-button reference-file', file.path);
      name.title = `Open ${file.path}`;
      name.addEventListener('click', () => openReference(file.path, first ? first.startLine : 1, first ? first.endLine : 1));
      item.appendChild(name);
      item.appendChild(element('span', 'reference-share', `${formatShare(file.share)}`));
      const ranges = element('span', 'reference-ranges');
      for (const range of (file.ranges || []).slice(0, 6)) {
        const label = range.startLine === range.endLine ? `L${range.startLine}` : `L${range.startLine}-${range.endLine}`;
        const button = element('button', 'link-button reference-range', label);
        button.title = `${file.path}, lines ${range.startLine}-${range.endLine} (${range.kept} kept entries)`;
        button.addEventListener('click', () => openReference(file.path, range.startLine, range.endLine));
        ranges.appendChild(button);
      }
      item.appendChild(ranges);
      list.appendChild(item);
    }
    box.appendChild(list);
    return box;
  }

  /** @param {HTMLElement} container @param {string} text */
  function renderMarkdown(container, text) {
    container.replaceChildren();
    for (const block of markdown.parseMarkdown(text || '')) container.appendChild(renderBlock(block));
  }

  /** @param {any} block @returns {HTMLElement} */
  function renderBlock(block) {
    switch (block.kind) {
      case 'heading': {
        const el = element(`h${Math.min(6, block.level + 2)}`, 'md-heading');
        appendInlines(el, block.inlines);
        return el;
      }
      case 'code':
        return renderCodeBlock(block);
      case 'list': {
        const el = element(block.ordered ? 'ol' : 'ul', 'md-list');
        if (block.ordered && block.start !== 1) el.setAttribute('start', String(block.start));
        for (const item of block.items) {
          const li = element('li');
          if (item.depth > 0) li.classList.add(`depth-${item.depth}`);
          appendInlines(li, item.inlines);
          el.appendChild(li);
        }
        return el;
      }
      case 'quote': {
        const el = element('blockquote');
        appendInlines(el, block.inlines);
        return el;
      }
      case 'rule':
        return element('hr');
      default: {
        const el = element('p');
        appendInlines(el, block.inlines);
        return el;
      }
    }
  }

  /** @param {any} block */
  function renderCodeBlock(block) {
    const wrapper = element('div', 'code-block');
    const toolbar = element('div', 'code-toolbar');
    toolbar.appendChild(element('span', 'code-language', block.language || 'text'));
    const copy = element('button', 'code-action copy', 'Copy');
    copy.title = 'Copy the code';
    copy.addEventListener('click', () => {
      vscode.postMessage({ type: 'copy', text: block.text });
      copy.textContent = 'Copied';
      setTimeout(() => (copy.textContent = 'Copy'), 1500);
    });
    const insert = element('button', 'code-action insert', 'Insert');
    insert.title = 'Insert at the cursor of the last editor';
    insert.addEventListener('click', () => vscode.postMessage({ type: 'insert', text: block.text }));
    toolbar.appendChild(copy);
    toolbar.appendChild(insert);
    const pre = element('pre');
    const code = element('code', '', block.text);
    if (block.language) code.dataset.language = block.language;
    pre.appendChild(code);
    wrapper.appendChild(toolbar);
    wrapper.appendChild(pre);
    return wrapper;
  }

  /** @param {HTMLElement} parent @param {any[]} inlines */
  function appendInlines(parent, inlines) {
    for (const inline of inlines) {
      switch (inline.kind) {
        case 'code':
          parent.appendChild(element('code', '', inline.text));
          break;
        case 'strong':
        case 'em': {
          const el = element(inline.kind === 'strong' ? 'strong' : 'em');
          appendInlines(el, inline.children);
          parent.appendChild(el);
          break;
        }
        case 'fileLink': {
          const link = element('button', 'link-button file-link', inline.text);
          link.title = `Open ${inline.path}:${inline.startLine}`;
          link.addEventListener('click', () => openReference(inline.path, inline.startLine, inline.endLine));
          parent.appendChild(link);
          break;
        }
        default:
          parent.appendChild(document.createTextNode(inline.text));
      }
    }
  }

  /** @param {string} path @param {number} startLine @param {number} endLine */
  function openReference(path, startLine, endLine) {
    vscode.postMessage({ type: 'openReference', path, startLine, endLine });
  }

  /** @param {any} notice */
  function renderNotice(notice) {
    noticeEl.replaceChildren();
    noticeEl.hidden = !notice;
    if (!notice) return;
    noticeEl.className = `notice ${notice.kind}`;
    noticeEl.appendChild(element('span', 'notice-text', notice.text));
    if (notice.action) {
      const button = element('button', 'notice-action', notice.action.label);
      button.addEventListener('click', () => vscode.postMessage({ type: 'action', command: notice.action.command }));
      noticeEl.appendChild(button);
    }
  }

  function updateEmpty() {
    emptyEl.hidden = turns.size > 0;
  }

  function isNearEnd() {
    return turnsEl.scrollHeight - turnsEl.scrollTop - turnsEl.clientHeight < 80;
  }

  /** @param {boolean} force */
  function scrollToEnd(force) {
    if (!force && !isNearEnd()) return;
    turnsEl.scrollTop = turnsEl.scrollHeight;
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
