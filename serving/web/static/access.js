// A link may carry its token in the URL fragment (never sent to a server, never in logs).
// This moves it into the sign-in form and cleans the page's URL; the customer presses the
// button. It never submits the form itself: any page could send a browser to a link of
// its own and swap the session it holds. Without JavaScript the customer pastes the code.
(function () {
  var m = /(?:^#|&)token=([^&]+)/.exec(window.location.hash || "");
  var form = document.getElementById("access-form");
  if (!m || !form) { return; }
  if (window.history && window.history.replaceState) {
    window.history.replaceState(null, "", window.location.pathname);
  }
  form.elements.namedItem("token").value = decodeURIComponent(m[1]);
})();
