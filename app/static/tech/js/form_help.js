/* Help with the job page's forms, for a technician in gloves in the sun:
 *   - explain(form): before a form is queued, say in words which fields still need what (a box at
 *     the top of the form, each field marked), instead of the browser's bubble, which names one
 *     field and fades after a few seconds;
 *   - keep(form, orderId, photo): keep what is typed as a draft on the phone (IronQueue drafts)
 *     on every change, and put it back when the page opens again, so a form closed half done in
 *     the quarry (the app swiped away, the phone restarted) loses nothing;
 *   - flush(): write the drafts typed in the last moment now (before a reload into a new version,
 *     or when another tab takes the database over).
 * Exposed as window.IronForms. */
(function () {
  "use strict";

  /* The words a technician reads for a field: its label, or its fieldset's question. */
  function nameOf(field) {
    var set = field.type === "radio" && field.closest("fieldset");
    var legend = set && set.querySelector("legend");
    if (legend) { return legend.textContent.trim(); }
    var label = field.id && document.querySelector('label[for="' + field.id + '"]');
    if (label) { return label.textContent.trim(); }
    return field.getAttribute("aria-label") || field.name;
  }

  /* What to do about one invalid field, from its validity flags. */
  function advice(field) {
    var v = field.validity;
    if (v.valueMissing) {
      if (field.type === "radio") { return "tick one answer"; }
      return field.tagName === "SELECT" ? "choose one from the list" : "write something here";
    }
    if (v.badInput) { return "type a number (digits, a point for decimals)"; }
    if (v.rangeUnderflow) { return "at least " + field.min; }
    if (v.rangeOverflow) { return "at most " + field.max; }
    if (v.stepMismatch) { return "in steps of " + field.step + " (for example " + (2 * parseFloat(field.step)) + ")"; }
    if (v.tooLong) { return "at most " + field.maxLength + " characters"; }
    return field.validationMessage;
  }

  function errorBox(form) {
    var box = form.querySelector(".form-errors");
    if (!box) {
      box = document.createElement("div");
      box.className = "notice error form-errors";
      box.setAttribute("role", "alert");
      box.tabIndex = -1;
      form.insertBefore(box, form.firstChild);
    }
    return box;
  }

  /* True when the form may be queued; otherwise lists what to fix and scrolls to the list (quiet:
   * update the list in place, as the technician fixes one field after another). */
  function explain(form, quiet) {
    var seen = {};
    var wrong = [];
    Array.prototype.forEach.call(form.elements, function (field) {
      if (!field.willValidate) { return; }
      var ok = field.checkValidity();
      var marked = field.type === "radio" ? field.closest("fieldset") || field : field;
      if (ok) {
        if (!(field.type === "radio" && seen[field.name])) { marked.removeAttribute("aria-invalid"); }
        return;
      }
      marked.setAttribute("aria-invalid", "true");
      if (field.type === "radio") { if (seen[field.name]) { return; } seen[field.name] = true; }
      var name = nameOf(field), what = advice(field);  // "Was it there? Tick one." / "Notes: write …"
      wrong.push(/\?$/.test(name) ? name + " " + what.charAt(0).toUpperCase() + what.slice(1) + "."
                                   : name + ": " + what + ".");
    });
    var box = form.querySelector(".form-errors");
    if (!wrong.length) {
      if (box) { box.remove(); }
      return true;
    }
    box = errorBox(form);
    box.textContent = "";
    var head = document.createElement("p");
    head.textContent = "Not sent yet. Please fix " + (wrong.length === 1 ? "this" : "these " + wrong.length) + ":";
    var list = document.createElement("ul");
    wrong.forEach(function (text) {
      var item = document.createElement("li");
      item.textContent = text;
      list.appendChild(item);
    });
    box.appendChild(head);
    box.appendChild(list);
    if (!quiet) {
      box.scrollIntoView({ block: "start" });
      box.focus({ preventScroll: true });
      if (!form.ironRecheck) {  // from now on the list follows each fix
        form.ironRecheck = true;
        form.addEventListener("change", function () { if (form.querySelector(".form-errors")) { explain(form, true); } });
      }
    }
    return false;
  }

  function fieldsToKeep(form) {
    return Array.prototype.filter.call(form.elements, function (field) {
      return field.name && field.type !== "file" && field.type !== "hidden" && field.type !== "submit";
    });
  }

  function snapshot(form) {
    return fieldsToKeep(form).map(function (field) {
      if (field.type === "radio" || field.type === "checkbox") { return [field.name, field.value, field.checked]; }
      return [field.name, field.value, true];
    });
  }

  /* Put the draft back in document order, announcing each change (the fault answer swaps the
   * code lists in before the codes are set). */
  function restore(form, fields) {
    var byName = {};
    fields.forEach(function (f) { (byName[f[0]] = byName[f[0]] || []).push(f); });
    var restored = 0;
    fieldsToKeep(form).forEach(function (field) {
      var saved = (byName[field.name] || []).filter(function (f) {
        return field.type === "radio" || field.type === "checkbox" ? f[1] === field.value : true;
      })[0];
      if (!saved) { return; }
      if (field.type === "radio" || field.type === "checkbox") {
        if (field.checked === saved[2]) { return; }
        field.checked = saved[2];
      } else {
        if (field.value === saved[1]) { return; }
        field.value = saved[1];
      }
      restored += 1;
      field.dispatchEvent(new Event("change", { bubbles: true }));
    });
    return restored;
  }

  var kept = [];  // {form, write}: every form keeping a draft on this page

  /* photo: {get: () => Blob|null, set: (blob) => void} for the form's shrunk photo, or null. */
  function keep(form, orderId, photo) {
    var action = form.dataset.action;
    var restoring = true;
    function write() {
      window.clearTimeout(form.ironDraftTimer);
      form.ironDirty = false;
      return IronQueue.saveDraft(orderId, action, snapshot(form), photo ? photo.get() : null).then(function () {
        form.dataset.draft = "saved";
      }, function () { form.ironDirty = true; form.dataset.draft = "unsaved"; });
    }
    function save() {
      if (restoring) { return; }
      form.ironDirty = true;
      window.clearTimeout(form.ironDraftTimer);
      form.ironDraftTimer = window.setTimeout(write, 150);  // one write per burst of typing
    }
    kept.push({ form: form, write: write });
    form.addEventListener("input", save);
    form.addEventListener("change", save);
    form.addEventListener("ironwatch:photo", save);
    return IronQueue.loadDraft(orderId, action).then(function (draft) {
      if (draft) {
        var changed = restore(form, draft.fields);
        if (photo && draft.photo) { photo.set(draft.photo); changed += 1; }
        if (changed) {
          var details = form.closest("details");
          if (details) { details.open = true; }
          var note = document.createElement("p");
          note.className = "notice draft-note";
          note.textContent = "What you typed before is back (kept on this phone). Check it and send when ready.";
          form.insertBefore(note, form.firstChild);
          form.dataset.draft = "restored";
        }
      }
    }).catch(function () { /* no stored draft: a fresh form */ }).then(function () { restoring = false; });
  }

  /* Write every draft still waiting for its timer now (before a reload, or before the database
   * is handed to a newer version of the app in another tab); resolves when written. */
  function flush() {
    return Promise.all(kept.filter(function (k) { return k.form.ironDirty; }).map(function (k) { return k.write(); }));
  }
  if (window.IronQueue) { IronQueue.beforeClose(flush); }

  /* After the form is queued: the draft is done with. */
  function forget(form, orderId) {
    window.clearTimeout(form.ironDraftTimer);
    form.ironDirty = false;
    var note = form.querySelector(".draft-note");
    if (note) { note.remove(); }
    delete form.dataset.draft;
    return IronQueue.clearDraft(orderId, form.dataset.action);
  }

  window.IronForms = { explain: explain, keep: keep, forget: forget, flush: flush };
})();
