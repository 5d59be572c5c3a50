// Every htmx request carries the page's CSRF token (from the <meta> tag) as a header.
document.addEventListener("htmx:configRequest", function (event) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) { event.detail.headers["X-CSRF-Token"] = meta.content; }
});

// A live part of a page does not refresh while the person is filling a form inside it (an open
// <details>, such as "Confirm delivery…"): the refresh would close it and lose what was typed. Neither a
// new request nor the answer to one already on its way replaces it; the next event or round does.
function fillingIn(target) {
  return Boolean(target && target.hasAttribute("data-live") && target.querySelector("details[open]"));
}
document.addEventListener("htmx:beforeRequest", function (event) {
  if (fillingIn(event.detail.target)) { event.preventDefault(); }
});
document.addEventListener("htmx:beforeSwap", function (event) {
  if (fillingIn(event.detail.target)) { event.detail.shouldSwap = false; }
});

// On a phone the header's links scroll sideways: bring the current page's link into view.
document.addEventListener("DOMContentLoaded", function () {
  var current = document.querySelector('.site-nav a[aria-current="page"]');
  if (current) current.scrollIntoView({ block: "nearest", inline: "center" });
});
