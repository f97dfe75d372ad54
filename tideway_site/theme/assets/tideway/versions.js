(function () {
  if (window.__tidewayVersions) return;
  window.__tidewayVersions = true;
  var manifests = {};
  function versionRoot() {
    return typeof __md_scope !== "undefined" ? __md_scope : new URL("./", location);
  }
  function pageOf(root) {
    var path = decodeURI(location.pathname);
    var base = decodeURI(root.pathname);
    return path.indexOf(base) === 0 ? path.slice(base.length) : "";
  }
  // The page's URL in the target version: the same, or where the target's redirects (the
  // manifest's `redirects`, old URL to new) moved it; null when it has neither.
  function pageIn(target, page) {
    var key = target.href;
    if (!manifests[key]) {
      manifests[key] = fetch(new URL("feedback-manifest.json", target))
        .then(function (r) { return r.ok ? r.json() : { pages: [] }; })
        .catch(function () { return { pages: [] }; });
    }
    return manifests[key].then(function (m) {
      var has = function (url) {
        return (m.pages || []).some(function (p) { return p.url === url; });
      };
      if (has(page)) return page;
      var moved = (m.redirects || {})[page];
      return typeof moved === "string" && has(moved) ? moved : null;
    });
  }
  function samePageIn(target) {
    var page = pageOf(versionRoot());
    return pageIn(target, page).then(function (found) {
      return found !== null ? new URL(encodeURI(found), target) : target;
    });
  }
  var versions = null;
  function siteVersions() {
    if (!versions) {
      versions = fetch(new URL("../versions.json", versionRoot()))
        .then(function (r) { return r.ok ? r.json() : []; })
        .catch(function () { return []; });
    }
    return versions;
  }
  // mike's layout: each version at <site>/<version or alias>/, versions.json beside them.
  // A build without the tideway plugin (Zensical) does not know its own version: it is the
  // entry of versions.json that names the version root, as a version or as an alias.
  function rootName() {
    return decodeURI(versionRoot().pathname).split("/").filter(Boolean).pop();
  }
  function entryIndex(list, name) {
    for (var i = 0; i < list.length; i++) {
      if (list[i].version === name || (list[i].aliases || []).indexOf(name) !== -1) return i;
    }
    return -1;
  }
  // One listed before the default is unreleased.
  function describe(banner, latestAlias) {
    siteVersions().then(function (list) {
      var mine = entryIndex(list, rootName());
      var latest = entryIndex(list, latestAlias);
      if (mine === -1) return;
      var kind = latest !== -1 && mine < latest ? "unreleased" : "outdated";
      banner.setAttribute("data-tideway-banner", kind);
      banner.querySelectorAll("[data-tideway-when]").forEach(function (part) {
        part.hidden = part.getAttribute("data-tideway-when") !== kind;
      });
      banner.querySelectorAll("[data-tideway-current]").forEach(function (strong) {
        strong.textContent = list[mine].version;
      });
    });
  }
  // The feedback form of such a build has no version either: the widget (feedback.js) waits
  // for this one to set it, and is told when it is known or cannot be. Feedback given on an
  // alias (latest) is stored under the version the alias names, as the plugin's builds do.
  function supplyVersion() {
    var form = document.forms.feedback;
    if (!form || form.getAttribute("data-tideway-version")) return;
    siteVersions().then(function (list) {
      var mine = list[entryIndex(list, rootName())];
      if (mine) {
        form.setAttribute("data-tideway-version", mine.version);
      } else {
        console.warn(
          "tideway: this page's version is unknown, so the feedback widget cannot send: " +
            "publish the site with mike (a version directory beside versions.json), " +
            "or set extra.tideway.version in the site's configuration."
        );
      }
      // Unless the reader has gone on to another page (instant navigation): that page's
      // form is looked up on its own.
      if (document.forms.feedback === form) form.dispatchEvent(new Event("tideway:version"));
    });
  }
  // A build that runs no plugins (Zensical) leaves Material's outdated slot empty: the
  // banner's markup comes with the page (partials/integrations/analytics.html), in
  // Material's banner box. With the plugin, the slot is filled already.
  function fillSlot() {
    var slot = document.querySelector("[data-md-component=outdated]");
    var markup = document.getElementById("__tideway-banner");
    if (!slot || !markup || slot.querySelector("[data-tideway-banner]")) return;
    var box = document.createElement("aside");
    box.className = "md-banner md-banner--warning";
    var inner = box.appendChild(document.createElement("div"));
    inner.className = "md-banner__inner md-grid md-typeset";
    inner.appendChild(markup.content.cloneNode(true));
    slot.replaceChildren(box);
  }
  function updatePage() {
    supplyVersion();
    fillSlot();
    var link = document.querySelector("[data-tideway-latest]");
    if (!link) return;
    var alias = link.getAttribute("data-tideway-latest");
    var current = document.querySelector("[data-tideway-current]");
    if (current && !current.textContent.trim()) describe(link.closest("[data-tideway-banner]"), alias);
    var latest = new URL(alias + "/", new URL("../", versionRoot()));
    samePageIn(latest).then(function (url) { link.href = url.href + location.hash; });
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest(".md-version__link");
    if (!link || event.button !== 0 || event.metaKey || event.ctrlKey) return;
    event.preventDefault();
    event.stopPropagation();
    samePageIn(new URL(link.href)).then(function (url) { location.href = url.href; });
  }, true);
  if (window.document$ && window.document$.subscribe) {
    window.document$.subscribe(updatePage);
  } else {
    updatePage();
  }
})();
