// Tideway feedback widget: Material's "Was this page helpful?" form, sent to the feedback API.
// Theme-level: it reads only the markup of partials/feedback.html (which holds every string).
// Shipped minified as feedback.min.js (npm run build --prefix tests/js; a test keeps the two
// in step), so that widget JS and CSS stay within 4 KB gzipped.
//
// Never loses a click: every answer is put in a bounded queue in localStorage *before* it is
// sent, and stays there until the API answers. Retries (backoff, the `online` event, the next
// page load, in any tab) reuse the item's idempotency key for the POST, or its amend token for
// the PATCH, so a retry can never store a second row. 4xx answers are final: shown, not retried.
//
// What stays in localStorage outlives this script, so its property names are short and fixed:
// - "tideway:queue": items {k, sk, x, api, body} until the POST is answered, then
//   {k, sk, api, id, tok, patch}. k: the idempotency key; sk: the page's storage key (below);
//   x: the POST already carries follow-up details; id, tok: the submission's id and amend token;
//   patch: follow-up details still to be sent.
// - "tideway:<version>:<page>": the reader's answer, {r, k, t, id, tok, until}: rating, key,
//   when it was given, id and token once the POST is answered, and the local time (ms) until
//   which follow-up details amend it rather than make a submission of their own.
(() => {
  const QUEUE_KEY = "tideway:queue";
  const QUEUE_LIMIT = 20;
  // Stop a minute short of the server's amend window, so that a follow-up still on its way
  // when the window closes is not refused.
  const AMEND_MARGIN_MS = 60e3;

  let currentPage, sending = false, retryTimer, failedTries = 0, selectionTimer;

  // Where localStorage is refused (disabled, full), the page's memory keeps what it can,
  // as JSON too: callers may change what they load without changing what is stored.
  const memoryFallback = {};
  const load = key => {
    try {
      return JSON.parse(key in memoryFallback ? memoryFallback[key] : localStorage.getItem(key));
    } catch {}
  };
  const store = (key, value) => {
    try {
      if (value == null) localStorage.removeItem(key);
      else localStorage.setItem(key, JSON.stringify(value));
    } catch {
      memoryFallback[key] = JSON.stringify(value);
    }
  };

  const readQueue = () => load(QUEUE_KEY) || [];
  // `change` edits the queue in place or returns a new one. Only the newest items are kept,
  // so that a browser that is never online again does not fill its storage.
  const changeQueue = change => {
    const queue = readQueue();
    store(QUEUE_KEY, (change(queue) || queue).slice(-QUEUE_LIMIT));
  };
  const findItem = (queue, key) => queue.find(item => item.k == key);

  // Only the page on screen shows outcomes; an item from another page is delivered quietly.
  const report = (item, outcome) => currentPage?.key == item.k && currentPage.show(outcome, item);

  const refusalMessage = (status, error) =>
    status == 403 || status == 404 ? "expired"
      : /^unknown_/.test(error.code) ? "no_page"
        : /email/.test(JSON.stringify(error.details)) ? "bad_email"
          : "invalid";

  // The window's length comes from the server's own clock (amend_until - created_at), and is
  // counted from when its reply arrived here, so a wrong clock in this browser does not
  // matter. An older server does not say: then there is no amending after its reply.
  const amendDeadline = (reply, receivedAt) =>
    (reply.amend_until &&
      receivedAt + Date.parse(reply.amend_until) - Date.parse(reply.created_at) - AMEND_MARGIN_MS) || 0;

  const sendNext = () => {
    const item = readQueue()[0], isPost = item?.id == null;
    if (sending || !item) return;
    sending = true;
    clearTimeout(retryTimer);
    const retryLater = retryAfterSeconds => {
      sending = false;
      // To the back of the queue, so that one answer that keeps failing blocks no other;
      // then Retry-After when the server gives one, else 1 s, 2 s, 4 s ... up to a minute.
      changeQueue(queue => [
        ...queue.filter(other => other.k != item.k),
        ...queue.filter(other => other.k == item.k),
      ]);
      retryTimer = setTimeout(sendNext, retryAfterSeconds * 1e3 || Math.min(60e3, 1e3 * 2 ** failedTries++));
      const pageItem = currentPage && findItem(readQueue(), currentPage.key);
      if (pageItem) currentPage.show("queued", pageItem);
    };
    fetch(item.api + "/feedback" + (isPost ? "" : "/" + item.id), {
      method: isPost ? "POST" : "PATCH",
      headers: {
        "Content-Type": "application/json",
        ...(isPost ? {} : { Authorization: "Bearer " + item.tok }),
      },
      body: JSON.stringify(isPost ? item.body : item.patch),
      signal: AbortSignal.timeout(15e3),
    }).then(async response => {
      const receivedAt = Date.now();
      const reply = await response.json().catch(() => ({}));
      const status = response.status, error = reply.error || {};
      if (status == 408 || status == 429 || status > 499) {
        return retryLater(response.headers.get("Retry-After"));
      }
      sending = false;
      if (response.ok) {
        failedTries = 0;
        changeQueue(queue => {
          const delivered = findItem(queue, item.k), saved = delivered && load(delivered.sk);
          if (!delivered) return;
          if (isPost) {
            delivered.id = reply.id;
            delivered.tok = reply.amend_token;
            // Unless the reader has changed their answer since.
            if (saved?.k == delivered.k) {
              store(delivered.sk, {
                ...saved,
                id: delivered.id,
                tok: delivered.tok,
                until: amendDeadline(reply, receivedAt),
              });
            }
            if (delivered.patch) return; // follow-up details wait for the new token
          } else if (JSON.stringify(delivered.patch) != JSON.stringify(item.patch)) {
            return; // amended while in flight: the newer details still have to go
          }
          return queue.filter(other => other != delivered);
        });
        report(item, "ok");
      } else {
        changeQueue(queue => queue.filter(other => other.k != item.k)); // refused: never retried
        report(item, refusalMessage(status, error));
      }
      sendNext();
    }, () => retryLater());
  };

  // `known`: versions.js has looked the version up (the page had none).
  const mount = known => {
    const form = document.forms.feedback, data = form?.dataset;
    // Wired once, however often the page is announced.
    if (!form || form.tidewayMounted) return;
    // A build that runs no plugins (Zensical) leaves the version out: versions.js finds it
    // in the published site's versions.json, sets it and says so.
    if (!data.tidewayVersion && known != 1) return form.addEventListener("tideway:version", () => mount(1));
    form.tidewayMounted = true;
    const container = form.parentNode, strings = JSON.parse(data.tidewayStrings);
    const ratingFieldset = form.firstElementChild;
    const followUp = container.querySelector(".tideway-more");
    const panel = container.querySelector(".tideway-panel");
    const thanks = panel.querySelector(".tideway-thanks"), thanksText = thanks.firstElementChild;
    const cancelButton = panel.querySelector(".tideway-cancel");
    const statusLine = container.querySelector(".tideway-status");
    const ratedNote = form.querySelector(".tideway-rated");
    const pin = container.querySelector(".tideway-pin");
    const sendButton = followUp.querySelector("[type=submit]");
    const commentBox = followUp.comment, emailInput = followUp.email, notifyBox = followUp.notify;
    const passage = followUp.querySelector(".tideway-passage");
    const counter = followUp.querySelector("#tideway-count");
    const storageKey = "tideway:" + data.tidewayVersion + ":" + data.tidewayPage;
    let rating, quotedText, quotedAnchor;

    const setStatus = message => (statusLine.textContent = message);
    const markPressed = value =>
      form.querySelectorAll("button[data-md-value]").forEach(button =>
        button.setAttribute("aria-pressed", button.dataset.mdValue == value));
    const hideThanks = () => (thanksText.hidden = thanks.lastElementChild.hidden = true);
    // The panel (thank-you, follow-up, status) sits under the ratings, or right after `place`
    // in the article: beside the passage being quoted, where the reader is reading.
    const movePanel = place => {
      (place || form).after(panel);
      cancelButton.hidden = !place;
    };

    const openFollowUp = (value, focusTarget) => {
      followUp.hidden = sendButton.disabled = false;
      hideThanks();
      // Disabled as well as hidden, so that the other rating's reasons are never sent.
      followUp.querySelectorAll(".tideway-reasons").forEach(reasons =>
        (reasons.hidden = reasons.disabled = reasons.dataset.mdValue != value));
      followUp.querySelector(".tideway-notify").hidden = value != 0;
      focusTarget ||= followUp.querySelector(".tideway-reasons:not([hidden]) input") || commentBox;
      // Without scrolling the page; then only as far as needed to show the field.
      focusTarget.focus({ preventScroll: true });
      focusTarget.scrollIntoView({ block: "nearest" });
    };

    const forgetAnswer = () => {
      store(storageKey);
      rating = widget.key = null;
      ratingFieldset.disabled = false;
      ratedNote.hidden = followUp.hidden = true;
      markPressed();
      hideThanks();
    };

    const submitRating = (value, details) => {
      const key = Array.from(crypto.getRandomValues(new Uint8Array(16)), byte =>
        (byte + 256).toString(16).slice(1)).join(""); // two hex digits a byte, zero-padded
      store(storageKey, { r: value, k: key, t: Date.now() });
      rating = value;
      widget.key = key;
      changeQueue(queue => {
        queue.push({
          k: key,
          sk: storageKey,
          x: !!details,
          api: data.tidewayApi,
          body: {
            page: data.tidewayPage,
            version: data.tidewayVersion,
            rating: value,
            idempotency_key: key,
            locale: data.tidewayLocale,
            ...details,
          },
        });
      });
      ratingFieldset.disabled = true;
      markPressed(value);
      setStatus("");
      sendNext();
    };

    // One thank-you, from the rating on (announced: a live region), that stays once the
    // follow-up is sent. Material's own note is not shown, so the reader is thanked once.
    const showThanks = sent => {
      thanksText.hidden = false;
      if (!sent) return;
      followUp.hidden = true;
      thanks.focus();
      setStatus("");
      if (rating != 0) return;
      const manifestUrl = new URL(data.tidewayManifest, location.href), list = thanks.querySelector("ul");
      fetch(manifestUrl).then(response => response.json()).then(manifest => {
        const entry = manifest.pages.find(page => page.url == data.tidewayPage);
        const items = (entry?.related || []).slice(0, 3).map(related => {
          const item = document.createElement("li"), link = item.appendChild(document.createElement("a"));
          link.href = new URL(related.url || "./", manifestUrl); // "" is the version's home page
          link.textContent = related.title || related.url;
          return item;
        });
        // The manifest is data, not markup: no javascript: or other links that are not pages.
        list.replaceChildren(...items.filter(item => /^https?:$/.test(item.firstChild.protocol)));
        list.parentNode.hidden = !list.children.length;
      }).catch(() => {}); // the related pages are a courtesy; the thank-you stands without them
    };

    const widget = (currentPage = {
      pin,
      container,
      panel,
      article: form.closest("article") || document.body,
      // `item` as it was sent: without an id, it was the rating's POST, which needs no
      // thank-you of its own unless it carried follow-up details.
      show(outcome, item) {
        if (outcome == "ok") return (item.id != null || item.x) && showThanks(true);
        setStatus(strings[outcome]);
        sendButton.disabled = false;
        // A refused rating was never stored: the reader may rate again.
        if (outcome != "queued" && item.id == null) forgetAnswer();
      },
      quotePassage(text, anchor) {
        quotedText = text;
        quotedAnchor = anchor;
        passage.querySelector("blockquote").textContent = text;
        passage.hidden = false;
        movePanel(pin);
        openFollowUp(rating ?? 0, commentBox);
      },
    });

    // The rating is taken on the button's click, not on the form's submit: an analytics
    // provider's script (extra.analytics.provider) binds the same buttons and cancels the
    // submit, and keeps its own feedback event; the widget works beside it.
    const rate = value => {
      submitRating(+value);
      movePanel();
      openFollowUp(+value);
      showThanks();
    };
    form.querySelectorAll("button[data-md-value]").forEach(button =>
      button.addEventListener("click", event => {
        event.preventDefault();
        rate(button.dataset.mdValue);
      }));
    form.addEventListener("submit", event => event.preventDefault());
    ratedNote.querySelector("button").addEventListener("click", () => {
      const saved = load(storageKey);
      // A change of mind before the first answer was delivered: that one is never sent.
      changeQueue(queue => queue.filter(item => !(item.k == saved?.k && item.id == null)));
      forgetAnswer();
      setStatus("");
      form.querySelector("button").focus();
    });
    commentBox.addEventListener("input", () =>
      (counter.textContent = strings.count.replace("{n}", commentBox.value.length)));
    notifyBox.addEventListener("change", () => {
      emailInput.parentNode.hidden = !notifyBox.checked;
      if (notifyBox.checked) emailInput.focus();
    });
    followUp.addEventListener("submit", event => {
      event.preventDefault();
      const details = {}, reasons = new FormData(followUp).getAll("reasons");
      if (reasons[0]) details.reasons = reasons;
      if (commentBox.value.trim()) details.comment = commentBox.value;
      if (quotedText) details.selection = quotedText;
      if (quotedText && quotedAnchor) details.anchor = quotedAnchor;
      if (notifyBox.checked && rating == 0) {
        if (!emailInput.value || !emailInput.checkValidity()) {
          setStatus(strings.bad_email);
          emailInput.focus();
          return;
        }
        details.email = emailInput.value;
        details.notify = true;
      }
      const saved = load(storageKey), queued = saved && findItem(readQueue(), saved.k);
      sendButton.disabled = true;
      // Amend this reader's row, or the POST still queued for it; a follow-up sent after the
      // amend window (or a passage on a page not rated yet) is a submission of its own.
      if (saved && ((queued && queued.id == null) || (saved.id && Date.now() < saved.until))) {
        if (!Object.keys(details).length) return showThanks(true);
        changeQueue(queue => {
          let pending = findItem(queue, saved.k);
          if (!pending) {
            pending = { k: saved.k, sk: storageKey, api: data.tidewayApi, id: saved.id, tok: saved.tok };
            queue.push(pending);
          }
          // Merged with details not sent yet, so that a retry sends them all.
          pending.patch = { ...pending.patch, ...details };
        });
        widget.key = saved.k;
        sendNext();
      } else submitRating(rating ?? 0, details);
      setStatus(strings.sending);
    });
    pin.addEventListener("mousedown", event => event.preventDefault()); // keeps the selection
    pin.addEventListener("focus", () => (widget.offerPin = false));
    pin.addEventListener("click", () => {
      pin.hidden = true;
      widget.quotePassage(widget.selectedText, widget.selectedAnchor);
    });
    // Not sending feedback on the passage: the panel goes back under the ratings, and focus
    // back to the passage control, where the reader was.
    const cancelPassage = () => {
      quotedText = null;
      passage.hidden = followUp.hidden = true;
      movePanel();
      setStatus("");
      pin.hidden = false;
      pin.focus();
    };
    cancelButton.addEventListener("click", cancelPassage);
    panel.addEventListener("keydown", event => event.key == "Escape" && !cancelButton.hidden && cancelPassage());

    // Answered before (this page, this version): say so, and offer to change it.
    const earlier = load(storageKey);
    if (earlier) {
      rating = earlier.r;
      widget.key = earlier.k;
      ratingFieldset.disabled = true;
      markPressed(earlier.r);
      ratedNote.hidden = false;
    }
    form.hidden = false;
    // Sent without a version, an answer could only be refused: the reader is told at once.
    if (!data.tidewayVersion) {
      ratingFieldset.disabled = true;
      setStatus(strings.no_page);
    }
    sendNext(); // whatever an earlier page load left in the queue
  };

  // Passage feedback: a small control beside a selection inside the article.
  const placePin = () => {
    const widget = currentPage, selection = document.getSelection();
    const range = selection.rangeCount && selection.getRangeAt(0);
    // Tabbing to the control must not take it away.
    if (!widget || document.activeElement == widget.pin) return;
    const { pin, article } = widget;
    pin.hidden = true; // out of the selection's text and rectangles while they are measured
    // An emptied selection (no range) has no text: leave before anything asks for its node.
    const text = range && selection.toString().replace(/\s+/g, " ").trim();
    if (!text) return;
    const common = range.commonAncestorContainer;
    const inWidget = [widget.container, widget.panel].some(part => part.contains(common));
    if (!article.contains(common) || inWidget) return;
    const blockOf = node => {
      while (node && node.parentNode != article) node = node.parentNode;
      return node;
    };
    let heading, block = blockOf(range.endContainer);
    for (const candidate of article.querySelectorAll(":is(h1,h2,h3,h4,h5,h6)[id]")) {
      if (candidate.compareDocumentPosition(range.startContainer) & Node.DOCUMENT_POSITION_FOLLOWING) {
        heading = candidate;
      }
    }
    widget.selectedText = text.slice(0, 500);
    widget.selectedAnchor = heading?.id;
    // Under the end of the last line that holds selected text (not the empty start of the
    // next block), where a left-to-right selection leaves the pointer.
    const lastLine =
      [...range.getClientRects()].filter(rect => rect.width > 1).pop() || range.getBoundingClientRect();
    // Placed right after the last selected block, so Tab from the selection reaches it next
    // (a triple-click ends the range at offset 0 of the block after the paragraph).
    if (!range.endOffset && block != blockOf(range.startContainer)) block = block.previousSibling;
    article.insertBefore(pin, block ? block.nextSibling : widget.container);
    pin.hidden = false;
    widget.offerPin = true; // until the control takes focus (the Tab below)
    const origin = pin.offsetParent.getBoundingClientRect(), width = pin.offsetWidth;
    pin.style.top = lastLine.bottom - origin.top + 8 + "px";
    pin.style.left = Math.max(0, Math.min(lastLine.right - origin.left - width, origin.width - width)) + "px";
  };

  document.addEventListener("selectionchange", () => {
    // Once the reader has stopped dragging.
    clearTimeout(selectionTimer);
    selectionTimer = setTimeout(placePin, 250);
  });
  // Keyboard users select text with shift+arrows (caret browsing), but Tab moves on from the
  // last focused element, not from the selection, so it would never reach the control. The
  // first Tab after a selection goes to the control; the next ones go on from there.
  document.addEventListener("keydown", event => {
    const widget = currentPage;
    if (event.key == "Tab" && !event.shiftKey && widget?.offerPin && !widget.pin.hidden) {
      event.preventDefault();
      widget.pin.focus();
    }
  });
  window.addEventListener("online", () => {
    failedTries = 0;
    sendNext();
  });
  // Material's instant navigation swaps pages without a reload and announces each on document$.
  if (window.document$) document$.subscribe(mount);
  else if (document.readyState == "loading") document.addEventListener("DOMContentLoaded", mount);
  else mount();
})();
