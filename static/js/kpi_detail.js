// Draws the KPI detail page's charts: each [data-plotly-figure] element names the json_script element
// holding a figure built on the server (kpis/charts.py). Loaded only on that page, after plotly.min.js.
(function () {
  "use strict";
  function draw() {
    if (typeof Plotly === "undefined") {
      return;
    }
    document.querySelectorAll("[data-plotly-figure]").forEach(function (el) {
      var source = document.getElementById(el.getAttribute("data-plotly-figure"));
      if (!source) {
        return;
      }
      var figure = JSON.parse(source.textContent);
      Plotly.newPlot(el, figure.data, figure.layout, {
        responsive: true,
        displaylogo: false,
        modeBarButtonsToRemove: ["select2d", "lasso2d"],
      });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
