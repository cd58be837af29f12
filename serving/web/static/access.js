// Access links carry the token in the URL fragment (never sent to a server, never in
// logs). This moves it into the sign-in form and posts it, then the page's URL is
// clean. Without JavaScript the customer pastes the code into the same form.
(function () {
  var m = /(?:^#|&)token=([^&]+)/.exec(window.location.hash || "");
  var form = document.getElementById("access-form");
  if (!m || !form) { return; }
  if (window.history && window.history.replaceState) {
    window.history.replaceState(null, "", window.location.pathname);
  }
  form.elements.namedItem("token").value = decodeURIComponent(m[1]);
  form.submit();
})();
