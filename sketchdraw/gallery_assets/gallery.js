// sketchdraw gallery: inlined into every page; no network, no fetch (pages open from file://).
// Run page: an epoch slider and play/pause button over the epoch grids listed in #epoch-frames.
// Runs index: sort the cards by name, epochs or last update.
(function () {
  "use strict";

  function revealScriptedParts() {
    document.querySelectorAll(".js-only").forEach(function (element) { element.hidden = false; });
    document.querySelectorAll(".no-js").forEach(function (element) { element.hidden = true; });
  }

  function setUpEpochPlayer() {
    var data = document.getElementById("epoch-frames");
    if (!data) { return; }
    var frames = JSON.parse(data.textContent);
    var image = document.getElementById("epoch-image");
    var link = document.getElementById("epoch-link");
    var slider = document.getElementById("epoch-slider");
    var label = document.getElementById("epoch-label");
    var button = document.getElementById("epoch-play");
    var lastEpoch = frames[frames.length - 1].epoch;
    var timer = null;
    var frameMilliseconds = 300;

    function show(index) {
      index = Math.max(0, Math.min(frames.length - 1, index));
      var frame = frames[index];
      slider.value = String(index);
      image.setAttribute("src", frame.src);
      image.setAttribute("alt", "generated drawings at epoch " + frame.epoch);
      link.setAttribute("href", frame.src);
      label.textContent = "epoch " + frame.epoch + " of " + lastEpoch;
    }

    function pause() {
      if (timer !== null) { window.clearInterval(timer); timer = null; }
      button.innerHTML = "&#9654; play";
      button.setAttribute("aria-label", "play");
    }

    function play() {
      // Load every grid once so playback does not flicker while files are read.
      frames.forEach(function (frame) { new Image().src = frame.src; });
      if (Number(slider.value) >= frames.length - 1) { show(0); }
      button.innerHTML = "&#10074;&#10074; pause";
      button.setAttribute("aria-label", "pause");
      timer = window.setInterval(function () {
        var next = Number(slider.value) + 1;
        show(next);
        if (next >= frames.length - 1) { pause(); }
      }, frameMilliseconds);
    }

    slider.addEventListener("input", function () { pause(); show(Number(slider.value)); });
    button.addEventListener("click", function () { if (timer === null) { play(); } else { pause(); } });
    if (frames.length < 2) { button.disabled = true; slider.disabled = true; }
    show(frames.length - 1);
  }

  function setUpCardSorting() {
    var container = document.getElementById("run-cards");
    if (!container) { return; }
    var buttons = document.querySelectorAll("[data-sort]");
    buttons.forEach(function (button) {
      button.addEventListener("click", function () {
        var key = button.getAttribute("data-sort");
        // Names read best A to Z; numbers and dates newest or largest first. A second click reverses.
        var descending = button.classList.contains("active")
          ? !button.classList.contains("descending") : key !== "name";
        var cards = Array.prototype.slice.call(container.querySelectorAll(".card"));
        cards.sort(function (a, b) {
          var x = a.getAttribute("data-" + key);
          var y = b.getAttribute("data-" + key);
          var order = key === "name" ? x.localeCompare(y) : Number(x) - Number(y);
          return descending ? -order : order;
        });
        cards.forEach(function (card) { container.appendChild(card); });
        buttons.forEach(function (other) { other.classList.remove("active", "descending"); });
        button.classList.add("active");
        if (descending) { button.classList.add("descending"); }
      });
    });
  }

  revealScriptedParts();
  setUpEpochPlayer();
  setUpCardSorting();
})();
