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
  function hasPage(target, page) {
    var key = target.href;
    if (!manifests[key]) {
      manifests[key] = fetch(new URL("feedback-manifest.json", target))
        .then(function (r) { return r.ok ? r.json() : { pages: [] }; })
        .catch(function () { return { pages: [] }; });
    }
    return manifests[key].then(function (m) {
      return (m.pages || []).some(function (p) { return p.url === page; });
    });
  }
  function samePageIn(target) {
    var page = pageOf(versionRoot());
    return hasPage(target, page).then(function (found) {
      return found ? new URL(encodeURI(page), target) : target;
    });
  }
  function updateBanner() {
    var link = document.querySelector("[data-tideway-latest]");
    if (!link) return;
    var latest = new URL(link.getAttribute("data-tideway-latest") + "/", new URL("../", versionRoot()));
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
    window.document$.subscribe(updateBanner);
  } else {
    updateBanner();
  }
})();
