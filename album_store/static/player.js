// The album page's preview player. Without JavaScript each track has a plain "Listen" link to its
// preview (the browser plays it). With it, the links become play/pause buttons sharing one <audio>
// element: one preview plays at a time, the bar and time follow it, the next track's preview starts
// when one ends, "Play all previews" starts from the first. Nothing plays until asked and no preview
// is fetched before it is played (preload="none"). Buttons say what they do (aria-pressed, labels)
// and the line above the bar announces the track now playing.
(function () {
  "use strict";
  var box = document.getElementById("player");
  var links = Array.prototype.slice.call(document.querySelectorAll(".tracklist__preview"));
  if (!box || !links.length || !window.Audio) { return; }
  var audio = new Audio();
  audio.preload = "none";
  var title = document.getElementById("player-title");
  var time = document.getElementById("player-time");
  var bar = document.getElementById("player-progress");
  var all = document.getElementById("player-all");
  var current = -1;

  var buttons = links.map(function (link, index) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "tracklist__play";
    button.setAttribute("aria-pressed", "false");
    button.setAttribute("data-src", link.getAttribute("href"));
    button.setAttribute("data-title", link.getAttribute("data-title"));
    label(button, false);
    button.addEventListener("click", function () { toggle(index); });
    link.parentNode.replaceChild(button, link);
    return button;
  });
  box.hidden = false;

  function label(button, playing) {
    var name = button.getAttribute("data-title");
    button.textContent = playing ? "❚❚" : "▶";
    button.setAttribute("aria-label", (playing ? "Pause the preview of " : "Play the preview of ") + name);
    button.setAttribute("aria-pressed", playing ? "true" : "false");
  }

  function clock(seconds) {
    seconds = Math.max(0, Math.floor(seconds || 0));
    return Math.floor(seconds / 60) + ":" + ("0" + (seconds % 60)).slice(-2);
  }

  function play(index) {
    if (index !== current) {
      if (current >= 0) { label(buttons[current], false); }
      current = index;
      audio.src = buttons[index].getAttribute("data-src");
      bar.value = 0;
    }
    title.textContent = "Playing: " + buttons[index].getAttribute("data-title");
    var started = audio.play();
    if (started && started.catch) { started.catch(function () { label(buttons[index], false); }); }
  }

  function toggle(index) {
    if (index === current && !audio.paused) { audio.pause(); } else { play(index); }
  }

  audio.addEventListener("play", function () { label(buttons[current], true); all.textContent = "Pause"; });
  audio.addEventListener("pause", function () {
    if (current >= 0) { label(buttons[current], false); }
    all.textContent = "Play all previews";
    if (current >= 0 && !audio.ended) { title.textContent = "Paused: " + buttons[current].getAttribute("data-title"); }
  });
  audio.addEventListener("timeupdate", function () {
    if (audio.duration) { bar.value = 100 * audio.currentTime / audio.duration; }
    time.textContent = clock(audio.currentTime) + " / " + clock(audio.duration);
  });
  audio.addEventListener("ended", function () {
    if (current + 1 < buttons.length) { play(current + 1); } else { title.textContent = "Finished"; label(buttons[current], false); }
  });
  all.addEventListener("click", function () {
    if (!audio.paused) { audio.pause(); } else { play(current >= 0 ? current : 0); }
  });
})();
