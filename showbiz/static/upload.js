// Upload with a progress bar and a cancel button; without this script the form posts normally.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form || !window.XMLHttpRequest) return;
  var input = document.getElementById("audio");
  var bar = document.getElementById("progress-bar");
  var text = document.getElementById("progress-text");
  var box = document.getElementById("upload-progress");
  var cancel = document.getElementById("cancel-button");
  var submit = document.getElementById("upload-button");
  var xhr = null;

  function showError(message) {
    var old = document.getElementById("audio-error");
    if (old) old.remove();
    var p = document.createElement("p");
    p.className = "error"; p.id = "audio-error"; p.setAttribute("role", "alert");
    p.textContent = message;
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", "audio-help audio-error");
    input.insertAdjacentElement("afterend", p);
  }

  function reset() {
    xhr = null; cancel.hidden = true; submit.disabled = false;
  }

  function showResult(info) {
    var facts = document.getElementById("upload-facts");
    var rows = [["Title", info.title], ["File", info.filename], ["Length", info.duration],
                ["Format", info.mime_type], ["Size", (info.size_bytes / 1048576).toFixed(1) + " MB"],
                ["Bitrate", info.bitrate ? Math.round(info.bitrate / 1000) + " kbps" : "unknown"],
                ["Sample rate", info.sample_rate ? info.sample_rate + " Hz" : "unknown"],
                ["Channels", info.channels || "unknown"], ["Chapters", info.chapters],
                ["Cover art", info.artwork ? "yes" : "no"]];
    facts.textContent = "";
    rows.forEach(function (row) {
      var dt = document.createElement("dt"); dt.textContent = row[0];
      var dd = document.createElement("dd"); dd.textContent = row[1];
      facts.append(dt, dd);
    });
    var list = document.getElementById("upload-warnings");
    list.textContent = "";
    info.warnings.forEach(function (w) {
      var li = document.createElement("li"); li.textContent = w; list.append(li);
    });
    document.getElementById("edit-link").href = info.edit_url;
    document.getElementById("upload-result").hidden = false;
  }

  form.addEventListener("submit", function (event) {
    var file = input.files[0];
    if (!file) return;
    event.preventDefault();
    var title = document.getElementById("title").value;
    xhr = new XMLHttpRequest();
    xhr.open("POST", form.dataset.uploadUrl + "?title=" + encodeURIComponent(title));
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.setRequestHeader("X-Filename", encodeURIComponent(file.name));
    xhr.setRequestHeader("X-CSRFToken", form.elements.csrf_token.value);
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) return;
      var pct = Math.round(100 * e.loaded / e.total);
      bar.value = pct;
      text.textContent = pct + "% of " + (e.total / 1048576).toFixed(1) + " MB";
    });
    xhr.upload.addEventListener("load", function () {
      bar.value = 100; text.textContent = "100%: reading the audio…";
    });
    xhr.addEventListener("load", function () {
      var body = null;
      try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
      if (xhr.status === 201 && body) {
        text.textContent = "Done."; showResult(body); form.hidden = true;
      } else if (xhr.status === 413) {
        showError((body && body.error) || "The file is larger than this server accepts.");
        box.hidden = true;
      } else {
        showError((body && body.error) || "The upload failed (" + xhr.status + "). Try again.");
        box.hidden = true;
      }
      reset();
    });
    xhr.addEventListener("error", function () {
      showError("The connection broke during the upload. Nothing was saved; try again.");
      box.hidden = true; reset();
    });
    xhr.addEventListener("abort", function () {
      text.textContent = "Upload cancelled. Nothing was saved."; bar.value = 0; reset();
    });
    bar.value = 0; text.textContent = "Starting…";
    box.hidden = false; cancel.hidden = false; submit.disabled = true;
    xhr.send(file);
  });

  cancel.addEventListener("click", function () { if (xhr) xhr.abort(); });
})();
