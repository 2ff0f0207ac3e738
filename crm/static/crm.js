// What Flask-Admin's templates and ours once wrote as inline handlers (onclick=, style=): the
// Content-Security-Policy (crm/security.py) runs no inline script and no inline style, so the
// templates carry data- attributes and this file, loaded on every admin page, acts on them.
(function () {
  'use strict';
  document.addEventListener('click', function (e) {
    var el = e.target.closest ? e.target.closest('a, button, input') : null;
    if (!el) { return; }
    var question = el.getAttribute('data-crm-confirm');
    if (question !== null && !window.confirm(question)) {
      e.preventDefault();
      e.stopImmediatePropagation();
      return;
    }
    var action = el.getAttribute('data-crm-action');
    if (action !== null) {
      e.preventDefault();
      window.modelActions.execute(action);
      return;
    }
    // Flask-Admin's href="javascript:void(0)" placeholders: a javascript: URL is refused (and
    // reported) under the policy; the scripts bound to these links do the work.
    if (el.tagName === 'A' && /^\s*javascript:/i.test(el.getAttribute('href') || '')) {
      e.preventDefault();
    }
  }, true);

  function widths() {
    document.querySelectorAll('[data-crm-width]').forEach(function (el) {
      el.style.width = el.getAttribute('data-crm-width') + '%';  // CSSOM: allowed by the policy
    });
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', widths);
  } else {
    widths();
  }
})();
