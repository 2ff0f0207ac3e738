/* Names and roles that assistive technology needs on markup built by scripts (issue 20).
 *
 * Flask-Admin's dropdowns are select2 3.5 widgets. Each has a mouse-only link (tabindex -1, no
 * text until a value is chosen) and a hidden text input that takes the keyboard focus with
 * role="button", which a text input may not have. The link is hidden from the accessibility
 * tree; the input becomes what it is, a combobox named by the field's label and the chosen value.
 * Widgets are fixed as they appear (forms build them after load, inline forms later still). */
(function () {
  'use strict';
  var seq = 0;

  function fixSelect2(container) {
    var choice = container.querySelector('a.select2-choice');
    if (choice) {
      choice.setAttribute('aria-hidden', 'true');
    }
    var focusser = container.querySelector('input.select2-focusser');
    if (!focusser || focusser.getAttribute('data-crm-a11y')) {
      return;
    }
    focusser.setAttribute('data-crm-a11y', '1');
    focusser.setAttribute('role', 'combobox');
    focusser.setAttribute('aria-expanded', 'false');
    focusser.setAttribute('aria-haspopup', 'listbox');
    var label = focusser.id && container.querySelector('label[for="' + focusser.id + '"]');
    var chosen = container.querySelector('.select2-chosen');
    var ids = [];
    [label, chosen].forEach(function (el) {
      if (el) {
        if (!el.id) { el.id = 'crm-a11y-' + (++seq); }
        ids.push(el.id);
      }
    });
    if (ids.length) { focusser.setAttribute('aria-labelledby', ids.join(' ')); }
    var results = container.querySelector('.select2-results');
    if (results && results.id) { focusser.setAttribute('aria-controls', results.id); }
  }

  function scan(root) {
    if (root.nodeType !== 1) { return; }
    if (root.classList.contains('select2-container')) { fixSelect2(root); }
    Array.prototype.forEach.call(root.querySelectorAll('.select2-container'), fixSelect2);
  }

  function expanded(container) {
    if (!container.classList || !container.classList.contains('select2-container')) { return; }
    var focusser = container.querySelector('input.select2-focusser');
    if (focusser) {
      var open = container.classList.contains('select2-dropdown-open');
      focusser.setAttribute('aria-expanded', open ? 'true' : 'false');
    }
  }

  new MutationObserver(function (records) {
    records.forEach(function (r) {
      if (r.type === 'attributes') {
        expanded(r.target);
      } else {
        Array.prototype.forEach.call(r.addedNodes, scan);
      }
    });
  }).observe(document.documentElement, {childList: true, subtree: true, attributes: true,
                                         attributeFilter: ['class']});
  document.addEventListener('DOMContentLoaded', function () { scan(document.body); });

  /* Bootstrap's tooltips move an element's title away when they start: an icon-only link
   * described by its tooltip (Flask-Admin's column descriptions) keeps it as its name. */
  function nameTooltips() {
    Array.prototype.forEach.call(
      document.querySelectorAll('[data-role="tooltip"][title]:not([aria-label])'),
      function (el) { el.setAttribute('aria-label', el.getAttribute('title')); });
  }
  nameTooltips();
  document.addEventListener('DOMContentLoaded', nameTooltips);
})();
