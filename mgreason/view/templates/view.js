// mgreason view: the items table and the item panel, rendered lazily from the embedded JSON.
// No network, no libraries; the state lives in the URL fragment (#items&flips=1&q=..., #item&s=SCEN&id=ITEM)
// so every view can be bookmarked, and opened headless by the browser tests and the screenshot command.
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("mg-data").textContent);
  var SEP = "\u0000";
  var PAGE = 200;
  var $ = function (s) { return document.querySelector(s); };
  var esc = function (s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  };
  var fmt = function (x, nd) { return x === null || x === undefined || isNaN(x) ? "n/a" : Number(x).toFixed(nd === undefined ? 3 : nd); };
  var sgn = function (x) { return x === null || x === undefined || isNaN(x) ? "n/a" : (x >= 0 ? "+" : "") + Number(x).toFixed(3); };

  var models = D.models;
  var conds = [];
  Object.keys(D.scenarios).forEach(function (s) {
    D.scenarios[s].conditions.forEach(function (c) { if (conds.indexOf(c) < 0) conds.push(c); });
  });
  var prim = D.primary;
  if (prim) conds = prim.filter(function (c) { return conds.indexOf(c) >= 0; }).concat(conds.filter(function (c) { return prim.indexOf(c) < 0; }));
  var multiScen = Object.keys(D.scenarios).length > 1;

  function pairOf(it) {
    var ps = D.pairs[it.s] || [];
    if (prim && D.scenarios[it.s].conditions.indexOf(prim[0]) >= 0 && D.scenarios[it.s].conditions.indexOf(prim[1]) >= 0) return prim;
    return ps.length ? ps[0] : null;
  }
  function margin(a, gold) {
    if (!a || !a.lp || !(gold in a.lp)) return null;
    var other = -Infinity;
    for (var k in a.lp) if (k !== gold && a.lp[k] > other) other = a.lp[k];
    return other === -Infinity ? null : a.lp[gold] - other;
  }

  // per-item facts used by filters and sorting, computed once
  D.items.forEach(function (it, i) {
    it._i = i;
    it._flip = false; it._err = false; it._wrong = {}; it._shiftBy = {};
    var pair = pairOf(it);
    models.forEach(function (m) {
      if (pair) {
        var a = it.a[m + SEP + pair[0]], b = it.a[m + SEP + pair[1]];
        if (a && b && a.p !== b.p) it._flip = true;
        if (a && b) {
          var ma = margin(a, it.gold), mb = margin(b, it.gold);
          if (ma !== null && mb !== null) it._shiftBy[m] = mb - ma;
        }
      }
      conds.forEach(function (c) {
        var x = it.a[m + SEP + c];
        if (!x) return;
        if (x.e) it._err = true;
        if (!x.ok) it._wrong[c] = true;
      });
    });
  });
  var textCache = null;
  function searchText(it) {
    if (!textCache) textCache = {};
    var t = textCache[it._i];
    if (t === undefined) {
      // every distinct line of every prompt of the item (the evidence of each condition included)
      var seen = {}, parts = [it.s, it.id];
      Object.keys(it.p).forEach(function (c) {
        it.p[c].forEach(function (m) { m[1].forEach(function (k) { if (!seen[k]) { seen[k] = 1; parts.push(D.lines[k]); } }); });
      });
      t = parts.join("\n").toLowerCase();
      textCache[it._i] = t;
    }
    return t;
  }

  // ---------------------------------------------------------------- state in the URL fragment
  var state = { flips: false, wrong: "", errors: false, scenario: "", model: "", q: "", sort: "", dir: 1 };
  function parseHash() {
    var h = location.hash.replace(/^#/, "");
    var parts = h.split("&");
    var route = parts.shift() || "overview";
    var kv = {};
    parts.forEach(function (p) {
      var i = p.indexOf("=");
      if (i > 0) kv[decodeURIComponent(p.slice(0, i))] = decodeURIComponent(p.slice(i + 1));
    });
    return { route: route, kv: kv };
  }
  function itemsHash() {
    var kv = [];
    if (state.flips) kv.push("flips=1");
    if (state.wrong) kv.push("wrong=" + encodeURIComponent(state.wrong));
    if (state.errors) kv.push("errors=1");
    if (state.scenario) kv.push("scenario=" + encodeURIComponent(state.scenario));
    if (state.model) kv.push("model=" + encodeURIComponent(state.model));
    if (state.q) kv.push("q=" + encodeURIComponent(state.q));
    if (state.sort) kv.push("sort=" + encodeURIComponent(state.sort), "dir=" + state.dir);
    return "#items" + (kv.length ? "&" + kv.join("&") : "");
  }

  // ---------------------------------------------------------------- the items table
  var shown = [], nShown = 0, headerDone = false;
  function visibleModels() { return state.model ? [state.model] : models; }
  // the gold-margin shift (baseline -> treatment of the primary pair) of the first visible model
  function shiftOf(it) { var v = it._shiftBy[visibleModels()[0]]; return v === undefined ? null : v; }
  function columns() {
    var cols = [];
    visibleModels().forEach(function (m) { conds.forEach(function (c) { cols.push([m, c]); }); });
    return cols;
  }
  function filtered() {
    var q = state.q.toLowerCase();
    var ms = visibleModels();
    var out = D.items.filter(function (it) {
      if (state.scenario && it.s !== state.scenario) return false;
      if (state.flips) {
        var pair = pairOf(it), any = false;
        if (pair) ms.forEach(function (m) {
          var a = it.a[m + SEP + pair[0]], b = it.a[m + SEP + pair[1]];
          if (a && b && a.p !== b.p) any = true;
        });
        if (!any) return false;
      }
      if (state.errors && !it._err) return false;
      if (state.wrong) {
        var w = false;
        ms.forEach(function (m) {
          (state.wrong === "any" ? conds : [state.wrong]).forEach(function (c) {
            var x = it.a[m + SEP + c];
            if (x && !x.ok) w = true;
          });
        });
        if (!w) return false;
      }
      if (q && searchText(it).indexOf(q) < 0) return false;
      return true;
    });
    if (state.sort) {
      var key = sortKey(state.sort);
      out.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (x === y) return a._i - b._i;
        if (x === null) return 1;
        if (y === null) return -1;
        return (x < y ? -1 : 1) * state.dir;
      });
    }
    return out;
  }
  function sortKey(k) {
    if (k === "id") return function (it) { return it.id; };
    if (k === "scenario") return function (it) { return it.s + SEP + it.id; };
    if (k === "gold") return function (it) { return it.gold; };
    if (k === "flip") return function (it) { return it._flip ? 0 : 1; };
    if (k === "shift") return shiftOf;
    return function (it) { var x = it.a[k]; return x ? (x.ok ? "1" : "0") + (x.p || "") : null; };
  }
  function renderHeader() {
    var cols = columns();
    var h = "<tr><th data-sort='id'>item</th>" + (multiScen ? "<th data-sort='scenario'>scenario</th>" : "") +
      "<th data-sort='gold'>gold</th><th data-sort='flip' title='answer changes between the primary pair'>⇄</th>" +
      "<th data-sort='shift' title='gold-margin shift from baseline to treatment" + (models.length > 1 ? ", of " + esc(visibleModels()[0]) : "") + "'>Δ margin</th>";
    cols.forEach(function (mc) {
      h += "<th data-sort='" + esc(mc[0] + SEP + mc[1]) + "'>" + (models.length > 1 ? esc(mc[0]) + ": " : "") + esc(mc[1]) + "</th>";
    });
    $("#itable thead").innerHTML = h + "</tr>";
    headerDone = true;
  }
  function rowHtml(it) {
    var cols = columns();
    var h = "<tr data-s='" + esc(it.s) + "' data-id='" + esc(it.id) + "'" + (it._flip ? " class='flip'" : "") + "><td>" + esc(it.id) + "</td>" +
      (multiScen ? "<td>" + esc(it.s) + "</td>" : "") + "<td>" + esc(it.gold) + "</td><td class='flipmark'>" + (it._flip ? "⇄" : "") +
      "</td><td class='n'>" + (shiftOf(it) === null ? "" : sgn(shiftOf(it))) + "</td>";
    cols.forEach(function (mc) {
      var x = it.a[mc[0] + SEP + mc[1]];
      if (!x) { h += "<td class='muted'>·</td>"; return; }
      var cls = x.e ? "err" : (x.ok ? "ok" : "wrong");
      h += "<td class='" + cls + "'" + (x.e ? " title='" + esc(x.e) + "'" : "") + ">" + esc(x.p === null ? (x.e ? "error" : "?") : x.p) + " " + (x.ok ? "✓" : "✗") + "</td>";
    });
    return h + "</tr>";
  }
  function renderItems() {
    if (!headerDone) renderHeader();
    shown = filtered();
    nShown = 0;
    $("#itable tbody").innerHTML = "";
    more();
    var c = $("#count");
    c.textContent = shown.length + " of " + D.items.length + " items";
    c.setAttribute("data-count", String(shown.length));
  }
  function more() {
    var next = shown.slice(nShown, nShown + PAGE);
    $("#itable tbody").insertAdjacentHTML("beforeend", next.map(rowHtml).join(""));
    nShown += next.length;
    $("#more").hidden = nShown >= shown.length;
    $("#more").textContent = "show more (" + (shown.length - nShown) + " left)";
  }

  // ---------------------------------------------------------------- the item panel
  function lcsKeep(a, b) {
    // which entries of a and of b belong to a longest common subsequence (line indices compared)
    var n = a.length, m = b.length, i, j;
    var L = new Array(n + 1);
    for (i = 0; i <= n; i++) { L[i] = new Int32Array(m + 1); }
    for (i = n - 1; i >= 0; i--) for (j = m - 1; j >= 0; j--) L[i][j] = a[i] === b[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
    var ka = new Array(n).fill(false), kb = new Array(m).fill(false);
    i = 0; j = 0;
    while (i < n && j < m) {
      if (a[i] === b[j]) { ka[i] = kb[j] = true; i++; j++; } else if (L[i + 1][j] >= L[i][j + 1]) i++; else j++;
    }
    return [ka, kb];
  }
  function flat(msgs) {
    var out = [];
    (msgs || []).forEach(function (m, k) { m[1].forEach(function (x) { out.push([k, x]); }); });
    return out;
  }
  function promptColumns(it, model) {
    var cs = D.scenarios[it.s].conditions.slice();
    var pair = pairOf(it);
    if (pair) cs = pair.concat(cs.filter(function (c) { return pair.indexOf(c) < 0; }));
    var base = cs[0];
    var get = function (c) {
      var a = it.a[model + SEP + c];
      return it.p[(a && a.pk) || c];
    };
    var bmsgs = get(base);
    var bflat = flat(bmsgs);
    var bKeepAll = new Array(bflat.length).fill(true);
    var html = "<div class='prompts' style='grid-template-columns:repeat(" + cs.length + ",minmax(0,1fr))'>";
    var bodies = {};
    cs.forEach(function (c) {
      var msgs = get(c);
      if (!msgs) { bodies[c] = "<p class='muted'>no prompt</p>"; return; }
      var f = flat(msgs);
      var keep = new Array(f.length).fill(true);
      if (c !== base) {
        var r = lcsKeep(bflat.map(function (x) { return x[0] + ":" + x[1]; }), f.map(function (x) { return x[0] + ":" + x[1]; }));
        keep = r[1];
        r[0].forEach(function (k, i) { if (!k) bKeepAll[i] = false; });
      }
      bodies[c] = render(msgs, f, keep, "ins");
    });
    bodies[base] = bmsgs ? render(bmsgs, bflat, bKeepAll, "del") : "<p class='muted'>no prompt</p>";
    cs.forEach(function (c) {
      html += "<div class='prompt' data-condition='" + esc(c) + "'><h4>" + esc(c) + (c === base ? " (baseline)" : "") + "</h4>" + bodies[c] + "</div>";
    });
    return html + "</div>";
    function render(msgs, f, keep, tag) {
      var h = "", k = 0, cur = -1;
      f.forEach(function (x, i) {
        if (x[0] !== cur) { cur = x[0]; h += "<div class='role'>" + esc(msgs[cur][0]) + "</div>"; }
        var t = esc(D.lines[x[1]]);
        h += keep[i] ? "<div class='ln'>" + t + "</div>" : "<" + tag + " class='ln diff'>" + t + "</" + tag + ">";
        k++;
      });
      return h;
    }
  }
  function probsHtml(a, gold) {
    if (!a.lp) return "";
    var h = "<table class='probs'>";
    Object.keys(a.lp).forEach(function (k) {
      var pr = Math.exp(a.lp[k]);
      h += "<tr><td>" + esc(k) + "</td><td><span class='bar" + (k === gold ? " gold" : "") + "' style='width:" + Math.round(pr * 160) + "px'></span>" + fmt(pr) + "</td></tr>";
    });
    return h + "</table>";
  }
  function renderItem(sid, id) {
    var it = D.items.find(function (x) { return x.s === sid && x.id === id; });
    var el = $("#sec-item");
    if (!it) { el.innerHTML = "<p>no item " + esc(id) + " in " + esc(sid) + "</p>"; return; }
    var pair = pairOf(it);
    var h = "<div class='panel-head'><a href='" + esc(lastItems) + "'>← items</a><h2>item <code>" + esc(it.id) + "</code></h2>" +
      "<span>scenario <code>" + esc(it.s) + "</code> · gold <b>" + esc(it.gold) + "</b>" + (it._flip ? " · <span class='flipmark'>⇄ answer flips</span>" : "") + "</span></div>";
    var evidence = {}, evOrder = [];
    models.forEach(function (m) {
      var cs = D.scenarios[it.s].conditions.slice();
      if (pair) cs = pair.concat(cs.filter(function (c) { return pair.indexOf(c) < 0; }));
      if (!cs.some(function (c) { return it.a[m + SEP + c]; })) return;
      var g = D.groups[m + SEP + it.s] || {};
      h += "<h3>" + esc(m) + (g.mode ? " <span class='muted'>(" + esc(g.mode) + ")</span>" : "") + "</h3>";
      h += "<table class='answers'><tr><th>condition</th><th>answer</th><th>label probabilities</th><th>label mass</th><th>gold margin</th><th>shift vs " + esc(cs[0]) + "</th><th>evidence from</th></tr>";
      var m0 = margin(it.a[m + SEP + cs[0]], it.gold);
      cs.forEach(function (c) {
        var a = it.a[m + SEP + c];
        if (!a) { h += "<tr><td>" + esc(c) + "</td><td class='muted' colspan='6'>not answered</td></tr>"; return; }
        var mg = margin(a, it.gold);
        if (a.ev) {
          if (!evidence[a.ev]) { evidence[a.ev] = []; evOrder.push(a.ev); }
          if (evidence[a.ev].indexOf(c) < 0) evidence[a.ev].push(c);
        }
        h += "<tr><td>" + esc(c) + "</td><td class='" + (a.e ? "err" : (a.ok ? "ok" : "wrong")) + "'>" + esc(a.p === null ? (a.e ? "error" : "?") : a.p) + " " + (a.ok ? "✓" : "✗") +
          (a.e ? "<br><small>" + esc(a.e) + "</small>" : "") + "</td><td>" + probsHtml(a, it.gold) + "</td><td class='n'>" + fmt(a.lm) +
          "</td><td class='n'>" + (mg === null ? "n/a" : sgn(mg)) + "</td><td class='n'>" + (c === cs[0] || mg === null || m0 === null ? "" : sgn(mg - m0)) +
          "</td><td>" + (a.ev ? esc(a.ev) + (a.ev !== it.id ? " (another item's)" : "") : "—") + "</td></tr>";
      });
      h += "</table>";
      cs.forEach(function (c) {
        var a = it.a[m + SEP + c];
        if (a && a.raw !== undefined) h += "<p><b>raw output</b> (" + esc(c) + "):</p><pre class='raw'>" + esc(a.raw) + "</pre>";
      });
    });
    h += "<h3>Prompts</h3><p class='muted'>Lines only in a condition's prompt are highlighted green; lines of the baseline that another condition drops, red.</p>";
    h += promptColumns(it, models.filter(function (m) { return Object.keys(it.a).some(function (k) { return k.indexOf(m + SEP) === 0; }); })[0] || models[0]);
    var tl = D.timelines[it.s] || {};
    var evs = evOrder;  // in condition order (object keys would put numeric ids first)
    if (evs.length) {
      h += "<h3>Transcript timeline</h3>";
      evs.forEach(function (ev) {
        h += "<div class='timeline' data-item='" + esc(ev) + "'><p>evidence shown under " + esc(evidence[ev].join(", ")) + ": the transcript of <code>" + esc(ev) + "</code></p>";
        h += tl[ev] !== undefined ? D.svgs[tl[ev]] : "<p class='muted'>no timeline drawn (scenario file not found, no events, or over the --max-timelines limit)</p>";
        h += "</div>";
      });
    }
    el.innerHTML = h;
    window.scrollTo(0, 0);
  }

  // ---------------------------------------------------------------- routing
  var lastItems = "#items";
  function show(which) {
    // section ids differ from the fragments (#overview, #items, #item&...) so the browser never scrolls to them
    ["overview", "items", "item"].forEach(function (s) { document.getElementById("sec-" + s).hidden = s !== which; });
    $("#nav-overview").className = which === "overview" ? "active" : "";
    $("#nav-items").className = which !== "overview" ? "active" : "";
  }
  function syncControls() {
    $("#f-flips").checked = state.flips;
    $("#f-errors").checked = state.errors;
    $("#f-wrong").value = state.wrong;
    $("#f-scenario").value = state.scenario;
    $("#f-model").value = state.model;
    if ($("#f-q").value !== state.q) $("#f-q").value = state.q;
  }
  function route() {
    var r = parseHash();
    if (r.route === "item") {
      show("item");
      renderItem(r.kv.s || "", r.kv.id || "");
    } else if (r.route === "items") {
      state.flips = r.kv.flips === "1";
      state.errors = r.kv.errors === "1";
      state.wrong = r.kv.wrong || "";
      state.scenario = r.kv.scenario || "";
      state.model = r.kv.model || "";
      state.q = r.kv.q || "";
      state.sort = r.kv.sort || "";
      state.dir = r.kv.dir === "-1" ? -1 : 1;
      lastItems = location.hash || "#items";
      syncControls();
      show("items");
      headerDone = false;
      renderItems();
    } else {
      show("overview");
      window.scrollTo(0, 0);
    }
  }
  function update() { location.hash = itemsHash(); }

  conds.forEach(function (c) { $("#f-wrong").insertAdjacentHTML("beforeend", "<option value='" + esc(c) + "'>" + esc(c) + "</option>"); });
  Object.keys(D.scenarios).forEach(function (s) { $("#f-scenario").insertAdjacentHTML("beforeend", "<option>" + esc(s) + "</option>"); });
  models.forEach(function (m) { $("#f-model").insertAdjacentHTML("beforeend", "<option>" + esc(m) + "</option>"); });
  $("#f-flips").addEventListener("change", function (e) { state.flips = e.target.checked; update(); });
  $("#f-errors").addEventListener("change", function (e) { state.errors = e.target.checked; update(); });
  $("#f-wrong").addEventListener("change", function (e) { state.wrong = e.target.value; update(); });
  $("#f-scenario").addEventListener("change", function (e) { state.scenario = e.target.value; update(); });
  $("#f-model").addEventListener("change", function (e) { state.model = e.target.value; update(); });
  var timer = null;
  $("#f-q").addEventListener("input", function (e) {
    clearTimeout(timer);
    timer = setTimeout(function () { state.q = e.target.value; history.replaceState(null, "", itemsHash()); renderItems(); }, 200);
  });
  $("#more").addEventListener("click", more);
  $("#itable thead").addEventListener("click", function (e) {
    var k = e.target.getAttribute && e.target.getAttribute("data-sort");
    if (!k) return;
    state.dir = state.sort === k ? -state.dir : 1;
    state.sort = k;
    update();
  });
  $("#itable tbody").addEventListener("click", function (e) {
    var tr = e.target.closest("tr");
    if (tr) location.hash = "#item&s=" + encodeURIComponent(tr.getAttribute("data-s")) + "&id=" + encodeURIComponent(tr.getAttribute("data-id"));
  });
  if ("IntersectionObserver" in window) {
    new IntersectionObserver(function (es) { if (es[0].isIntersecting && !$("#more").hidden) more(); }).observe($("#more"));
  }
  window.addEventListener("hashchange", route);
  route();
  document.body.setAttribute("data-ready", "1");
  document.body.setAttribute("data-ready-ms", performance.now().toFixed(0));  // load time, read by benchmarks/bench_view.py
})();
