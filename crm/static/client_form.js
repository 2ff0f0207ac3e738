// The customer form (issue 14): the sections of the other kind of customer are hidden and
// disabled (so not sent; the server clears them too), and 客户性质 follows the kind chosen.
(function () {
  'use strict';
  var DEFAULT_NATURE = {organisation: 'ordinary', individual: 'individual'};

  function apply(kindSelect, nature, changed) {
    var kind = kindSelect.value || 'organisation';
    document.querySelectorAll('fieldset[data-crm-kind]').forEach(function (fs) {
      var off = fs.getAttribute('data-crm-kind') !== kind;
      fs.hidden = off;
      fs.disabled = off;
    });
    if (!changed || !nature) { return; }
    if (kind === 'individual' || nature.value === 'individual' || !nature.value) {
      nature.value = DEFAULT_NATURE[kind];
      if (window.jQuery) { window.jQuery(nature).trigger('change'); }  // select2 shows it
    }
  }

  function init() {
    var kindSelect = document.getElementById('kind');
    if (!kindSelect || !document.querySelector('fieldset[data-crm-kind]')) { return; }
    var nature = document.getElementById('nature');
    apply(kindSelect, nature, false);
    kindSelect.addEventListener('change', function () { apply(kindSelect, nature, true); });
    if (window.jQuery) {  // select2 reports its changes through jQuery
      window.jQuery(kindSelect).on('change', function () { apply(kindSelect, nature, true); });
    }
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
