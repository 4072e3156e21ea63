/* The outbox of the technicians' app: every action waits here (IndexedDB) until the server has it.
 *
 * An action is queued with an id made on the phone (client_action_id) and the time it was taken;
 * sync() sends the queue oldest first, one at a time, so "start" always reaches the server before
 * "complete". The server applies each id once (a unique constraint), so sending again after a lost
 * answer is safe. Outcomes:
 *   200 applied            -> removed from the queue
 *   200 conflict, 400, 404 -> removed, and kept as a "problem" the technician sees and dismisses
 *   401/403, network error -> stays queued; sync stops and tries again later (order is kept)
 *   400 on X-CSRF-Token    -> stays queued (a stale page's token; the step was not looked at)
 * A form half filled in (the finishing form: codes, notes, parts, the shrunk photo) is kept as a
 * draft per job and action in its own store, so closing the app in the quarry loses nothing.
 * When a newer version of the app opens the database in another tab, this page writes what is
 * pending, closes its connection and says "reload" (the event "ironwatch:db"); a page opening the
 * database while an older tab holds it says "close other tabs" until it can.
 * Exposed as window.IronQueue. */
(function () {
  "use strict";
  var DB_NAME = "ironwatch-field", VERSION = 2;
  var connection = null;  // the open database, once open
  var opening = null;     // the promise of it while it opens
  // "closed", "opening", "blocked" (an older tab holds the database open), "open", or "stale"
  // (a newer version of the app took the database over, or holds it already: this page must reload)
  var state = "closed", staleReason = "";
  var beforeClose = [];   // hooks that write what is pending while the connection is still open

  function setState(next, reason) {
    state = next;
    staleReason = reason || "";
    document.dispatchEvent(new CustomEvent("ironwatch:db", { detail: { state: next, reason: staleReason } }));
  }

  function staleError() {
    var error = new Error("Ironwatch was updated: reload the page to reach the work kept on this phone.");
    error.name = "StaleAppError";
    return error;
  }

  function open() {
    if (state === "stale") { return Promise.reject(staleError()); }
    if (connection) { return Promise.resolve(connection); }
    if (opening) { return opening; }
    setState("opening");
    opening = new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB_NAME, VERSION);
      request.onupgradeneeded = function () {
        var db = request.result;  // version 1 phones have the first two stores already
        if (!db.objectStoreNames.contains("outbox")) {
          db.createObjectStore("outbox", { keyPath: "seq", autoIncrement: true });
        }
        if (!db.objectStoreNames.contains("problems")) { db.createObjectStore("problems", { keyPath: "client_action_id" }); }
        if (!db.objectStoreNames.contains("drafts")) { db.createObjectStore("drafts", { keyPath: "key" }); }
      };
      // an older tab of the app still has the database open at its version: the upgrade waits
      // for it, and the page says so (it used to hang with no word)
      request.onblocked = function () { setState("blocked"); };
      request.onsuccess = function () {
        connection = request.result;
        connection.onversionchange = stepAside;
        connection.onclose = function () { connection = null; if (state === "open") { setState("closed"); } };
        opening = null;
        setState("open");
        resolve(connection);
      };
      request.onerror = function () {
        opening = null;
        if (request.error && request.error.name === "VersionError") {
          // the phone's database is newer than this page's code: another tab runs a newer app
          setState("stale", "older");
          reject(staleError());
        } else {
          setState("closed");
          reject(request.error);
        }
      };
    });
    return opening;
  }

  /* Another tab opens a newer version of the database and waits for this one: write what is
   * pending (a draft being typed), let go, and stay off (this page's code is the older one). The
   * queued steps are in the database, which the upgrade keeps. */
  function stepAside() {
    beforeClose.forEach(function (hook) { try { hook(); } catch (e) { /* the others still run */ } });
    connection.close();  // transactions the hooks started still finish
    connection = null;
    setState("stale", "versionchange");
  }

  function transact(db, store, mode, work) {
    return new Promise(function (resolve, reject) {
      var tx = db.transaction(store, mode);
      var result = work(tx.objectStore(store));
      tx.oncomplete = function () { resolve(result && "result" in result ? result.result : result); };
      tx.onerror = function () { reject(tx.error); };
      tx.onabort = function () { reject(tx.error); };
    });
  }

  /* With the database open the transaction starts at once (so a beforeClose hook can still
   * write); otherwise once it is open. */
  function run(store, mode, work) {
    if (connection) {
      try { return transact(connection, store, mode, work); } catch (error) { return Promise.reject(error); }
    }
    return open().then(function (db) { return transact(db, store, mode, work); });
  }

  function newId() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function add(orderId, action, fields, photo) {
    var entry = { client_action_id: newId(), order_id: orderId, action: action, fields: fields || {},
                  photo: photo || null, taken_at: new Date().toISOString() };
    return run("outbox", "readwrite", function (store) { store.add(entry); }).then(function () {
      announce();
      return entry;
    });
  }

  function all(store) {
    return run(store || "outbox", "readonly", function (s) { return s.getAll(); });
  }

  function remove(seq) {
    return run("outbox", "readwrite", function (store) { store.delete(seq); });
  }

  function addProblem(entry, message, number) {
    var problem = { client_action_id: entry.client_action_id, order_id: entry.order_id, action: entry.action,
                    taken_at: entry.taken_at, message: message, number: number || "" };
    return run("problems", "readwrite", function (store) { store.put(problem); });
  }

  function dismiss(clientId) {
    return run("problems", "readwrite", function (store) { store.delete(clientId); }).then(announce);
  }

  /* Drafts: {key: "<order id>:<action>", fields: [[name, value], ...], photo: Blob|null, saved_at}. */
  function draftKey(orderId, action) { return orderId + ":" + action; }

  function saveDraft(orderId, action, fields, photo) {
    var draft = { key: draftKey(orderId, action), fields: fields, photo: photo || null,
                  saved_at: new Date().toISOString() };
    return run("drafts", "readwrite", function (store) { store.put(draft); });
  }

  function loadDraft(orderId, action) {
    return run("drafts", "readonly", function (store) { return store.get(draftKey(orderId, action)); });
  }

  function clearDraft(orderId, action) {
    return run("drafts", "readwrite", function (store) { store.delete(draftKey(orderId, action)); });
  }

  function announce() {
    document.dispatchEvent(new CustomEvent("ironwatch:queue"));
  }

  function csrfToken() {
    var meta = document.querySelector("meta[name=csrf-token]");
    return meta ? meta.content : "";
  }

  function send(entry, url) {
    var body = new FormData();
    body.append("client_action_id", entry.client_action_id);
    body.append("order_id", String(entry.order_id));
    body.append("action", entry.action);
    body.append("taken_at", entry.taken_at);
    Object.keys(entry.fields).forEach(function (key) {
      var value = entry.fields[key];
      body.append(key, typeof value === "string" ? value : JSON.stringify(value));
    });
    if (entry.photo) { body.append("photo", entry.photo, "photo.jpg"); }
    return fetch(url, { method: "POST", body: body, credentials: "same-origin",
                        headers: { "X-CSRF-Token": csrfToken() } });
  }

  var syncing = null;

  /* Send the queue in order; resolves to {sent, problems, left, orders: [ids touched]}. */
  function sync(url) {
    if (syncing) { return syncing; }
    var report = { sent: 0, problems: 0, left: 0, orders: [], stopped: "" };
    syncing = all().then(function (entries) {
      entries.sort(function (a, b) { return a.seq - b.seq; });
      var chain = Promise.resolve(true);
      entries.forEach(function (entry) {
        chain = chain.then(function (goOn) {
          if (!goOn) { report.left += 1; return false; }
          return send(entry, url).then(function (response) {
            if (response.status === 401 || response.status === 403) {
              report.stopped = "Sign in again to send your work."; report.left += 1; return false;
            }
            return response.json().catch(function () { return {}; }).then(function (body) {
              if (response.ok && body.outcome === "applied") {
                report.sent += 1;
              } else if (response.status === 400 && body.field === "X-CSRF-Token") {
                // the page's token is from a session that is over: the server did not look at the
                // step, so it stays queued (dropping it as a "problem" would lose the job's work)
                report.stopped = "Reload the app to send your work (this page is out of date)."; report.left += 1;
                return false;
              } else if (response.ok || (response.status >= 400 && response.status < 500)) {
                report.problems += 1;
                return addProblem(entry, body.message || ("The server answered " + response.status),
                                  body.order && body.order.number)
                  .then(function () { return remove(entry.seq); })
                  .then(function () { report.orders.push(entry.order_id); return true; });
              } else {
                report.stopped = "The server had a problem (" + response.status + "); trying again soon.";
                report.left += 1; return false;
              }
              report.orders.push(entry.order_id);
              return remove(entry.seq).then(function () { return true; });
            });
          }, function () { report.left += 1; report.stopped = "offline"; return false; });
        });
      });
      return chain;
    }).then(function () { return report; }).finally(function () { syncing = null; announce(); });
    return syncing;
  }

  window.IronQueue = { add: add, pending: function () { return all("outbox"); },
                       problems: function () { return all("problems"); }, dismiss: dismiss, sync: sync,
                       saveDraft: saveDraft, loadDraft: loadDraft, clearDraft: clearDraft,
                       state: function () { return { state: state, reason: staleReason }; },
                       beforeClose: function (hook) { beforeClose.push(hook); } };
})();
