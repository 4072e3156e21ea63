/* Every page of the technicians' app: install the service worker, say whether we are online and
 * what is still waiting to be sent, send it when the connection is back, and show what the server
 * could not apply (a conflict is never dropped silently). On "My day" it also loads each job's page
 * once, so the service worker has them all for the quarry with no signal. */
(function () {
  "use strict";
  var body = document.body;
  var actionsUrl = body.dataset.actionsUrl;
  var netState = document.getElementById("net-state");
  var syncState = document.getElementById("sync-state");
  var conflicts = document.getElementById("conflicts");
  var conflictList = document.getElementById("conflict-list");
  var ACTION_WORDS = { accept: "Accept", decline: "Decline", start: "Start", hold: "Pause", resume: "Resume",
                       complete: "Finish", photo: "Photo", acknowledge_alarm: "Acknowledge alarm" };

  if ("serviceWorker" in navigator && body.dataset.swUrl) {
    navigator.serviceWorker.register(body.dataset.swUrl, { scope: body.dataset.swScope }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function () {
      body.dataset.sw = "ready";
      warmJobPages();
    }).catch(function (error) { body.dataset.sw = "failed: " + error.message; });
  }

  function warmJobPages() {
    var list = document.getElementById("jobs");
    if (!list || !navigator.onLine) { return; }
    if (!navigator.serviceWorker.controller) {  // first visit: the worker takes this page over first
      navigator.serviceWorker.addEventListener("controllerchange", warmJobPages, { once: true });
      return;
    }
    var urls = [body.dataset.swScope].concat((list.dataset.jobUrls || "").split(",").filter(Boolean).map(function (id) {
      return list.dataset.jobUrlBase + id;
    }));
    Promise.all(urls.map(function (url) {
      return fetch(url, { credentials: "same-origin" }).catch(function () { return null; });
    })).then(function () { body.dataset.jobsCached = String(urls.length - 1); });
  }

  function showNet() {
    var online = navigator.onLine;
    netState.textContent = online ? "Online" : "Offline – work is kept on this phone";
    netState.className = "net-state " + (online ? "on" : "off");
  }

  function showQueue() {
    Promise.all([IronQueue.pending(), IronQueue.problems()]).then(function (both) {
      showWaiting(both[0], both[1].length);
      showProblems(both[1]);
    });
  }

  function showWaiting(entries, problemCount) {
    body.dataset.queue = String(entries.length);
    var steps = entries.length + " step" + (entries.length === 1 ? "" : "s");
    if (!entries.length) {
      // after a send, say so: the technician wants to know the office has the work; but not
      // beside a "not applied" list, where "all sent" would read as "all done"
      syncState.hidden = !lastSent || problemCount > 0;
      syncState.className = "sync-state done";
      syncState.textContent = lastSent ? "All your work is sent (last at " + clock(lastSent) + ")." : "";
      return;
    }
    syncState.hidden = false;
    syncState.className = "sync-state waiting";
    if (!navigator.onLine) {
      syncState.textContent = "Not sent yet: " + steps + " saved on this phone, sent by itself when you have signal.";
    } else if (syncStopped) {
      // what the technician must do (sign in, reload) stays on screen until a sync gets through;
      // "Sending..." here would say the app is busy when it is waiting for them
      syncState.textContent = syncStopped + " " + steps + " kept on this phone.";
    } else {
      syncState.textContent = "Sending " + steps + "…";
    }
  }

  function showProblems(problems) {
    body.dataset.problems = String(problems.length);
    conflicts.hidden = problems.length === 0;
    conflictList.textContent = "";
    problems.forEach(function (problem) {
      var item = document.createElement("li");
      var text = document.createElement("p");
      text.textContent = (ACTION_WORDS[problem.action] || problem.action) + " on job " +
        (problem.number || problem.order_id) + ", done " + whenText(problem.taken_at) + ": " +
        problem.message.charAt(0).toUpperCase() + problem.message.slice(1) + ".";
      var ok = document.createElement("button");
      ok.type = "button"; ok.className = "big secondary"; ok.textContent = "Understood";
      ok.addEventListener("click", function () { IronQueue.dismiss(problem.client_action_id); });
      item.appendChild(text); item.appendChild(ok);
      conflictList.appendChild(item);
    });
  }

  /* "Mon 7 Dec, 14:28 GMT": the phone's own zone, named (the step was taken where the phone is). */
  function whenText(iso) {
    try {
      return new Intl.DateTimeFormat("en-GB", { weekday: "short", day: "numeric", month: "short", hour: "2-digit",
                                                minute: "2-digit", hourCycle: "h23", timeZoneName: "short" })
        .format(new Date(iso));
    } catch (e) { return iso; }
  }

  function clock(date) {
    return ("0" + date.getHours()).slice(-2) + ":" + ("0" + date.getMinutes()).slice(-2);
  }

  // kept across pages (a synced job page reloads itself): "all sent" shows for half an hour
  var SENT_KEY = "ironwatch-last-sent", SENT_SHOWN_MS = 30 * 60 * 1000;
  var lastSent = (function () {
    var at = new Date(localStorage.getItem(SENT_KEY) || 0);
    return Date.now() - at.getTime() < SENT_SHOWN_MS ? at : null;
  })();

  // Why the last sync stopped before the queue was empty, when the technician must act on it
  // ("Sign in again ...", "Reload the app ..."); empty once a sync is not stopped.
  var syncStopped = "";

  function syncNow() {
    if (!navigator.onLine) { return Promise.resolve(); }
    return IronQueue.sync(actionsUrl).then(function (report) {
      syncStopped = report.stopped && report.stopped !== "offline" ? report.stopped : "";
      if (syncStopped) { showQueue(); }
      if (report.sent && !report.left) {
        lastSent = new Date();
        localStorage.setItem(SENT_KEY, lastSent.toISOString());
        showQueue();
      }
      if (report.sent || report.problems) {
        body.dataset.synced = String((parseInt(body.dataset.synced || "0", 10)) + report.sent + report.problems);
        refreshPages(report.orders);
      }
    });
  }

  /* After a sync the server's state is newer than the stored pages: load them again (the
   * service worker keeps the fresh copies) and show the one on screen. */
  function refreshPages(orderIds) {
    var base = body.dataset.swScope;
    var urls = [base].concat(orderIds.map(function (id) { return base + "jobs/" + id; }));
    Promise.all(urls.map(function (url) { return fetch(url, { credentials: "same-origin" }).catch(function () {}); }))
      .then(function () {
        document.dispatchEvent(new CustomEvent("ironwatch:synced", { detail: { orders: orderIds } }));
      });
  }

  /* The few forms that post straight to the server (acknowledge from My day, sign out) cannot be
   * queued: with no signal, say so beside the button instead of the browser's "no internet" page. */
  document.querySelectorAll("form[method=post]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      var note = form.querySelector(".offline-note");
      if (navigator.onLine) { if (note) { note.remove(); } return; }
      event.preventDefault();
      if (!note) {
        note = document.createElement("p");
        note.className = "notice error offline-note";
        note.setAttribute("role", "alert");
        form.appendChild(note);
      }
      note.textContent = "No signal: this needs a connection. Try again when the top bar says Online.";
    });
  });

  window.addEventListener("online", function () { showNet(); syncNow(); });
  window.addEventListener("offline", showNet);
  document.addEventListener("ironwatch:queue", showQueue);
  document.addEventListener("ironwatch:queued", function () { syncNow(); });
  setInterval(function () { if (body.dataset.queue && body.dataset.queue !== "0") { syncNow(); } }, 5000);
  showNet();
  showQueue();
  syncNow();
  window.IronApp = { syncNow: syncNow };
})();
