// Progressive enhancement for the Flywheel console: every page works without this script.
// It adds drag-and-drop uploads, auto-submitting pickers, live job progress, the charts, chat turns
// without a page reload and recording from the microphone.
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

  function element(tag, className, text) {
    var made = document.createElement(tag);
    if (className) made.className = className;
    if (text !== undefined) made.textContent = text;
    return made;
  }

  function understood(turn) {
    var list = element("dl", "nlu");
    var slots = Object.keys(turn.slots || {}).filter(function (name) { return turn.slots[name] !== null; })
      .map(function (name) {
        var value = turn.slots[name];
        return name + " = " + (value && typeof value === "object" && "value" in value ? value.value : value);
      });
    var state = turn.dialog_state + (turn.slot_to_elicit ? " (asking for " + turn.slot_to_elicit + ")" : "");
    [["Intent", turn.intent, "intent"], ["Confidence", Math.round(turn.confidence * 100) + "%"],
     ["Slots", slots.join(", ") || "none", "slots"], ["Dialog", state]].forEach(function (row) {
      list.appendChild(element("dt", "", row[0]));
      list.appendChild(element("dd", row[2] || "", row[1]));
    });
    return list;
  }

  function addTurn(turns, who, text, turn) {
    var item = element("li", "turn " + who);
    item.appendChild(element("span", "speaker", who === "user" ? "You" : "Bot"));
    item.appendChild(document.createTextNode(" "));
    item.appendChild(element("span", "said", text));
    if (turn) item.appendChild(understood(turn));
    turns.appendChild(item);
    turns.scrollTop = turns.scrollHeight;
    return item;
  }

  // A chat turn is the same form post, answered as JSON: the conversation grows in place.
  function chat() {
    var form = document.getElementById("chat-form");
    if (!form || !window.fetch || !window.FormData) return;
    var turns = document.getElementById("chat-turns");
    var box = document.getElementById("chat-text");
    var problem = document.querySelector(".chat-problem");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = box.value.trim();
      if (!text) { problem.textContent = "text: type something to say"; problem.hidden = false; return; }
      var data = new FormData(form);
      var button = form.querySelector("button[type=submit]");
      button.disabled = true;
      problem.hidden = true;
      fetch(form.action, { method: "POST", body: data, headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.json().then(function (body) { return [response.ok, body]; }); })
        .then(function (answer) {
          if (!answer[0]) throw new Error(answer[1].error ? answer[1].error.message : "the bot did not answer");
          var turn = answer[1].predictions[0];
          addTurn(turns, "user", text);
          addTurn(turns, "bot", turn.message || "…", turn).dataset.prediction = answer[1].prediction_ids[0];
          box.value = "";
        })
        .catch(function (error) { problem.textContent = "That did not work: " + error.message; problem.hidden = false; })
        .then(function () { button.disabled = false; box.focus(); });
    });
  }

  // Record from the microphone where the browser allows it: the recording becomes the form's file,
  // so it is sent exactly like an uploaded one.
  function recorders() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.MediaRecorder || !window.DataTransfer) return;
    document.querySelectorAll(".recorder[data-input]").forEach(function (box) {
      var input = document.getElementById(box.dataset.input);
      var button = box.querySelector("button");
      var status = box.querySelector(".record-status");
      var recorder = null;
      box.hidden = false;
      button.addEventListener("click", function () {
        if (recorder && recorder.state === "recording") { recorder.stop(); return; }
        navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
          var chunks = [];
          var began = Date.now();
          recorder = new MediaRecorder(stream);
          recorder.addEventListener("dataavailable", function (event) { if (event.data.size) chunks.push(event.data); });
          recorder.addEventListener("stop", function () {
            stream.getTracks().forEach(function (track) { track.stop(); });
            var type = (recorder.mimeType || "audio/webm").split(";")[0];
            var file = new File(chunks, "recording." + (type.split("/")[1] || "webm"), { type: type });
            var transfer = new DataTransfer();
            transfer.items.add(file);
            input.files = transfer.files;
            button.textContent = "Record again";
            button.setAttribute("aria-pressed", "false");
            status.textContent = "Recorded " + ((Date.now() - began) / 1000).toFixed(1) + " s: press Transcribe.";
          });
          recorder.start();
          button.textContent = "Stop recording";
          button.setAttribute("aria-pressed", "true");
          status.textContent = "Recording…";
        }).catch(function (error) { status.textContent = "The microphone is not available: " + error.message; });
      });
    });
  }

  onReady(function () {
    dropzones();
    chat();
    recorders();
    autosubmit();
    setTimeout(pollJobs, 500);
    charts();
  });
})();
