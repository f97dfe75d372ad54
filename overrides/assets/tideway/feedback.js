// Tideway feedback widget: sends Material's "Was this page helpful?" rating to the
// feedback API instead of an analytics service. Theme-level: reads only the form's markup.
(function () {
  "use strict";

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function mount() {
    var form = document.forms.feedback;
    if (!form || form.dataset.tidewayMounted) return;
    form.dataset.tidewayMounted = "1";
    var status = form.querySelector(".tideway-status");
    var api = form.dataset.tidewayApi || "/api/v1";

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = event.submitter;
      if (!button || !button.hasAttribute("data-md-value")) return;
      var value = button.getAttribute("data-md-value");
      var body = {
        page: form.dataset.tidewayPage || "",
        version: form.dataset.tidewayVersion || "",
        rating: parseInt(value, 10),
        idempotency_key: newKey()
      };
      form.firstElementChild.disabled = true;
      fetch(api + "/feedback", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
        credentials: "omit"
      }).then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        var note = form.querySelector(".md-feedback__note [data-md-value='" + value + "']");
        if (note) note.hidden = false;
        form.dataset.tidewaySent = value;
      }).catch(function () {
        form.firstElementChild.disabled = false;
        if (status) status.textContent = "Your answer could not be sent. Please try again.";
      });
    });
    form.hidden = false;
  }

  // Material's instant navigation swaps the page without a reload; document$ tells us.
  if (window.document$ && window.document$.subscribe) {
    window.document$.subscribe(mount);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", mount);
  } else {
    mount();
  }
})();
