/* Live updates of a console page from the alert stream (GET /struggles/stream).

   The page says what it follows on <main>: data-live-class="<class id>" (the stream of
   that class) or data-live-student="<student id>" (the stream of every alert the caller
   reaches, kept to that student here); data-live-after="<change id>" (optional) resumes
   the stream after the change the page was rendered at, so nothing raised meanwhile is
   missed. The EventSource sends the session cookie (same origin), which the stream
   accepts (decision 015, the session hook).

   On a frame (struggle / struggle.acknowledged / struggle.resolved; data = the alert in
   its current state, docs/api.md "The alert stream"):
   - every element [data-alert-id=ID] on the page gets the new data-status, its
     [data-testid=alert-status] and [data-testid=alert-who] texts, and the buttons that
     no longer apply are disabled;
   - a new alert of the followed class or student that the page does not show is
     announced in the live region ([data-testid=live], aria-live) with a link to it.

   Why not htmx (with its SSE extension): it swaps HTML fragments a server sends into the
   page, and this stream sends alerts as JSON (the API's contract, for every front end).
   Using htmx would mean a second, HTML-rendering stream for the console; what a page does
   with a frame is a few DOM changes, so plain JavaScript does it with no library.
   Everything is written with textContent (no HTML from the stream is ever parsed). */
(function () {
  "use strict";

  var FRAMES = ["struggle", "struggle.acknowledged", "struggle.resolved"];
  var KEPT_NOTICES = 5;
  var main = document.querySelector("main");
  var region = document.querySelector('[data-testid="live"]');
  if (!main || !region || typeof window.EventSource !== "function") {
    return;
  }
  var followedClass = main.getAttribute("data-live-class") || "";
  var followedStudent = main.getAttribute("data-live-student") || "";
  if (!followedClass && !followedStudent) {
    return;
  }

  function streamUrl() {
    var query = [];
    if (followedClass) {
      query.push("class_id=" + encodeURIComponent(followedClass));
    }
    var after = main.getAttribute("data-live-after");
    if (after && /^\d+$/.test(after)) {
      query.push("last_event_id=" + after);
    }
    return "/struggles/stream" + (query.length ? "?" + query.join("&") : "");
  }

  // "2026-12-10T09:44:10.502000Z" -> "2026-12-10 09:44 UTC", as the page writes times
  function at(iso) {
    return iso ? iso.slice(0, 16).replace("T", " ") + " UTC" : "";
  }

  // the text the page writes beside the status (pages_student.who_changed)
  function whoChanged(alert) {
    if (alert.status === "resolved") {
      var reason = alert.resolution_reason === "not_useful" ? "not useful" : "addressed";
      return "by " + alert.resolved_by + " at " + at(alert.resolved_at) + " (" + reason + ")";
    }
    if (alert.status === "acknowledged") {
      return "by " + alert.acknowledged_by + " at " + at(alert.acknowledged_at);
    }
    return "";
  }

  function describe(alert) {
    var text = alert.severity + " " + alert.kind;
    if (alert.topic_id) {
      text += " in " + alert.topic_id;
    }
    return alert.student_id ? text + " for " + alert.student_id : text + " (class " + alert.class_id + ")";
  }

  function setText(root, testid, text) {
    root.querySelectorAll('[data-testid="' + testid + '"]').forEach(function (el) {
      el.textContent = text;
    });
  }

  function setDisabled(root, testid, disabled) {
    root.querySelectorAll('[data-testid="' + testid + '"]').forEach(function (el) {
      el.disabled = disabled;
    });
  }

  function shown(alert) {
    var selector = '[data-alert-id="' + CSS.escape(String(alert.id)) + '"]';
    return Array.prototype.slice.call(document.querySelectorAll(selector));
  }

  function update(element, alert) {
    element.setAttribute("data-status", alert.status);
    setText(element, "alert-status", alert.status);
    setText(element, "alert-who", whoChanged(alert));
    setDisabled(element, "ack", alert.status !== "open");
    setDisabled(element, "resolve", alert.status === "resolved");
    setDisabled(element, "resolve-not-useful", alert.status === "resolved");
  }

  function linkTo(alert) {
    var link = document.createElement("a");
    if (alert.student_id) {
      link.href = "/console/students/" + encodeURIComponent(alert.student_id);
      link.textContent = followedStudent === alert.student_id ? "Reload to act on it" : "Open " + alert.student_id;
    } else {
      link.href = "/console/classes/" + encodeURIComponent(alert.class_id);
      link.textContent = "Open class " + alert.class_id;
    }
    return link;
  }

  // a notice in the live region (newest first, the last few kept). The region is
  // hidden until its first notice; a screen reader may not read what is added in the
  // same moment a region appears, so the first notice follows it a little later.
  var waiting = null; // notices held while the region appears

  function announce(text, link) {
    if (waiting !== null) {
      waiting.push([text, link]);
    } else if (region.hidden) {
      region.hidden = false;
      waiting = [[text, link]];
      window.setTimeout(function () {
        var held = waiting;
        waiting = null;
        held.forEach(function (notice) {
          add(notice[0], notice[1]);
        });
      }, 100);
    } else {
      add(text, link);
    }
  }

  function add(text, link) {
    var notice = document.createElement("p");
    notice.setAttribute("data-testid", "live-notice");
    notice.textContent = text;
    if (link) {
      notice.appendChild(document.createTextNode(" "));
      notice.appendChild(link);
    }
    region.insertBefore(notice, region.firstChild);
    while (region.children.length > KEPT_NOTICES) {
      region.removeChild(region.lastChild);
    }
  }

  function followed(alert) {
    // a class's stream carries only that class's alerts already
    return followedClass !== "" || alert.student_id === followedStudent;
  }

  function onFrame(event) {
    var alert;
    try {
      alert = JSON.parse(event.data);
    } catch (error) {
      console.error("live.js: a frame that is not JSON", error);
      return;
    }
    var elements = shown(alert);
    elements.forEach(function (element) {
      update(element, alert);
    });
    if (elements.length) {
      if (alert.change !== "raised") {
        announce("Alert " + describe(alert) + " is now " + alert.status + " " + whoChanged(alert) + ".", null);
      }
    } else if (alert.change === "raised" && followed(alert)) {
      announce("New alert: " + describe(alert) + ", " + at(alert.detected_at) + ".", linkTo(alert));
    }
  }

  var source = new EventSource(streamUrl());
  FRAMES.forEach(function (name) {
    source.addEventListener(name, onFrame);
  });
  source.addEventListener("error", function () {
    // CONNECTING: the browser reconnects by itself (with Last-Event-ID); CLOSED: the
    // stream refused it (e.g. the session expired), so say so once
    if (source.readyState === EventSource.CLOSED) {
      announce("Live updates stopped: reload the page (you may need to sign in again).", null);
    }
  });
  main.setAttribute("data-live-state", "connecting");
  source.addEventListener("open", function () {
    main.setAttribute("data-live-state", "open");
  });
})();
