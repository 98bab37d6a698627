/* The student page's mastery history, drawn with uPlot (vendor/uPlot.iife.min.js).

   Reads the JSON island <script type="application/json" id="history-data"> — exactly
   what GET /progress/{id}/history answers: {student_id, points: [{topic_id, day, score,
   level}]}, topic "*" being the overall mastery — and draws one line per topic plus the
   overall one (thicker) into [data-testid=history-chart]. Days are UTC; x is in epoch
   seconds, as uPlot's time scale expects. Lines differ by dash pattern as well as by
   colour, so colour is never the only cue; the page has the same numbers as a table. */
(function () {
  "use strict";

  var OVERALL = "*";
  var COLOURS = ["#0b5cad", "#a40e26", "#1a7f37", "#8a4600", "#6f42c1", "#0a7281", "#b0236f", "#57606a"];
  var DASHES = [[], [8, 4], [2, 3], [12, 3, 2, 3], [4, 4], [1, 4], [16, 4], [6, 2, 2, 2]];
  var island = document.getElementById("history-data");
  var box = document.querySelector('[data-testid="history-chart"]');
  if (!island || !box || typeof window.uPlot !== "function") {
    return;
  }
  var points = JSON.parse(island.textContent).points || [];
  if (!points.length) {
    return;
  }

  var DAY = 86400;
  var DAY_STEPS = [DAY, 2 * DAY, 7 * DAY, 14 * DAY, 28 * DAY, 91 * DAY];

  function dayLabels(u, splits) {
    return splits.map(function (seconds) {
      return new Date(seconds * 1000).toISOString().slice(0, 10);
    });
  }

  // the days drawn: those with points, and a day either side of a single one (uPlot
  // would draw a lone day at the left edge of a one-day axis)
  function dayRange(u, min, max) {
    var xs = u.data[0];
    var only = xs.length > 0 && xs[0] === xs[xs.length - 1] ? xs[0] : null;
    return only === null ? [min, max] : [only - DAY, only + DAY];
  }

  function epochSeconds(day) {
    return Date.parse(day + "T00:00:00Z") / 1000;
  }

  // [x values, then one array per topic aligned with x (null: no point that day)]
  function columns(topics, days) {
    var index = {};
    days.forEach(function (day, i) {
      index[day] = i;
    });
    var data = [days.map(epochSeconds)];
    topics.forEach(function (topic) {
      var ys = days.map(function () {
        return null;
      });
      points.forEach(function (p) {
        if (p.topic_id === topic) {
          ys[index[p.day]] = p.score;
        }
      });
      data.push(ys);
    });
    return data;
  }

  function uniqueSorted(values) {
    return values.filter(function (v, i) {
      return values.indexOf(v) === i;
    }).sort();
  }

  function line(topic, i) {
    var overall = topic === OVERALL;
    return {
      label: overall ? "Overall" : topic,
      stroke: overall ? "#1b1f24" : COLOURS[i % COLOURS.length],
      width: overall ? 3 : 2,
      dash: overall ? [] : DASHES[i % DASHES.length],
      spanGaps: true,
      points: { show: true, size: 6 },
      value: function (u, v) {
        return v == null ? "–" : v.toFixed(1);
      },
    };
  }

  var topics = uniqueSorted(points.map(function (p) {
    return p.topic_id;
  }));
  // the overall line first, then the topics by name
  topics = topics.filter(function (t) { return t === OVERALL; })
    .concat(topics.filter(function (t) { return t !== OVERALL; }));
  var days = uniqueSorted(points.map(function (p) {
    return p.day;
  }));

  function size() {
    return { width: Math.max(280, box.clientWidth), height: 320 };
  }

  var dims = size();
  var options = {
    width: dims.width,
    height: dims.height,
    tzDate: function (ts) {
      return window.uPlot.tzDate(new Date(ts * 1000), "Etc/UTC");
    },
    padding: [12, 48, 0, 0], // room for the last day's label
    scales: { x: { time: true, range: dayRange }, y: { range: [0, 100] } },
    series: [{ label: "Day (UTC)", value: "{YYYY}-{MM}-{DD}" }].concat(topics.map(line)),
    axes: [
      // whole days only (the history has one point per day), written as the table does
      { space: 90, incrs: DAY_STEPS, values: dayLabels },
      { label: "Mastery (0–100)" },
    ],
  };
  var chart = new window.uPlot(options, columns(topics, days), box);

  if (typeof window.ResizeObserver === "function") {
    new window.ResizeObserver(function () {
      var next = size();
      if (next.width !== chart.width) {
        chart.setSize(next);
      }
    }).observe(box);
  }
})();
