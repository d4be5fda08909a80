// Copy buttons: <button data-copy="element-id" hidden>. Shown only when this script runs.
// Also what would otherwise be inline handlers, which the Content-Security-Policy refuses:
// <select data-submit-on-change> submits its form, <input data-select-on-focus> selects its text.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("select[data-submit-on-change]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
  document.querySelectorAll("input[data-select-on-focus]").forEach(function (input) {
    input.addEventListener("focus", function () { input.select(); });
  });
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var source = document.getElementById(button.dataset.copy);
      var text = source.value !== undefined ? source.value : source.textContent;
      var status = document.getElementById(button.dataset.copy + "-status");
      function done(message) { if (status) { status.textContent = message; } }
      function fallback() {
        if (source.select) {
          source.select();
        } else {
          var range = document.createRange();
          range.selectNodeContents(source);
          window.getSelection().removeAllRanges();
          window.getSelection().addRange(range);
        }
        done(document.execCommand("copy") ? "Copied." : "Selected: press Ctrl+C or ⌘C to copy.");
      }
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text.trim()).then(function () { done("Copied."); }, fallback);
      } else {
        fallback();
      }
    });
  });
});
