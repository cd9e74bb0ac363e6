// The chat page: asks /v1/query/stream, shows the answer as it streams, turns [n] markers into
// buttons that open the quoted passage. Text from the server only ever goes into text nodes.
"use strict";

(() => {
  const KEY_STORAGE = "guide-rag-api-key";
  const form = document.getElementById("ask");
  const input = document.getElementById("question");
  const send = document.getElementById("send");
  const turns = document.getElementById("turns");
  const welcome = document.getElementById("welcome");
  const status = document.getElementById("status");
  const newConversation = document.getElementById("new-conversation");
  const conversationLabel = document.getElementById("conversation-label");
  const keyForm = document.getElementById("key-form");
  const keyInput = document.getElementById("api-key");
  const composer = document.querySelector(".composer");

  let conversationId = freshId();
  let busy = false;
  let inFlight = null; // the AbortController of the question being answered
  let turnCount = 0;
  let pending = null; // {question, item}: asked again once an API key has been given
  let previewCount = 0;
  const PREVIEW_CHARS = 240;

  // crypto.randomUUID needs a secure context; getRandomValues works on plain http too.
  function freshId() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function announce(message) {
    status.textContent = message;
  }

  function showConversationLabel() {
    conversationLabel.textContent = `conversation ${conversationId.slice(0, 8)}`;
  }

  // -- Server-Sent Events over fetch ----------------------------------------------------------
  // Yields {event, data} for each event of the stream; data is parsed JSON.
  async function* readEvents(response) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      buffer += decoder.decode(value || new Uint8Array(), { stream: !done });
      const blocks = buffer.split(/\r?\n\r?\n/);
      buffer = done ? "" : blocks.pop();
      for (const block of blocks) {
        let event = "message";
        const data = [];
        for (const line of block.split(/\r?\n/)) {
          if (line.startsWith(":")) continue;
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          const content = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (field === "event") event = content;
          else if (field === "data") data.push(content);
        }
        if (data.length) yield { event, data: JSON.parse(data.join("\n")) };
      }
      if (done) return;
    }
  }

  // -- rendering ------------------------------------------------------------------------------
  function newTurn(question) {
    turnCount += 1;
    const item = el("li", "turn");
    const asked = el("p", "question", question);
    const answer = el("article", "answer");
    answer.setAttribute("aria-busy", "true");
    answer.dataset.state = "streaming";
    answer.setAttribute("aria-label", `Answer to: ${question}`);
    const label = el("p", "answer-label", "Answer");
    const text = el("div", "answer-text");
    const notes = el("ul", "notes");
    answer.append(label, text, notes);
    item.append(asked, answer);
    turns.append(item);
    welcome.hidden = true;
    item.scrollIntoView({ block: "end", behavior: "smooth" });
    return { id: turnCount, answer, label, text, notes, citations: new Map() };
  }

  // Lines of the answer, each with its [n] markers as buttons (only for citations that exist). A line
  // that starts "- " is an item of a list (the answer quotes a whole list, item by item), drawn as one;
  // the line before such items, "Heading:", is the list's heading.
  function renderAnswer(turn, answerText) {
    const nodes = [];
    let list = null;
    for (const line of answerText.split("\n")) {
      if (line.startsWith("- ")) {
        if (!list) {
          list = el("ul", "answer-list");
          nodes.push(list);
        }
        list.append(withCitations(turn, el("li", "answer-item"), line.slice(2)));
        continue;
      }
      list = null;
      const heading = /:$/.test(line) && !/\[\d+\]/.test(line);
      nodes.push(withCitations(turn, el("p", heading ? "answer-line answer-heading" : "answer-line"), line));
    }
    turn.text.replaceChildren(...nodes);
  }

  function withCitations(turn, node, line) {
    let last = 0;
    for (const match of line.matchAll(/\[(\d+)\]/g)) {
      const citation = turn.citations.get(Number(match[1]));
      if (!citation) continue;
      node.append(document.createTextNode(line.slice(last, match.index)));
      node.append(citeButton(turn, citation));
      last = match.index + match[0].length;
    }
    node.append(document.createTextNode(line.slice(last)));
    return node;
  }

  function noteId(turn, n) {
    return `note-${turn.id}-${n}`;
  }

  // A marker is a button that opens its note; hovering or focusing it previews the quote (a tooltip
  // the button is described by, so a screen reader reads it too; Escape hides it).
  function citeButton(turn, citation) {
    const wrap = el("span", "cite-wrap");
    const button = el("button", "cite", `[${citation.n}]`);
    button.type = "button";
    button.setAttribute("aria-expanded", String(Boolean(document.getElementById(noteId(turn, citation.n)))));
    button.setAttribute("aria-controls", noteId(turn, citation.n));
    button.setAttribute("aria-label", `Source ${citation.n}: ${citation.section}`);
    button.addEventListener("click", () => toggleNote(turn, citation, button));
    const preview = el("span", "cite-preview");
    preview.id = `preview-${turn.id}-${citation.n}-${++previewCount}`;
    preview.setAttribute("role", "tooltip");
    preview.hidden = true;
    preview.append(el("span", "cite-preview-quote", shorten(citation.quote, PREVIEW_CHARS)));
    preview.append(el("span", "cite-preview-section", citation.section));
    button.setAttribute("aria-describedby", preview.id);
    const show = () => {
      preview.hidden = false;
    };
    const hide = () => {
      preview.hidden = true;
    };
    button.addEventListener("mouseenter", show);
    button.addEventListener("focus", show);
    button.addEventListener("mouseleave", () => {
      if (document.activeElement !== button) hide();
    });
    button.addEventListener("blur", hide);
    button.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !preview.hidden) {
        event.stopPropagation();
        hide();
      }
    });
    wrap.append(button, preview);
    return wrap;
  }

  function shorten(text, limit) {
    return text.length <= limit ? text : `${text.slice(0, limit - 1).trimEnd()}…`;
  }

  function toggleNote(turn, citation, button) {
    const existing = document.getElementById(noteId(turn, citation.n));
    if (existing) {
      existing.remove();
      syncButtons(turn, citation.n, false);
      button.focus();
      return;
    }
    const note = el("li", "note");
    note.id = noteId(turn, citation.n);
    note.tabIndex = -1;
    note.setAttribute("aria-label", `Source ${citation.n}`);
    const head = el("div", "note-head");
    const section = el("p", "note-section", `[${citation.n}] ${citation.section}`);
    const close = el("button", "note-close secondary", "Close");
    close.type = "button";
    close.setAttribute("aria-label", `Close source ${citation.n}`);
    close.addEventListener("click", () => toggleNote(turn, citation, button));
    head.append(section, close);
    const quote = el("blockquote", "note-quote", citation.quote);
    const source = el("p", "note-source", `${citation.source} · characters ${citation.start}–${citation.end}`);
    note.append(head, quote, source);
    note.addEventListener("keydown", (event) => {
      if (event.key === "Escape") toggleNote(turn, citation, button);
    });
    note.addEventListener("focusin", () => showWhole(note));
    // Keep the notes in citation order, whichever is opened first.
    const after = [...turn.notes.children].find((other) => Number(other.dataset.n) > citation.n);
    note.dataset.n = String(citation.n);
    turn.notes.insertBefore(note, after || null);
    syncButtons(turn, citation.n, true);
    note.focus({ preventScroll: true });
    showWhole(note);
  }

  // The composer stays at the bottom of the window: a note (or any element) is scrolled until the
  // whole of it is above the composer and below the top.
  function showWhole(node) {
    const box = node.getBoundingClientRect();
    const floor = composer.getBoundingClientRect().top - 8;
    if (box.bottom > floor) window.scrollBy({ top: Math.min(box.bottom - floor, box.top - 8) });
    else if (box.top < 0) window.scrollBy({ top: box.top - 8 });
  }

  function syncButtons(turn, n, expanded) {
    for (const button of turn.text.querySelectorAll(`[aria-controls="${noteId(turn, n)}"]`)) {
      button.setAttribute("aria-expanded", String(expanded));
    }
  }

  function finish(turn, state, labelText) {
    turn.answer.dataset.state = state;
    turn.answer.setAttribute("aria-busy", "false");
    if (labelText) turn.label.textContent = labelText;
  }

  function fail(turn, message) {
    turn.answer.classList.add("failed");
    turn.text.replaceChildren(el("p", "answer-line", message));
    finish(turn, "failed", "Could not answer");
  }

  // A question that failed goes back into the box (unless something new has been typed there meanwhile),
  // to be asked again or mended. When asking again may cure the failure (server unreachable or busy, a
  // gateway error, an answer cut off), the turn also offers Retry, which asks again in its place.
  function failAndKeep(turn, message, question, retryable) {
    fail(turn, message);
    if (retryable) turn.text.append(retryButton(turn, question));
    if (!input.value.trim()) {
      input.value = question;
      autosize();
    }
    announce(
      retryable
        ? "Could not answer. Your question is back in the box; choose Retry to ask it again."
        : "Could not answer. Your question is back in the box.",
    );
  }

  function retryButton(turn, question) {
    const retry = el("button", "retry secondary", "Retry");
    retry.type = "button";
    retry.disabled = busy;
    retry.setAttribute("aria-label", `Retry: ${question}`);
    retry.addEventListener("click", () => {
      if (busy) return;
      turn.answer.closest(".turn").remove();
      if (input.value.trim() === question) {
        input.value = "";
        autosize();
      }
      ask(question);
    });
    return retry;
  }

  // Only one question at a time: Ask and every Retry wait while one is being answered.
  function setBusy(value) {
    busy = value;
    send.disabled = value;
    for (const button of turns.querySelectorAll("button.retry")) button.disabled = value;
  }

  // 408 and 429 say "later"; 5xx are the server's or a gateway's trouble. Other 4xx would fail again as asked.
  function worthRetrying(status) {
    return status === 408 || status === 429 || status >= 500;
  }

  // 👍/👎 under an answer: POST /v1/feedback; the latest choice is the one that counts.
  function feedbackBar(queryId) {
    const bar = el("div", "feedback");
    bar.setAttribute("role", "group");
    bar.setAttribute("aria-label", "Was this answer helpful?");
    const note = el("span", "feedback-note");
    const buttons = [
      ["up", "👍", "Helpful"],
      ["down", "👎", "Not helpful"],
    ].map(([rating, face, label]) => {
      // The words are shown, not only announced: without an emoji font the face is an empty box.
      const button = el("button", "feedback-button secondary");
      const icon = el("span", "feedback-face", face);
      icon.setAttribute("aria-hidden", "true");
      button.append(icon, el("span", "feedback-label", label));
      button.type = "button";
      button.dataset.rating = rating;
      button.title = label;
      button.setAttribute("aria-label", label);
      button.setAttribute("aria-pressed", "false");
      button.addEventListener("click", () => rate(queryId, rating, buttons, note));
      return button;
    });
    bar.append(...buttons, note);
    return bar;
  }

  async function rate(queryId, rating, buttons, note) {
    const body = JSON.stringify({ query_id: queryId, rating });
    const headersNow = headers();
    headersNow.Accept = "application/json";
    try {
      const response = await fetch("/v1/feedback", { method: "POST", headers: headersNow, body });
      if (!response.ok) {
        note.textContent = await errorMessage(response);
        return;
      }
      for (const button of buttons) button.setAttribute("aria-pressed", String(button.dataset.rating === rating));
      note.textContent = "Thanks for the feedback.";
      announce("Feedback recorded.");
    } catch (_) {
      note.textContent = "The feedback could not be sent.";
    }
  }

  // -- asking ---------------------------------------------------------------------------------
  function headers() {
    const result = { "Content-Type": "application/json", Accept: "text/event-stream" };
    const key = sessionStorage.getItem(KEY_STORAGE);
    if (key) result.Authorization = `Bearer ${key}`;
    return result;
  }

  async function errorMessage(response) {
    try {
      const body = await response.json();
      if (body && body.error && body.error.message) return body.error.message;
    } catch (_) {
      // not JSON: fall through to the status line
    }
    return `The server answered ${response.status} ${response.statusText}.`;
  }

  async function ask(question) {
    setBusy(true);
    const controller = new AbortController();
    inFlight = controller;
    const turn = newTurn(question);
    let answerText = "";
    let response = null;
    try {
      response = await fetch("/v1/query/stream", {
        method: "POST",
        headers: headers(),
        body: JSON.stringify({ question, conversation_id: conversationId }),
        signal: controller.signal,
      });
      if (response.status === 401) {
        const hadKey = Boolean(sessionStorage.getItem(KEY_STORAGE));
        sessionStorage.removeItem(KEY_STORAGE);
        pending = { question, item: turn.answer.closest(".turn") };
        fail(turn, hadKey ? "That API key was not accepted; enter another below." : "This service needs an API key; enter it below.");
        keyForm.hidden = false;
        return;
      }
      if (!response.ok) {
        failAndKeep(turn, await errorMessage(response), question, worthRetrying(response.status));
        return;
      }
      for await (const { event, data } of readEvents(response)) {
        if (event === "citations") {
          for (const citation of data.citations) turn.citations.set(citation.n, citation);
          if (!data.answerable) {
            turn.answer.classList.add("abstained");
            turn.label.textContent = "Not covered by the guide";
          }
        } else if (event === "delta") {
          answerText += data.text;
          renderAnswer(turn, answerText);
        } else if (event === "done") {
          turn.answer.dataset.queryId = data.query_id;
          renderAnswer(turn, data.answer);
          finish(turn, "done", data.answerable ? "Answer" : "Not covered by the guide");
          turn.answer.insertBefore(feedbackBar(data.query_id), turn.notes);
        } else if (event === "error") {
          failAndKeep(turn, data.error.message, question, true);
        }
      }
      if (turn.answer.dataset.state === "streaming") {
        failAndKeep(turn, "The answer stopped before it was complete.", question, true);
      }
    } catch (error) {
      if (error.name === "AbortError") finish(turn, "stopped", "Stopped");
      else if (turn.answer.dataset.state === "streaming") {
        // No response at all, or the connection broke while the answer was streaming in.
        const message = response ? "The answer stopped before it was complete." : "The server could not be reached.";
        failAndKeep(turn, message, question, true);
      }
    } finally {
      if (inFlight === controller) inFlight = null;
      setBusy(false);
      (keyForm.hidden ? input : keyInput).focus();
    }
  }

  function submitQuestion() {
    const question = input.value.trim();
    if (!question || busy) return;
    input.value = "";
    autosize();
    ask(question);
  }

  function autosize() {
    input.style.height = "auto";
    input.style.height = `${input.scrollHeight}px`;
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitQuestion();
  });

  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submitQuestion();
    }
  });
  input.addEventListener("input", autosize);

  for (const button of document.querySelectorAll(".suggestion")) {
    button.addEventListener("click", () => {
      input.value = button.textContent;
      submitQuestion();
    });
  }

  newConversation.addEventListener("click", () => {
    if (inFlight) inFlight.abort();
    pending = null;
    conversationId = freshId();
    turns.replaceChildren();
    welcome.hidden = false;
    showConversationLabel();
    announce("New conversation started.");
    input.focus();
  });

  keyForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const key = keyInput.value.trim();
    if (!key) return;
    sessionStorage.setItem(KEY_STORAGE, key);
    keyInput.value = "";
    keyForm.hidden = true;
    if (pending && !busy) {
      const { question, item } = pending;
      pending = null;
      item.remove(); // replaced by the retry
      ask(question);
    }
  });

  showConversationLabel();
  input.focus();
})();
