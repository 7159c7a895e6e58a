// Small enhancements only; every page works without JavaScript.
(function () {
  // Show or hide reporter contact fields by privacy choice on the intake form.
  var privacy = document.querySelectorAll('input[name="reporter_privacy"]');
  function syncPrivacy() {
    var chosen = document.querySelector('input[name="reporter_privacy"]:checked');
    var box = document.getElementById('reporter-contact');
    if (box && chosen) { box.hidden = chosen.value === 'anonymous'; }
  }
  privacy.forEach(function (el) { el.addEventListener('change', syncPrivacy); });
  syncPrivacy();
  // Ask before irreversible actions.
  document.querySelectorAll('form[data-confirm]').forEach(function (form) {
    form.addEventListener('submit', function (e) {
      if (!window.confirm(form.getAttribute('data-confirm'))) { e.preventDefault(); }
    });
  });
})();
