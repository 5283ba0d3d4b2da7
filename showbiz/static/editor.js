// The episode editor's conveniences: "Now" sets a note's time from the player; notes reorder by
// dragging. Without this script, the Move up/down buttons and typed times do the same.
(function () {
  "use strict";
  var player = document.getElementById("player");
  function timecode(seconds) {
    seconds = Math.floor(seconds);
    var h = Math.floor(seconds / 3600), m = Math.floor(seconds % 3600 / 60), s = seconds % 60;
    var mm = (h ? String(m).padStart(2, "0") : String(m)), ss = String(s).padStart(2, "0");
    return h ? h + ":" + mm + ":" + ss : mm + ":" + ss;
  }
  document.querySelectorAll("[data-now-for]").forEach(function (button) {
    if (!player) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      document.getElementById(button.dataset.nowFor).value = timecode(player.currentTime);
    });
  });

  var previewButton = document.getElementById("preview-button");
  if (previewButton) {
    previewButton.hidden = false;
    previewButton.addEventListener("click", function () {
      var body = new URLSearchParams();
      body.append("csrf_token", previewButton.form.elements.csrf_token.value);
      body.append("markdown", document.getElementById("notes_md").value);
      fetch(previewButton.dataset.previewUrl, {method: "POST", body: body,
                                               credentials: "same-origin"})
        .then(function (r) { return r.json(); })
        .then(function (data) {
          var box = document.getElementById("preview");
          box.innerHTML = data.html;  // sanitised by the server with nh3
          box.hidden = false;
        });
    });
  }

  var list = document.getElementById("note-list");
  if (!list) return;
  var dragged = null;
  list.addEventListener("dragstart", function (e) {
    dragged = e.target.closest("li.note");
    if (dragged) { dragged.classList.add("dragging"); e.dataTransfer.effectAllowed = "move"; }
  });
  list.addEventListener("dragover", function (e) {
    var over = e.target.closest("li.note");
    if (!dragged || !over || over === dragged) return;
    e.preventDefault();
    var box = over.getBoundingClientRect();
    list.insertBefore(dragged, e.clientY > box.top + box.height / 2 ? over.nextSibling : over);
  });
  list.addEventListener("dragend", function () {
    if (!dragged) return;
    dragged.classList.remove("dragging");
    dragged = null;
    var body = new URLSearchParams();
    body.append("csrf_token", list.querySelector("input[name=csrf_token]").value);
    list.querySelectorAll("li.note").forEach(function (li) { body.append("note", li.dataset.noteId); });
    fetch(list.dataset.orderUrl, {method: "POST", body: body, credentials: "same-origin",
                                  headers: {"Accept": "application/json"}})
      .then(function (r) { if (!r.ok) location.reload(); });
  });
})();
