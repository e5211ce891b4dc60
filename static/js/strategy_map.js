// A fragment link to a closed <details> only scrolls to its summary: open the objective that a map
// node (or a shared link, or the back button) points to, so selecting an objective shows its KPIs.
// Without JavaScript the summary is still there to click.
(function () {
  "use strict";
  function open(id) {
    var target = id && document.getElementById(id);
    if (target && target.tagName === "DETAILS") {
      target.open = true;
    }
  }
  function openHash() {
    open(decodeURIComponent(window.location.hash.slice(1)));
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest('a[href^="#"]');
    if (link) {
      open(link.getAttribute("href").slice(1)); // also when the hash is already this one
    }
  });
  window.addEventListener("hashchange", openHash);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", openHash);
  } else {
    openHash();
  }
})();
