// Progressive enhancement for the Flywheel console: every page works without this script.
// It adds drag-and-drop uploads, auto-submitting pickers, live job progress and the charts.
(function () {
  "use strict";

  function onReady(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }

  function dropzones() {
    document.querySelectorAll(".dropzone").forEach(function (zone) {
      var input = document.getElementById(zone.dataset.input);
      var chosen = zone.querySelector(".chosen");
      function show() { if (chosen && input.files.length) chosen.textContent = "Chosen: " + input.files[0].name; }
      input.addEventListener("change", show);
      ["dragenter", "dragover"].forEach(function (type) {
        zone.addEventListener(type, function (event) { event.preventDefault(); zone.classList.add("over"); });
      });
      ["dragleave", "drop"].forEach(function (type) {
        zone.addEventListener(type, function () { zone.classList.remove("over"); });
      });
      zone.addEventListener("drop", function (event) {
        event.preventDefault();
        if (event.dataTransfer && event.dataTransfer.files.length) { input.files = event.dataTransfer.files; show(); }
      });
    });
  }

  function autosubmit() {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
  }

  function updateProgress(box, job) {
    var bar = box.querySelector("progress");
    var percent = Math.round(job.progress * 100);
    bar.value = job.progress;
    bar.textContent = percent + "%";
    box.querySelector(".percent").textContent = percent + "%";
    var state = box.querySelector(".state");
    state.textContent = job.state;
    state.className = "state state-" + job.state;
    box.querySelector(".message").textContent = job.message || "";
  }

  function appendLogs(list, lines) {
    lines.forEach(function (line) {
      var item = document.createElement("li");
      var time = document.createElement("time");
      time.textContent = line.at.substring(11, 19);
      item.appendChild(time);
      item.appendChild(document.createTextNode(" " + line.message));
      list.appendChild(item);
      list.dataset.after = line.id;
    });
    if (lines.length) list.scrollTop = list.scrollHeight;
  }

  function finish(job) {
    var error = document.querySelector(".job-error");
    if (error && job.error) { error.textContent = job.error; error.hidden = false; }
    var model = document.querySelector(".job-model");
    if (model && job.model) {
      var link = model.querySelector("a");
      link.textContent = job.model;
      link.href = "/models/" + encodeURIComponent(job.model.split(":")[0]);
      model.hidden = false;
    }
  }

  function pollJobs() {
    var boxes = Array.prototype.filter.call(document.querySelectorAll(".job-progress"), function (box) {
      return box.dataset.finished !== "true";
    });
    if (!boxes.length) return;
    var logs = document.getElementById("logs");
    boxes.forEach(function (box) {
      var id = box.dataset.job;
      var after = logs && logs.dataset.job === id ? logs.dataset.after : "0";
      fetch("/jobs/" + id + "/live?after=" + after, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (job) {
          if (!job) return;
          updateProgress(box, job);
          if (logs && logs.dataset.job === id) appendLogs(logs, job.logs);
          if (job.finished) { box.dataset.finished = "true"; finish(job); }
        })
        .catch(function () { /* the next poll tries again */ });
    });
    setTimeout(pollJobs, 1000);
  }

  function charts() {
    if (typeof Plotly === "undefined") return;
    document.querySelectorAll(".chart[data-figure]").forEach(function (element) {
      var figure = JSON.parse(element.dataset.figure);
      Plotly.newPlot(element, figure.data, figure.layout, { displaylogo: false, responsive: true })
        .then(function () { element.dataset.drawn = "true"; });
    });
  }

  onReady(function () {
    dropzones();
    autosubmit();
    setTimeout(pollJobs, 500);
    charts();
  });
})();
