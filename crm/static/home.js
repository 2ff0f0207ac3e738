/* The home page's charts (issue 15): each .crm-chart fetches its own JSON, draws it with
   Apache ECharts (vendored in static/vendor/echarts) in the page's language, fills the table
   of its figures, and opens the list a bar or slice counts when it is clicked. For print the
   tables open and each chart is replaced by a still image of itself. */
(function () {
  "use strict";
  var zh = (document.documentElement.lang || "zh").toLowerCase().indexOf("zh") === 0;
  var moneyFormat = new Intl.NumberFormat(zh ? "zh-CN" : "en",
    {minimumFractionDigits: 2, maximumFractionDigits: 2});
  var countFormat = new Intl.NumberFormat(zh ? "zh-CN" : "en");
  var drawn = [];

  function fmt(data, value) { return (data.money ? moneyFormat : countFormat).format(value || 0); }

  function option(data) {
    var horizontal = data.kind === "hbar";
    var categoryAxis = {type: "category", data: data.categories, name: data.category_label,
                        axisLabel: {interval: horizontal ? 0 : "auto", hideOverlap: true}};
    var valueAxis = {type: "value", axisLabel: {formatter: function (v) {
      return countFormat.format(v); }}};
    if (horizontal) { categoryAxis.inverse = true; }
    return {
      aria: {enabled: true},
      animation: false,
      tooltip: {trigger: "axis", valueFormatter: function (v) { return fmt(data, v); }},
      legend: {show: data.series.length > 1, top: 0},
      grid: {left: 8, right: 24, top: data.series.length > 1 ? 36 : 16, bottom: 8,
             containLabel: true},
      xAxis: horizontal ? valueAxis : categoryAxis,
      yAxis: horizontal ? categoryAxis : valueAxis,
      series: data.series.map(function (s, i) {
        return {type: data.kind === "line" ? "line" : "bar", name: s.name, data: s.data,
                stack: data.stack ? "total" : undefined,
                cursor: data.links[i].some(Boolean) ? "pointer" : "default"};
      })
    };
  }

  function cell(tag, text) {
    var el = document.createElement(tag);
    el.textContent = text;
    return el;
  }

  function table(box, data) {
    var t = document.createElement("table");
    t.className = "table table-sm table-striped crm-chart-table";
    var caption = cell("caption", (box.getAttribute("data-caption") || data.title) +
                       (data.note ? " (" + data.note + ")" : ""));
    t.appendChild(caption);
    var head = t.createTHead().insertRow();
    [data.category_label].concat(data.series.map(function (s) { return s.name; }))
      .forEach(function (h) { var th = cell("th", h); th.scope = "col"; head.appendChild(th); });
    var body = t.createTBody();
    data.categories.forEach(function (c, i) {
      var row = body.insertRow();
      var th = cell("th", c); th.scope = "row"; row.appendChild(th);
      data.series.forEach(function (s, j) {
        var td = row.insertCell();
        td.className = "text-right";
        var url = data.links[j][i];
        if (url) {
          var a = cell("a", fmt(data, s.data[i]));
          a.href = url;
          td.appendChild(a);
        } else {
          td.textContent = fmt(data, s.data[i]);
        }
      });
    });
    box.textContent = "";
    box.appendChild(t);
  }

  function draw(el, data) {
    var chart = echarts.init(el, null, {locale: zh ? "ZH" : "EN", renderer: "canvas"});
    chart.setOption(option(data));
    chart.on("click", function (p) {
      var url = (data.links[p.seriesIndex] || [])[p.dataIndex];
      if (url) { window.location.href = url; }
    });
    drawn.push({el: el, chart: chart});
    var empty = data.series.every(function (s) { return s.data.every(function (v) { return !v; }); });
    if (empty) { el.setAttribute("data-state", "empty"); el.title = el.getAttribute("data-empty"); }
    el.setAttribute("data-state", empty ? "empty" : "drawn");
  }

  function load(el) {
    fetch(el.getAttribute("data-src"), {credentials: "same-origin",
                                        headers: {"Accept": "application/json"}})
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (data) {
        draw(el, data);
        if (data.note) {
          var note = cell("p", data.note);
          note.className = "small text-muted crm-chart-note";
          el.parentNode.insertBefore(note, el.nextSibling);
        }
        var box = document.getElementById(el.getAttribute("data-table"));
        if (box) { table(box, data); }
      })
      .catch(function () {
        el.setAttribute("data-state", "failed");
        el.appendChild(cell("p", el.getAttribute("data-failed")));
      });
  }

  document.querySelectorAll(".crm-chart[data-src]").forEach(load);

  window.addEventListener("resize", function () {
    drawn.forEach(function (d) { d.chart.resize(); });
  });
  // Print: every table open, every chart a still image (a canvas may not print at its size).
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details.crm-chart-figures").forEach(function (d) { d.open = true; });
    drawn.forEach(function (d) {
      if (d.image) { return; }
      var img = document.createElement("img");
      img.className = "crm-chart-print";
      img.alt = d.el.getAttribute("aria-label") || "";
      img.src = d.chart.getDataURL({pixelRatio: 2, backgroundColor: "#fff"});
      d.el.parentNode.insertBefore(img, d.el.nextSibling);
      d.image = img;
    });
  });
})();
