// Tideway feedback widget: Material's "Was this page helpful?" form, sent to the feedback API.
// Theme-level: it reads only the markup of partials/feedback.html (which holds every string).
// Shipped minified as feedback.min.js (npm run build --prefix tests/js; a test keeps the two
// in step), so that widget JS and CSS stay within 4 KB gzipped.
//
// Never loses a click: every answer is put in a bounded queue in localStorage *before* it is
// sent, and stays there until the API answers. Retries (backoff, the `online` event, the next
// page load, in any tab) reuse the item's idempotency key for the POST, or its amend token for
// the PATCH, so a retry can never store a second row. 4xx answers are final: shown, not retried.
(() => {
  // The API takes additions for 30 minutes; the widget stops a minute short of that.
  const AMEND_MS = 29 * 6e4;
  const d = document, QK = "tideway:queue", $ = (e, s) => e.querySelector(s), $$ = (e, s) => e.querySelectorAll(s);
  const on = (e, t, f) => e.addEventListener(t, f), json = JSON.stringify;
  let cur, busy, timer, tries = 0, wait;
  // Where localStorage is refused (disabled, full), the page's memory keeps what it can,
  // as JSON too: callers may change what they load without changing what is stored.
  const mem = {};
  const load = k => { try { return JSON.parse(k in mem ? mem[k] : localStorage.getItem(k)) } catch (e) {} };
  const save = (k, v) => { try { v == null ? localStorage.removeItem(k) : localStorage.setItem(k, json(v)) } catch (e) { mem[k] = json(v) } };
  // Items: {k, sk, x, api, body} until the POST is answered, then {k, sk, api, id, tok, patch}.
  // k: idempotency key; sk: the page's storage key; x: the POST carries follow-up details.
  const queue = fn => {
    let q = load(QK) || [];
    if (fn) save(QK, (q = fn(q) || q).slice(-20));
    return q;
  };
  const find = (q, k) => q.find(i => i.k == k);
  const tell = (it, what) => cur?.k == it.k && cur.on(what, it);

  const flush = () => {
    const it = queue()[0], post = it?.id == null;
    if (busy || !it) return;
    busy = 1;
    clearTimeout(timer);
    const retry = after => {
      busy = 0;
      // To the back of the queue, so that one answer that keeps failing blocks no other;
      // then Retry-After when the server gives one, else 1 s, 2 s, 4 s ... up to a minute.
      queue(q => [...q.filter(y => y.k != it.k), ...q.filter(y => y.k == it.k)]);
      timer = setTimeout(flush, after * 1e3 || Math.min(6e4, 1e3 * 2 ** tries++));
      const mine = cur && find(queue(), cur.k);
      if (mine) cur.on("queued", mine);
    };
    fetch(it.api + "/feedback" + (post ? "" : "/" + it.id), {
      method: post ? "POST" : "PATCH",
      headers: { "Content-Type": "application/json", ...(post ? {} : { Authorization: "Bearer " + it.tok }) },
      body: json(post ? it.body : it.patch),
      signal: AbortSignal.timeout(15e3),
    }).then(async r => {
      const j = await r.json().catch(() => ({})), s = r.status, e = j.error || {};
      if (s == 408 || s == 429 || s > 499) return retry(r.headers.get("Retry-After"));
      busy = 0;
      if (r.ok) {
        tries = 0;
        queue(q => {
          const x = find(q, it.k), st = x && load(x.sk);
          if (!x) return;
          if (post) {
            x.id = j.id;
            x.tok = j.amend_token;
            if (st?.k == x.k) save(x.sk, { ...st, id: x.id, tok: x.tok });
            if (x.patch) return;
          } else if (json(x.patch) != json(it.patch)) return; // amended while in flight
          return q.filter(y => y != x);
        });
        tell(it, "ok");
      } else {
        queue(q => q.filter(y => y.k != it.k)); // refused: never retried
        tell(it, s == 403 || s == 404 ? "expired" : /^unknown_/.test(e.code) ? "no_page"
          : /email/.test(json(e.details)) ? "bad_email" : "invalid");
      }
      flush();
    }, () => retry());
  };

  const mount = () => {
    const f = d.forms.feedback;
    if (!f || f.tw) return;
    f.tw = 1;
    const box = f.parentNode, D = f.dataset, S = JSON.parse(D.tidewayStrings), fs = f.firstElementChild;
    const more = $(box, ".tideway-more"), thanks = $(box, ".tideway-thanks"), status = $(box, ".tideway-status");
    const rated = $(f, ".tideway-rated"), pin = $(box, ".tideway-pin"), send = $(more, "[type=submit]");
    const text = more.comment, email = more.email, notify = more.notify, passage = $(more, ".tideway-passage");
    const count = $(more, "#tideway-count"), sk = "tideway:" + D.tidewayVersion + ":" + D.tidewayPage;
    let rating, quote, anchor;
    const say = m => status.textContent = m;
    const pressed = v => $$(f, "button[data-md-value]").forEach(b => b.setAttribute("aria-pressed", b.dataset.mdValue == v));
    const open = (v, focus) => {
      more.hidden = send.disabled = false;
      thanks.hidden = true;
      $$(more, ".tideway-reasons").forEach(x => x.hidden = x.disabled = x.dataset.mdValue != v);
      $(more, ".tideway-notify").hidden = v != 0;
      (focus || $(more, ".tideway-reasons:not([hidden]) input") || text).focus();
    };
    const reset = () => {
      save(sk);
      rating = page.k = null;
      fs.disabled = false;
      rated.hidden = more.hidden = thanks.hidden = true;
      pressed();
      $$(f, ".md-feedback__note>*").forEach(n => n.hidden = true);
    };
    const rate = (v, x) => {
      const k = Array.from(crypto.getRandomValues(new Uint8Array(16)), b => (b + 256).toString(16).slice(1)).join("");
      const note = $(f, `.md-feedback__note [data-md-value='${v}']`);
      save(sk, { r: v, k, t: Date.now() });
      rating = v;
      page.k = k;
      queue(q => { q.push({ k, sk, x: !!x, api: D.tidewayApi, body: {
        page: D.tidewayPage, version: D.tidewayVersion, rating: v, idempotency_key: k, locale: D.tidewayLocale, ...x } }) });
      fs.disabled = true;
      pressed(v);
      if (note) note.hidden = false; // announced: the notes are a live region (the partial)
      say("");
      flush();
    };
    const done = () => {
      // The thank-you takes the place of Material's note, rather than thanking twice.
      $$(f, ".md-feedback__note>*").forEach(n => n.hidden = true);
      more.hidden = true;
      thanks.hidden = false;
      thanks.focus();
      say("");
      if (rating != 0) return;
      const url = new URL(D.tidewayManifest, location.href), ul = $(thanks, "ul");
      fetch(url).then(r => r.json()).then(m => {
        const p = m.pages.find(x => x.url == D.tidewayPage);
        ul.replaceChildren(...(p?.related || []).slice(0, 3).map(x => {
          const li = d.createElement("li"), a = li.appendChild(d.createElement("a"));
          a.href = new URL(x.url || "./", url); // "" is the version's home page
          a.textContent = x.title || x.url;
          return li;
        }).filter(li => /^https?:$/.test(li.firstChild.protocol)));
        ul.parentNode.hidden = !ul.children.length;
      }).catch(() => {});
    };
    const page = cur = {
      pin, box, art: f.closest("article") || d.body,
      on(what, it) { // `it` as sent: without an id, it was the rating's POST
        if (what == "ok") return (it.id != null || it.x) && done();
        say(S[what]);
        send.disabled = false;
        if (what != "queued" && it.id == null) reset();
      },
      quote(q, a) {
        quote = q;
        anchor = a;
        $(passage, "blockquote").textContent = q;
        passage.hidden = false;
        open(rating ?? 0, text);
      },
    };

    on(f, "submit", e => {
      e.preventDefault();
      const v = e.submitter?.dataset.mdValue;
      if (v != null) {
        rate(+v);
        open(+v);
      }
    });
    on($(rated, "button"), "click", () => {
      const st = load(sk);
      // A change of mind before the first answer was delivered: that one is never sent.
      queue(q => q.filter(i => !(i.k == st?.k && i.id == null)));
      reset();
      say("");
      $(f, "button").focus();
    });
    on(text, "input", () => count.textContent = S.count.replace("{n}", text.value.length));
    on(notify, "change", () => {
      email.parentNode.hidden = !notify.checked;
      notify.checked && email.focus();
    });
    on(more, "submit", e => {
      e.preventDefault();
      const x = {}, reasons = new FormData(more).getAll("reasons");
      if (reasons[0]) x.reasons = reasons;
      if (text.value.trim()) x.comment = text.value;
      if (quote) x.selection = quote;
      if (quote && anchor) x.anchor = anchor;
      if (notify.checked && rating == 0) {
        if (!email.value || !email.checkValidity()) return say(S.bad_email), email.focus();
        x.email = email.value;
        x.notify = true;
      }
      const st = load(sk), it = st && find(queue(), st.k);
      send.disabled = true;
      // Amend this reader's row, or the POST still queued for it; a follow-up sent after the
      // amend window (or a passage on a page not rated yet) is a submission of its own.
      if (st && (it && it.id == null || Date.now() - st.t < AMEND_MS && st.id)) {
        if (!Object.keys(x).length) return done();
        queue(q => {
          let y = find(q, st.k);
          if (!y) q.push(y = { k: st.k, sk, api: D.tidewayApi, id: st.id, tok: st.tok });
          y.patch = { ...y.patch, ...x };
        });
        page.k = st.k;
        flush();
      } else rate(rating ?? 0, x);
      say(S.sending);
    });
    on(pin, "mousedown", e => e.preventDefault()); // keeps the selection
    on(pin, "click", () => {
      pin.hidden = true;
      page.quote(pin.q, pin.a);
    });

    // Answered before (this page, this version): say so, and offer to change it.
    const st = load(sk);
    if (st) {
      rating = st.r;
      page.k = st.k;
      fs.disabled = true;
      pressed(st.r);
      rated.hidden = false;
    }
    f.hidden = false;
    flush();
  };

  // Passage feedback: a small control beside a selection inside the article.
  const selected = () => {
    const p = cur, sel = d.getSelection(), r = sel.rangeCount && sel.getRangeAt(0);
    if (!p || d.activeElement == p.pin) return;
    p.pin.hidden = true; // out of the selection's text and rectangles while they are measured
    const t = r && sel.toString().replace(/\s+/g, " ").trim(), c = r && r.commonAncestorContainer;
    if (!t || !p.art.contains(c) || p.box.contains(c)) return;
    const block = n => { while (n && n.parentNode != p.art) n = n.parentNode; return n };
    let h, blk = block(r.endContainer);
    for (const x of $$(p.art, ":is(h1,h2,h3,h4,h5,h6)[id]")) if (x.compareDocumentPosition(r.startContainer) & 4) h = x;
    p.pin.q = t.slice(0, 500);
    p.pin.a = h?.id;
    // Under the end of the last line that holds selected text (not the empty start of the
    // next block), where a left-to-right selection leaves the pointer.
    const b = [...r.getClientRects()].filter(x => x.width > 1).pop() || r.getBoundingClientRect();
    // Placed right after the last selected block, so Tab from the selection reaches it next
    // (a triple-click ends the range at offset 0 of the block after the paragraph).
    if (!r.endOffset && blk != block(r.startContainer)) blk = blk.previousSibling;
    p.art.insertBefore(p.pin, blk ? blk.nextSibling : p.box);
    p.pin.hidden = false;
    const o = p.pin.offsetParent.getBoundingClientRect(), w = p.pin.offsetWidth;
    p.pin.style.top = b.bottom - o.top + 8 + "px";
    p.pin.style.left = Math.max(0, Math.min(b.right - o.left - w, o.width - w)) + "px";
  };
  on(d, "selectionchange", () => {
    clearTimeout(wait);
    wait = setTimeout(selected, 250);
  });
  on(window, "online", () => flush(tries = 0));
  // Material's instant navigation swaps pages without a reload and announces each on document$.
  if (window.document$) document$.subscribe(mount);
  else if (d.readyState == "loading") on(d, "DOMContentLoaded", mount);
  else mount();
})();
