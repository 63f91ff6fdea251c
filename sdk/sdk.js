//! event-analytics tracker sdk.js 1.0.0 — <script defer src="https://ingest.example.com/sdk.js" data-key="ak_...">
// sdk.js — the browser tracker that ingest-api serves at GET /sdk.js (embedded at build time by
// sdk/embed.c; comment lines like this one are stripped then). No dependencies, ES5 syntax plus
// fetch/sendBeacon, so every browser of the last years runs it as is.
//
// What it does (sdk/README.md): on load and on every single-page-app navigation (History API
// pushState/replaceState, popstate) it records a `page_view` with path, url, title and referrer;
// window.analytics.track(event, properties) records any event. Events are batched (up to 50, or
// after 1 s) and POSTed to <ingest>/ingest as text/plain {"api_key", "sent_at", "batch"} — a
// CORS "simple" request, so no preflight — with a browser key (ingest-only, bound to the page's
// origin). A batch that failed (network, 429, 5xx, or events answered "unavailable") is retried
// with backoff and the SAME event_id values, so the server counts each event once. When the page
// is hidden, everything not yet acknowledged goes out with navigator.sendBeacon. With
// data-respect-dnt, navigator.doNotTrack = "1" turns the tracker off entirely.
(function () {
  'use strict';
  var VERSION = '1.0.0';
  var w = window, d = document, nav = navigator;
  if (w.analytics && w.analytics.VERSION) return; // loaded twice: keep the first
  var script = d.currentScript || d.querySelector('script[data-key][src*="sdk"]');
  var key = script && script.getAttribute('data-key');
  var base = script && (script.getAttribute('data-api') || new URL(script.src, location.href).origin);
  var url = String(base).replace(/\/+$/, '') + '/ingest';
  var off = !key || (script.hasAttribute('data-respect-dnt') &&
    (nav.doNotTrack === '1' || nav.doNotTrack === 'yes' || w.doNotTrack === '1'));
  var MAX_BATCH = 50, FLUSH_MS = 1000, MAX_TRIES = 8, BEACON_MAX = 60000;
  var queue = [];      // recorded, not sent yet
  var unacked = [];    // batches sent or waiting to be retried: page hide beacons them again
  var timer = null;

  function uuid() {
    if (w.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16), h = '';
    crypto.getRandomValues(b);
    b[6] = (b[6] & 15) | 64;
    b[8] = (b[8] & 63) | 128;
    for (var i = 0; i < 16; i++) h += (b[i] + 256).toString(16).slice(1) + (i === 3 || i === 5 || i === 7 || i === 9 ? '-' : '');
    return h;
  }

  function body(batch) {
    return JSON.stringify({ api_key: key, sent_at: Date.now(), batch: batch });
  }

  function forget(batch) {
    var i = unacked.indexOf(batch);
    if (i >= 0) unacked.splice(i, 1);
  }

  function retry(batch, tries) {
    if (tries + 1 >= MAX_TRIES) return forget(batch);
    var delay = Math.min(30000, 1000 * Math.pow(2, tries)) * (0.5 + Math.random() / 2);
    setTimeout(function () { send(batch, tries + 1); }, delay);
  }

  // One POST of a batch. 202: drop the events the server accepted or refused for good, retry the
  // ones it answered "unavailable" (Kafka did not acknowledge them). 429/5xx/network: retry all.
  // Any other answer (a bad key, a refused origin, invalid events) will not improve: drop.
  function send(batch, tries) {
    if (unacked.indexOf(batch) < 0) unacked.push(batch);
    var text = body(batch);
    fetch(url, {
      method: 'POST', body: text, headers: { 'Content-Type': 'text/plain' },
      credentials: 'omit', mode: 'cors', keepalive: text.length < BEACON_MAX
    }).then(function (res) {
      if (res.status === 429 || res.status >= 500) return retry(batch, tries);
      if (res.status !== 202) return forget(batch);
      return res.json().then(function (ans) {
        var again = [];
        (ans.results || []).forEach(function (r) {
          if (r.status === 'rejected' && r.code === 'unavailable' && batch[r.index]) again.push(batch[r.index]);
        });
        forget(batch);
        if (again.length) { unacked.push(again); retry(again, tries); }
      });
    }).catch(function () { retry(batch, tries); });
  }

  function flush() {
    clearTimeout(timer);
    timer = null;
    while (queue.length) send(queue.splice(0, MAX_BATCH), 0);
  }

  // The page is going away (or hidden, which may be the last chance on mobile): hand everything
  // not acknowledged to sendBeacon, which outlives the page. Duplicates of batches still in
  // flight are harmless: they carry the same event_id.
  function beacon() {
    var all = queue.splice(0, queue.length);
    clearTimeout(timer);
    timer = null;
    unacked.forEach(function (b) { all = all.concat(b); });
    for (var i = 0; i < all.length; i += MAX_BATCH) {
      var text = body(all.slice(i, i + MAX_BATCH));
      if (!(nav.sendBeacon && text.length < BEACON_MAX && nav.sendBeacon(url, text))) {
        send(all.slice(i, i + MAX_BATCH), 0); // too large or refused: a keepalive fetch instead
      }
    }
  }

  function track(event, properties) {
    if (off || typeof event !== 'string' || !event) return;
    var ev = {}, p = properties && typeof properties === 'object' ? properties : {};
    for (var k in p) if (Object.prototype.hasOwnProperty.call(p, k)) ev[k] = p[k];
    ev.event = event;
    ev.event_id = uuid();
    ev.timestamp = Date.now();
    queue.push(ev);
    if (queue.length >= MAX_BATCH) flush();
    else if (!timer) timer = setTimeout(flush, FLUSH_MS);
  }

  var lastKey = null, lastUrl = null;
  // Records a page_view when the path or query changed (not for hash changes or a replaceState
  // that keeps the URL). The referrer of an in-app navigation is the previous URL.
  function page() {
    var k = location.pathname + location.search;
    if (k === lastKey) return;
    var referrer = lastUrl === null ? d.referrer : lastUrl;
    lastKey = k;
    lastUrl = location.href;
    track('page_view', { path: location.pathname, url: location.href, title: d.title, referrer: referrer });
  }

  var pending = Array.isArray(w.analytics) ? w.analytics : []; // calls queued by a stub
  w.analytics = { VERSION: VERSION, track: track, page: page, flush: flush };
  if (off) return;
  ['pushState', 'replaceState'].forEach(function (m) {
    var orig = history[m];
    history[m] = function () {
      var r = orig.apply(this, arguments);
      setTimeout(page, 0); // after the app had its turn to set document.title
      return r;
    };
  });
  w.addEventListener('popstate', function () { setTimeout(page, 0); });
  w.addEventListener('pagehide', beacon);
  d.addEventListener('visibilitychange', function () { if (d.visibilityState === 'hidden') beacon(); });
  page();
  pending.forEach(function (c) { if (c && c[0] === 'track') track(c[1], c[2]); });
})();
