// rackboot dashboard: patches list rows and host sections from the server's
// event stream, applies filters without reloading, and shows an action's
// answer next to its button. Every piece of markup it inserts was rendered
// (and escaped) by the server's templates; it never builds HTML from data.
(function () {
  'use strict';

  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.content : '';
  }

  function parse(html) {
    var t = document.createElement('template');
    t.innerHTML = html.trim();
    return t.content.firstElementChild;
  }

  function liveState(text) {
    var el = document.getElementById('live-state');
    if (el && el.textContent !== text) el.textContent = text;
  }

  // stream listens to url's events. After a "resync" or any lost
  // connection, handlers.resync runs once the stream is open again, so
  // nothing sent in between is missed.
  function stream(url, handlers) {
    var es = new EventSource(url);
    var stale = false;
    es.onopen = function () {
      liveState('live');
      if (stale && handlers.resync) handlers.resync();
      stale = false;
    };
    es.onerror = function () {
      stale = true;
      liveState(es.readyState === EventSource.CLOSED ? 'offline' : 'reconnecting');
    };
    es.addEventListener('resync', function () { stale = true; });
    Object.keys(handlers).forEach(function (name) {
      if (name === 'resync') return;
      es.addEventListener(name, function (ev) { handlers[name](JSON.parse(ev.data)); });
    });
    es.addEventListener('health', function (ev) { replaceInner('health', JSON.parse(ev.data).html); });
    return es;
  }

  // replaceInner swaps an element's content only if it differs, so an
  // unchanged section is not redrawn (and a screen reader not disturbed).
  function replaceInner(id, html) {
    var el = document.getElementById(id);
    if (!el) return;
    var next = el.cloneNode(false);
    next.innerHTML = html;
    localTimes(next);
    if (!next.isEqualNode(el)) el.replaceChildren.apply(el, Array.prototype.slice.call(next.childNodes));
  }

  function setCounts(counts, total) {
    Object.keys(counts).concat(['total']).forEach(function (k) {
      var el = document.querySelector('[data-count="' + k + '"]');
      var v = String(k === 'total' ? total : counts[k]);
      if (el && el.textContent !== v) el.textContent = v;
    });
  }

  // localTimes shows every <time> under root in the browser's zone, with
  // the UTC the server rendered kept on hover.
  var fmt = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short' });
  function localTimes(root) {
    Array.prototype.forEach.call(root.querySelectorAll('time[datetime]'), function (el) {
      if (el.dataset.utc) return;
      var d = new Date(el.getAttribute('datetime'));
      if (isNaN(d)) return;
      el.dataset.utc = el.textContent;
      el.title = el.textContent.replace('Z', ' UTC');
      el.textContent = fmt.format(d);
    });
  }

  // sameRow compares a row on the page with a new rendering of it,
  // ignoring the highlight classes the script added.
  function sameRow(old, row) {
    var a = old.cloneNode(true);
    a.classList.remove('changed', 'added');
    if (!a.classList.length) a.removeAttribute('class');
    return a.isEqualNode(row);
  }

  // The host list: the stream sends the page's order and the rows that
  // changed or entered it; unchanged rows stay as they are (no redraw),
  // rows that left are removed, new ones inserted in place.
  function applyList(u) {
    var tbody = document.getElementById('rows');
    if (!tbody || !u.order) return;
    var fresh = {};
    (u.rows || []).forEach(function (r) { fresh[r.mac] = r.html; });
    var shown = {};
    Array.prototype.forEach.call(tbody.querySelectorAll('tr[data-mac]'), function (tr) { shown[tr.dataset.mac] = tr; });
    var prev = null;
    u.order.forEach(function (mac) {
      var tr = shown[mac];
      delete shown[mac];
      if (fresh[mac]) {
        var row = parse(fresh[mac]);
        localTimes(row);
        if (!tr) {
          row.classList.add('added');
          tr = row;
        } else if (!sameRow(tr, row)) {
          row.classList.add('changed');
          tr.replaceWith(row);
          tr = row;
        }
      }
      if (!tr) return; // not sent and not shown: the next update brings it
      var want = prev ? prev.nextElementSibling : tbody.firstElementChild;
      if (want !== tr) tbody.insertBefore(tr, want);
      prev = tr;
    });
    Object.keys(shown).forEach(function (mac) { shown[mac].remove(); });
    var empty = tbody.querySelector('tr.empty');
    if (u.order.length && empty) empty.remove();
    if (!u.order.length && !empty) tbody.append(parse('<tr class="empty"><td colspan="9">No host matches.</td></tr>'));
    var m = document.getElementById('matches');
    if (m && u.matches !== undefined && m.textContent !== parse('<p>' + u.matches + '</p>').textContent) m.innerHTML = u.matches;
    if (u.pager !== undefined) replaceInner('pager', u.pager);
    setCounts(u.counts || {}, u.total);
  }

  function filters() {
    var form = document.getElementById('filters');
    var results = document.getElementById('results');
    if (!form || !results) return null;
    var ctl = null, last = null;
    function run(force) {
      var params = new URLSearchParams(new FormData(form));
      Array.from(params.keys()).forEach(function (k) { if (!params.get(k) || (k === 'sort' && params.get(k) === 'mac')) params.delete(k); });
      var qs = params.toString();
      if (qs === last && !force) return;
      last = qs;
      if (ctl) ctl.abort();
      ctl = new AbortController();
      var t0 = performance.now();
      fetch('/ui/?' + (qs ? qs + '&' : '') + 'partial=1', { signal: ctl.signal, headers: { Accept: 'text/html, application/json' } })
        .then(function (resp) {
          if (resp.status === 401) { location.reload(); return null; }
          if (!resp.ok) return resp.json().then(function (j) { throw new Error(j.error); });
          return resp.text();
        })
        .then(function (html) {
          if (html === null) return;
          results.innerHTML = html;
          localTimes(results);
          listStream();
          history.replaceState(null, '', '/ui/' + (qs ? '?' + qs : ''));
          document.dispatchEvent(new CustomEvent('rb:results', { detail: { ms: performance.now() - t0 } }));
        })
        .catch(function (err) {
          if (err.name === 'AbortError') return;
          var m = document.getElementById('matches');
          if (m) { m.textContent = err.message; m.className = 'matches err'; }
        });
    }
    form.addEventListener('submit', function (e) { e.preventDefault(); run(true); });
    form.addEventListener('input', function () { run(false); });
    form.addEventListener('change', function () { run(false); });
    return run;
  }

  // The host page: live sections are replaced when they differ, new events
  // are added to the top of the timeline.
  function patchHost(u) {
    if (u.deleted) { document.getElementById('gone').hidden = false; return; }
    // The messages beside the buttons outlive a redraw of the buttons.
    var said = {};
    Array.prototype.forEach.call(document.querySelectorAll('#host output.msg[for]'), function (o) {
      if (o.textContent) said[o.getAttribute('for')] = { text: o.textContent, cls: o.className };
    });
    Object.keys(u.fragments || {}).forEach(function (id) { replaceInner(id, u.fragments[id]); });
    Object.keys(said).forEach(function (id) {
      var o = document.querySelector('#host output.msg[for="' + CSS.escape(id) + '"]');
      if (o && !o.textContent) { o.textContent = said[id].text; o.className = said[id].cls; }
    });
    var ol = document.getElementById('timeline');
    (u.events || []).slice().reverse().forEach(function (e) {
      if (ol.querySelector('li[data-seq="' + CSS.escape(e.seq) + '"]')) return;
      var li = parse(e.html);
      localTimes(li);
      ol.prepend(li);
    });
    while (ol.children.length > 100) ol.lastElementChild.remove();
  }

  // current is out, or, if a live update redrew its section while the
  // request was on its way, the output that took its place.
  function current(out) {
    if (out.isConnected || !out.getAttribute('for')) return out;
    return document.querySelector('output[for="' + CSS.escape(out.getAttribute('for')) + '"]') || out;
  }

  // Action forms post with fetch and show the answer in their <output>;
  // without script they post normally and the server renders the message.
  function actions() {
    document.addEventListener('submit', function (e) {
      var f = e.target;
      if (!f.matches || !f.matches('form.act')) return;
      e.preventDefault();
      if (f.getAttribute('aria-busy') === 'true') return;
      var out = f.querySelector('output');
      f.setAttribute('aria-busy', 'true');
      out.className = 'msg';
      out.textContent = 'working…';
      fetch(f.action, {
        method: 'POST',
        headers: { Accept: 'application/json', 'X-CSRF-Token': csrf() },
        body: new URLSearchParams(new FormData(f))
      }).then(function (resp) {
        if (resp.status === 401) { location.reload(); return null; }
        return resp.json().then(function (j) { return { ok: resp.ok, j: j }; },
          function () { return { ok: false, j: { error: 'HTTP ' + resp.status } }; });
      }).then(function (res) {
        if (!res) return;
        out = current(out);
        out.textContent = res.ok ? res.j.message : res.j.error;
        out.className = res.ok ? 'msg ok' : 'msg err';
        if (res.ok && f.dataset.remove === 'row') f.closest('tr').classList.add('gone');
      }).catch(function (err) {
        out = current(out);
        out.textContent = String(err.message || err);
        out.className = 'msg err';
      }).finally(function () { f.removeAttribute('aria-busy'); });
    });
  }

  // listStream follows the page the list shows: its stream is opened
  // again whenever a filter, sort or page change gives it another URL.
  // The stream sends the whole page when it opens, so nothing is missed
  // between the page's rendering and the stream, or while reconnecting.
  var listES = null;
  function listStream() {
    var tbody = document.getElementById('rows');
    if (!tbody) return;
    var url = tbody.dataset.live;
    if (listES && listES.url.slice(-url.length) === url) return;
    if (listES) listES.close();
    listES = stream(url, { rows: applyList });
  }

  document.addEventListener('DOMContentLoaded', function () {
    localTimes(document);
    actions();
    var results = document.getElementById('results');
    var host = document.getElementById('host');
    if (results) {
      filters();
      listStream();
    } else if (host) {
      stream(host.dataset.live, { host: patchHost }); // the stream sends the host when it opens
    }
  });
})();
