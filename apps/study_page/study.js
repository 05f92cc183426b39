/* perceptcl study page: runs the trials of plan.js (window.PERCEPTCL_STUDY,
 * written by `perceptcl study make`) for one participant.
 *
 * Per participant, a generator seeded by (study, seed, participant id) gives
 * the order of the trials (a catch trial never comes first), the sides of the
 * 2AFC trials (balanced: for each pair of methods, half of its trials show
 * each method on the left) and the initial order of ranking trials. The state
 * (order, position, responses) is kept in localStorage after every response,
 * so a reload resumes where it stopped. At the end the results JSON is
 * downloaded, kept in localStorage, and POSTed to plan.post_url when given
 * (as text/plain: a "simple" request, so no CORS preflight is needed).
 * Results format: see `perceptcl study --help` and the README. */
(function () {
  "use strict";
  var plan = window.PERCEPTCL_STUDY;
  var storagePrefix = "perceptcl-study/" + (plan ? plan.study : "none") + "/";
  var state = null;      /* the participant's session, as stored */
  var shownAt = 0;       /* performance.now() when the current trial appeared */
  var currentScreen = null;

  function $(id) { return document.getElementById(id); }

  /* ---- seeded generator: FNV-1a of a string, then mulberry32 ---- */
  function hashString(text) {
    var h = 0x811c9dc5;
    for (var i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    return h >>> 0;
  }
  function generator(seed) {
    var a = seed >>> 0;
    return function () {
      a = (a + 0x6D2B79F5) >>> 0;
      var t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  function shuffle(list, random) {
    for (var i = list.length - 1; i > 0; i--) {
      var j = Math.floor(random() * (i + 1));
      var t = list[i]; list[i] = list[j]; list[j] = t;
    }
    return list;
  }

  /* The participant's trials in order, each {trial, item, catch, shown}. */
  function planFor(participant) {
    var random = generator(hashString(plan.study + ":" + plan.seed + ":" + participant));
    var order = shuffle(plan.trials.map(function (t, i) { return i; }), random);
    if (order.length > 1 && plan.trials[order[0]].catch) {
      for (var k = 1; k < order.length; k++)
        if (!plan.trials[order[k]].catch) { var t0 = order[0]; order[0] = order[k]; order[k] = t0; break; }
    }
    var flips = {};
    if (plan.mode === "2afc") {
      /* Balanced sides per pair (and for the catch trials): as many flipped as not, shuffled. */
      var groups = {};
      order.forEach(function (index) {
        var t = plan.trials[index];
        var key = t.catch ? "catch" : t.methods.slice().sort().join("\u0000");
        (groups[key] = groups[key] || []).push(index);
      });
      Object.keys(groups).sort().forEach(function (key) {
        var members = groups[key];
        var sides = members.map(function (m, i) { return i % 2 === 1; });
        if (members.length % 2 === 1 && random() < 0.5) sides[sides.length - 1] = true;
        shuffle(sides, random);
        members.forEach(function (index, i) { flips[index] = sides[i]; });
      });
    }
    return order.map(function (index) {
      var t = plan.trials[index];
      var shown = t.methods.slice();
      if (plan.mode === "2afc") { if (flips[index]) shown.reverse(); }
      else shuffle(shown, random);
      return { trial: index, item: t.item, catch: !!t.catch, shown: shown };
    });
  }

  /* ---- storage ---- */
  function save() {
    try {
      localStorage.setItem(storagePrefix + state.participant, JSON.stringify(state));
      localStorage.setItem(storagePrefix + "current", state.participant);
    } catch (e) { /* storage full or disabled: the study still runs, the download still happens */ }
  }
  function load(participant) {
    try {
      var text = localStorage.getItem(storagePrefix + participant);
      return text ? JSON.parse(text) : null;
    } catch (e) { return null; }
  }

  /* ---- screens ---- */
  function show(id) {
    var screens = document.querySelectorAll(".screen");
    for (var i = 0; i < screens.length; i++) screens[i].hidden = screens[i].id !== id;
    currentScreen = id;
    var inTrials = id === "screen-2afc" || id === "screen-rank" || id === "screen-break";
    $("progress-line").hidden = !inTrials;
    /* Focus the heading so a screen reader announces the new screen and Tab starts from it. */
    var heading = document.querySelector("#" + id + " h1");
    if (heading) heading.focus();
  }
  function fail(message) {
    $("error-text").textContent = message;
    show("screen-error");
  }

  function imageOf(item, method) {
    return method === "original" ? item.original : item.images[method];
  }
  function setImage(img, src, item) {
    img.src = src;
    img.width = Math.round(item.width * plan.zoom);
    img.height = Math.round(item.height * plan.zoom);
  }

  function updateProgress() {
    var total = state.trials.length, done = state.responses.length;
    $("progress").max = total;
    $("progress").value = done;
    $("progress-text").textContent = "Trial " + Math.min(done + 1, total) + " of " + total;
  }

  function showTrial() {
    if (state.responses.length >= state.trials.length) return finish();
    var t = state.trials[state.responses.length];
    var item = plan.items[t.item];
    updateProgress();
    if (plan.mode === "2afc") {
      setImage($("image-left"), imageOf(item, t.shown[0]), item);
      setImage($("image-middle"), item.original, item);
      setImage($("image-right"), imageOf(item, t.shown[1]), item);
      show("screen-2afc");
    } else {
      setImage($("rank-original"), item.original, item);
      var list = $("rank-list");
      list.textContent = "";
      t.shown.forEach(function (method, i) {
        list.appendChild(rankItem(item, method, i));
      });
      relabelRanks();
      $("rank-status").textContent = "";
      show("screen-rank");
    }
    shownAt = performance.now();
  }

  function record(response) {
    var t = state.trials[state.responses.length];
    response.trial = t.trial;
    response.item = plan.items[t.item].id;
    response.catch = t.catch;
    response.shown = t.shown.slice();
    response.rt_ms = Math.round(performance.now() - shownAt);
    if (t.catch) {
      response.passed = plan.mode === "2afc" ? response.choice === "original" : response.ranking[0] === "original";
    }
    state.responses.push(response);
    save();
    var done = state.responses.length;
    if (done < state.trials.length && plan.break_every > 0 && done % plan.break_every === 0) {
      updateProgress();
      show("screen-break");
    } else {
      showTrial();
    }
  }

  /* ---- 2AFC ---- */
  function choose(side) {
    if (currentScreen !== "screen-2afc") return;
    var t = state.trials[state.responses.length];
    record({ side: side === 0 ? "left" : "right", choice: t.shown[side] });
  }

  /* ---- ranking: pointer drag and drop, arrow keys, Move buttons ---- */
  var letters = "ABCDEFGH";
  function rankItem(item, method, index) {
    var li = document.createElement("li");
    li.className = "rank-item";
    li.tabIndex = 0;
    li.dataset.method = method;
    li.id = "rank-item-" + index;
    var img = document.createElement("img");
    setImage(img, imageOf(item, method), item);
    img.alt = "Image " + letters[index];
    img.draggable = false;
    var label = document.createElement("p");
    label.className = "rank-label";
    var up = document.createElement("button");
    up.type = "button";
    up.textContent = "Move earlier";
    up.className = "move-up";
    var down = document.createElement("button");
    down.type = "button";
    down.textContent = "Move later";
    down.className = "move-down";
    up.addEventListener("click", function () { move(li, -1, up); });
    down.addEventListener("click", function () { move(li, +1, down); });
    li.appendChild(label);
    li.appendChild(img);
    li.appendChild(up);
    li.appendChild(down);
    li.addEventListener("keydown", function (event) {
      if (event.target !== li) return;
      if (event.key === "ArrowLeft" || event.key === "ArrowUp") { move(li, -1, li); event.preventDefault(); }
      if (event.key === "ArrowRight" || event.key === "ArrowDown") { move(li, +1, li); event.preventDefault(); }
    });
    li.addEventListener("pointerdown", startDrag);
    return li;
  }
  function rankItems() { return Array.prototype.slice.call($("rank-list").children); }
  function relabelRanks() {
    var names = ["1st (most like the original)", "2nd", "3rd", "4th", "5th"];
    rankItems().forEach(function (li, i) {
      var letter = li.querySelector("img").alt.slice(-1);
      li.querySelector(".rank-label").textContent = names[i];
      li.setAttribute("aria-label", "Image " + letter + ", ranked " + names[i]);
      li.querySelector(".move-up").disabled = i === 0;
      li.querySelector(".move-down").disabled = i === rankItems().length - 1;
      li.querySelector(".move-up").setAttribute("aria-label", "Move image " + letter + " earlier (towards 1st)");
      li.querySelector(".move-down").setAttribute("aria-label", "Move image " + letter + " later");
    });
  }
  function move(li, step, keepFocus) {
    var items = rankItems(), i = items.indexOf(li), j = i + step;
    if (j < 0 || j >= items.length) return;
    if (step < 0) li.parentNode.insertBefore(li, items[j]);
    else li.parentNode.insertBefore(items[j], li);
    relabelRanks();
    $("rank-status").textContent = li.getAttribute("aria-label");
    var target = keepFocus && !keepFocus.disabled ? keepFocus : li;
    target.focus();
  }
  var dragging = null;
  function startDrag(event) {
    if (event.target.tagName === "BUTTON" || event.button !== 0) return;
    dragging = event.currentTarget;
    dragging.classList.add("dragging");
    if (dragging.setPointerCapture) dragging.setPointerCapture(event.pointerId);
    dragging.addEventListener("pointermove", dragMove);
    dragging.addEventListener("pointerup", endDrag);
    dragging.addEventListener("pointercancel", endDrag);
    event.preventDefault();
  }
  function dragMove(event) {
    if (!dragging) return;
    /* The item whose centre is nearest the pointer takes the dragged one's place. */
    var best = null, bestDistance = Infinity;
    rankItems().forEach(function (li) {
      var r = li.getBoundingClientRect();
      var dx = event.clientX - (r.left + r.width / 2), dy = event.clientY - (r.top + r.height / 2);
      var d = dx * dx + dy * dy;
      if (d < bestDistance) { bestDistance = d; best = li; }
    });
    if (!best || best === dragging) return;
    var items = rankItems();
    if (items.indexOf(best) < items.indexOf(dragging)) best.parentNode.insertBefore(dragging, best);
    else best.parentNode.insertBefore(dragging, best.nextSibling);
    relabelRanks();
  }
  function endDrag() {
    if (!dragging) return;
    dragging.classList.remove("dragging");
    dragging.removeEventListener("pointermove", dragMove);
    dragging.removeEventListener("pointerup", endDrag);
    dragging.removeEventListener("pointercancel", endDrag);
    $("rank-status").textContent = dragging.getAttribute("aria-label");
    dragging = null;
  }
  function submitRank() {
    if (currentScreen !== "screen-rank") return;
    record({ ranking: rankItems().map(function (li) { return li.dataset.method; }) });
  }

  /* ---- results ---- */
  function results() {
    return {
      format: "perceptcl-study-results", version: 1, study: plan.study, mode: plan.mode,
      participant: state.participant, started: state.started, finished: state.finished,
      trial_count: state.trials.length, user_agent: navigator.userAgent, trials: state.responses
    };
  }
  function resultsFileName() {
    return "perceptcl-results-" + plan.study + "-" + state.participant + ".json";
  }
  function download() {
    var blob = new Blob([JSON.stringify(results(), null, 1) + "\n"], { type: "application/json" });
    var a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = resultsFileName();
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }
  function post() {
    if (!plan.post_url) return;
    $("post-status").textContent = "Sending the results...";
    fetch(plan.post_url, { method: "POST", headers: { "Content-Type": "text/plain;charset=UTF-8" },
                           body: JSON.stringify(results()) })
      .then(function (response) {
        $("post-status").textContent = response.ok ? "The results were sent." :
          "Sending failed (" + response.status + "): please send the downloaded file instead.";
      })
      .catch(function () {
        $("post-status").textContent = "Sending failed: please send the downloaded file instead.";
      });
  }
  function finish() {
    var first = !state.finished;
    if (first) {
      state.finished = new Date().toISOString();
      save();
    }
    updateProgress();
    show("screen-done");
    if (first) { download(); post(); }
  }

  /* ---- start ---- */
  function validParticipant(id) { return /^[A-Za-z0-9_-]{1,64}$/.test(id); }
  function begin(participant) {
    state = load(participant);
    if (state && state.trials && state.responses) {
      save();
      if (state.finished) return finish();
      if (state.responses.length > 0) return showTrial();
    } else {
      state = { participant: participant, started: new Date().toISOString(), finished: null,
                trials: planFor(participant), responses: [] };
      save();
    }
    $("instructions-text").innerHTML = plan.instructions_html;
    show("screen-instructions");
  }

  function start() {
    if (!plan || plan.format !== "perceptcl-study-plan") {
      return fail("plan.js is missing or is not a perceptcl study plan; open index.html inside the study folder.");
    }
    document.title = plan.title;
    $("welcome-title").textContent = plan.title;
    $("welcome-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var id = $("participant").value.trim();
      if (!validParticipant(id)) {
        $("participant-error").hidden = false;
        $("participant-error").textContent = "Please type the ID you were given: letters, digits, - or _.";
        $("participant").focus();
        return;
      }
      begin(id);
    });
    $("begin").addEventListener("click", showTrial);
    $("continue").addEventListener("click", showTrial);
    $("choose-left").addEventListener("click", function () { choose(0); });
    $("choose-right").addEventListener("click", function () { choose(1); });
    $("submit-rank").addEventListener("click", submitRank);
    $("download").addEventListener("click", download);
    document.addEventListener("keydown", function (event) {
      if (currentScreen !== "screen-2afc" || event.altKey || event.ctrlKey || event.metaKey) return;
      var key = event.key.toLowerCase();
      if (key === "f" || key === "arrowleft") { choose(0); event.preventDefault(); }
      if (key === "j" || key === "arrowright") { choose(1); event.preventDefault(); }
    });
    var params = new URLSearchParams(window.location.search);
    var fromUrl = params.get("participant") || params.get("PROLIFIC_PID") || params.get("workerId");
    if (fromUrl && validParticipant(fromUrl)) return begin(fromUrl);
    var current = null;
    try { current = localStorage.getItem(storagePrefix + "current"); } catch (e) { current = null; }
    var previous = current ? load(current) : null;
    if (previous && !previous.finished) return begin(current);
    show("screen-welcome");
  }

  start();
})();
