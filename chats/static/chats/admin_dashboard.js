// Draws the admin dashboard from the JSON the server computed (chats/compliance/dashboard.py).
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("dashboard-data").textContent);
  var blue = "#2f6fb0", green = "#3a9a5b", orange = "#d9822b", red = "#c0392b", grey = "#7f8c8d";
  Chart.defaults.animation = false;  // a static report; also makes screenshots deterministic
  Chart.defaults.maintainAspectRatio = false;

  function draw(id, config) {
    return new Chart(document.getElementById(id), config);
  }
  function bar(label, values, color) {
    return { label: label, data: values, backgroundColor: color };
  }
  function line(label, values, color) {
    return { label: label, data: values, borderColor: color, backgroundColor: color, tension: 0.2, spanGaps: true };
  }

  draw("chart-messages", { type: "bar", data: { labels: data.messages.labels, datasets: [
    bar("Sent", data.messages.sent, blue), bar("Received", data.messages.received, green)] } });
  draw("chart-rates", { type: "line", data: { labels: data.rates.labels, datasets: [
    line("Delivered %", data.rates.delivery_rate, blue), line("Read %", data.rates.read_rate, green)] },
    options: { scales: { y: { min: 0, max: 100 } } } });
  draw("chart-failures", { type: "bar", data: { labels: data.failures.labels, datasets: [
    bar("Failed messages", data.failures.counts, red)] }, options: { indexAxis: "y" } });
  draw("chart-response", { type: "line", data: { labels: data.response.labels, datasets: [
    line("Median minutes", data.response.median_minutes, orange)] }, options: { scales: { y: { beginAtZero: true } } } });
  draw("chart-consent", { type: "bar", data: { labels: data.consent.labels, datasets: [
    bar("Opt-ins", data.consent.opt_ins, green), bar("Opt-outs", data.consent.opt_outs, red)] } });
  draw("chart-templates", { type: "bar", data: { labels: data.templates.labels, datasets: [
    bar("Messages", data.templates.counts, blue)] }, options: { indexAxis: "y" } });
  draw("chart-reps", { type: "bar", data: { labels: data.reps.labels, datasets: [
    bar("Outbound", data.reps.outbound, blue), bar("Inbound", data.reps.inbound, green)] },
    options: { indexAxis: "y", scales: { x: { stacked: true }, y: { stacked: true } } } });
  draw("chart-numbers", { type: "bar", data: { labels: data.numbers.labels, datasets: [
    bar("Outbound", data.numbers.outbound, blue), bar("Inbound", data.numbers.inbound, grey)] },
    options: { indexAxis: "y", scales: { x: { stacked: true }, y: { stacked: true } } } });

  // Pricing: one stacked bar per month, a segment per category; unpriced in grey, last.
  var palette = ["#c0392b", "#e67e22", "#2f6fb0", "#8e44ad", "#16a085", "#3a9a5b", "#d4ac0d", "#34495e", "#b03a70"];
  var pricing = data.pricing;
  draw("chart-pricing", { type: "bar", data: { labels: pricing.labels, datasets: pricing.categories.map(function (c, i) {
    return bar(c, pricing.counts[c], c === "unpriced" ? grey : palette[i % palette.length]);
  }) }, options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } } });
})();
