// NCC BREXIT dashboard, "Dampak" page: the trend charts (uPlot, vendored). Every chart has
// a table with the same numbers behind it; a figure not shown ("< 5") is a gap.
(function () {
  "use strict";
  const data = document.getElementById("impact-data");
  if (!data) return;
  function draw(id, trend) {
    const box = document.getElementById(id);
    if (!box || !trend || !window.uPlot) return;
    const xs = trend.x.map((d) => Date.parse(d + "T00:00:00+07:00") / 1000);
    const day = (ts) => new Date(ts * 1000 + 7 * 3600 * 1000).toISOString().slice(5, 10);
    new window.uPlot({
      width: Math.max(300, box.clientWidth || 600), height: 240,
      scales: { x: { time: true }, pct: { range: [0, 100] } },
      series: [{ label: "Periode", value: (u, ts) => (ts === null ? "—" : day(ts)) },
        { label: "Tiket kios Braille", stroke: "#1d4ed8", width: 2, paths: window.uPlot.paths.bars ? window.uPlot.paths.bars({ size: [0.6] }) : undefined, fill: "rgba(29,78,216,0.25)" },
        { label: "Kemandirian (%)", stroke: "#9a3412", width: 2, dash: [6, 4], scale: "pct", spanGaps: false }],
      axes: [{ values: (u, splits) => splits.map(day) }, { label: "tiket" },
        { side: 1, scale: "pct", label: "%", grid: { show: false } }],
    }, [xs, trend.braille, trend.independence], box);
  }
  window.addEventListener("load", () => {
    const charts = JSON.parse(data.textContent);
    draw("chart-city", charts.city);
    draw("chart-site", charts.site);
  });
})();
