// Progressive enhancement for the benchmark site: everything works without it.
(function () {
  "use strict";
  document.documentElement.classList.replace("no-js", "js");
  var here = location.pathname;
  document.querySelectorAll(".site-nav__link, .sidebar__link").forEach(function (link) {
    if (link.getAttribute("href") === here) {
      link.setAttribute("aria-current", "page");
    }
  });
})();
