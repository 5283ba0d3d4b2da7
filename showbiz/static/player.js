// Seek the episode player from #t=mm:ss links and timestamp buttons; pages work without this.
(function () {
  "use strict";
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    if (!navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var field = document.getElementById(button.dataset.copy);
      navigator.clipboard.writeText(field.value).then(function () {
        button.textContent = "Copied";
        setTimeout(function () { button.textContent = "Copy"; }, 2000);
      });
    });
  });
  var player = document.getElementById("player");
  if (!player) return;
  function seconds(text) {
    return text.split(":").reduce(function (total, part) { return total * 60 + Number(part); }, 0);
  }
  function seek(to) {
    if (isNaN(to)) return;
    player.currentTime = to;
    player.play().catch(function () {});
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest("[data-seek]");
    if (!link) return;
    event.preventDefault();
    history.replaceState(null, "", link.getAttribute("href"));
    seek(Number(link.dataset.seek));
  });
  var match = location.hash.match(/^#t=([\d:]+)$/);
  if (match) {
    player.addEventListener("loadedmetadata", function () { seek(seconds(match[1])); }, { once: true });
    player.preload = "auto";
  }
})();
