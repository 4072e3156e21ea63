/* Every page of the technicians' app: install the service worker, say whether we are online and
 * what is still waiting to be sent, send it when the connection is back, and show what the server
 * could not apply (a conflict is never dropped silently). On "My day" it also loads each job's page
 * once, so the service worker has them all for the quarry with no signal. A notice under the bars
 * says when the technician must act: "Close other Ironwatch tabs" while an older tab holds the
 * phone's database, "Reload" when a newer version took it over in another tab, or when a new
 * version of the app is ready (the service worker's waiting set, docs/field_app.md). */
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

  // --- what needs the technician's hand: another tab holds the phone's data, or a new version
  // of the app is ready; the most pressing one shows, under the bars
  var notice = document.getElementById("app-notice");
  var noticeText = document.getElementById("app-notice-text");
  var reloadButton = document.getElementById("app-notice-reload");
  var NOTICE_ORDER = ["stale", "blocked", "updated", "update"];
  var notices = {};

  function setNotice(kind, text) {
    if (text) { notices[kind] = text; } else { delete notices[kind]; }
    var shown = NOTICE_ORDER.filter(function (k) { return notices[k]; })[0];
    notice.hidden = !shown;
    if (!shown) { delete body.dataset.notice; return; }
    notice.className = "app-notice " + shown;
    noticeText.textContent = notices[shown];
    reloadButton.hidden = shown === "blocked";  // closing the other tab is the way out, not a reload
    body.dataset.notice = shown;
  }

  function showDatabase(detail) {
    body.dataset.db = detail.state;
    setNotice("blocked", detail.state === "blocked" ? "Close other Ironwatch tabs. An older copy of the app is open " +
      "in another tab or window and holds the work saved on this phone; this page carries on by itself once it is " +
      "closed. Nothing saved is lost." : "");
    if (detail.state !== "stale") { return; }
    setNotice("stale", (detail.reason === "older" ? "This page is older than the Ironwatch app on this phone. "
                                                  : "Ironwatch was updated in another tab. ") +
      "Reload this page to carry on: your saved steps and what you typed are kept on this phone.");
    // a step or a draft taken here now could not be kept: the forms wait for the reload
    document.querySelectorAll("form.field-action, #complete-box, details.sub").forEach(function (el) {
      el.inert = true;
      el.classList.add("waits-for-reload");
    });
  }
  document.addEventListener("ironwatch:db", function (event) { showDatabase(event.detail); });

  var waitingWorker = null, updating = false;
  var hadController = "serviceWorker" in navigator && Boolean(navigator.serviceWorker.controller);

  function offerUpdate(worker) {
    waitingWorker = worker;
    body.dataset.update = "ready";
    setNotice("update", "A new version of the app is ready. Reload to use it: your saved steps and the form " +
              "you are filling in are kept.");
  }

  function watchInstalling(worker) {
    worker.addEventListener("statechange", function () {
      if (worker.state === "installed" && navigator.serviceWorker.controller) { offerUpdate(worker); }
    });
  }

  function watchForUpdates(registration) {
    if (registration.waiting && navigator.serviceWorker.controller) { offerUpdate(registration.waiting); }
    if (registration.installing) { watchInstalling(registration.installing); }
    registration.addEventListener("updatefound", function () { watchInstalling(registration.installing); });
    if (navigator.onLine) { registration.update().catch(function () { /* checked again next page */ }); }
  }

  /* Reload: write the drafts typed in the last moment, then let the waiting version take over
   * (its activation then reloads this page) or, with none waiting, just reload. Queued steps are
   * in IndexedDB and stay. */
  function reload() {
    reloadButton.disabled = true;
    var written = window.IronForms ? IronForms.flush() : Promise.resolve();
    written.catch(function () {}).then(function () {
      if (waitingWorker && waitingWorker.state === "installed") {
        updating = true;
        body.dataset.update = "updating";
        waitingWorker.postMessage({ type: "skip-waiting" });
      } else {
        window.location.reload();
      }
    });
  }
  reloadButton.addEventListener("click", reload);

  if ("serviceWorker" in navigator && body.dataset.swUrl) {
    navigator.serviceWorker.addEventListener("controllerchange", function () {
      if (updating) { window.location.reload(); return; }
      // the first install takes this page over: nothing changed for it
      if (hadController) {
        body.dataset.update = "elsewhere";
        setNotice("update", "");
        setNotice("updated", "Ironwatch was updated in another tab. Reload to carry on with the new version; " +
                  "your saved steps are kept on this phone.");
      }
      hadController = true;
    });
    navigator.serviceWorker.register(body.dataset.swUrl, { scope: body.dataset.swScope }).then(function (registration) {
      watchForUpdates(registration);
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
    // and each job's evidence picture, so the viewer shows it with no signal too
    var pictures = (list.dataset.evidenceUrls || "").split(" ").filter(Boolean);
    Promise.all(urls.concat(pictures).map(function (url) {
      return fetch(url, { credentials: "same-origin" }).catch(function () { return null; });
    })).then(function () {
      body.dataset.jobsCached = String(urls.length - 1);
      body.dataset.picturesCached = String(pictures.length);
    });
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
    }, function () { /* the database is not reachable now (the notice says why): keep the last count */ });
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
    if (!navigator.onLine || IronQueue.state().state === "stale") { return Promise.resolve(); }
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
    }, function () { /* the database is not reachable now: the notice says why, the steps stay */ });
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
