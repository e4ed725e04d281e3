// tinygrad_lite explore pages: step through forward and backward passes.
// Hand-written, no dependencies. The page's data is the JSON block #explore-data; user text
// from it is only ever written with textContent, never parsed as HTML.
(function () {
  'use strict';
  var DATA = JSON.parse(document.getElementById('explore-data').textContent);
  var SVGNS = 'http://www.w3.org/2000/svg';
  document.documentElement.classList.add('js');

  // ------------------------------------------------------------------ helpers
  function fmt(x, p) {  // like Python's f"{x:.{p}g}" (4 significant digits by default)
    p = p || 4;
    if (x === 0 || !isFinite(x)) { return x === 0 ? '0' : String(x); }
    var e = Math.floor(Math.log10(Math.abs(x)));
    var s = Number(x).toPrecision(p);
    if (s.indexOf('e') >= 0) { e = parseInt(s.split('e')[1], 10); }
    if (e < -4 || e >= p) {
      var m = Number(x).toExponential(p - 1).split('e');
      var mant = m[0].indexOf('.') >= 0 ? m[0].replace(/0+$/, '').replace(/\.$/, '') : m[0];
      var ex = parseInt(m[1], 10);
      return mant + 'e' + (ex < 0 ? '-' : '+') + (Math.abs(ex) < 10 ? '0' : '') + Math.abs(ex);
    }
    return s.indexOf('.') >= 0 ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
  }
  function num(x) { return fmt(x).replace('-', '\u2212'); }  // a real minus sign
  function h(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var k in (attrs || {})) { node.setAttribute(k, attrs[k]); }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function s(tag, attrs) {
    var node = document.createElementNS(SVGNS, tag);
    for (var k in (attrs || {})) { node.setAttribute(k, attrs[k]); }
    return node;
  }
  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }
  function line(parent, text, cls) {
    var p = h('div', cls ? { 'class': cls } : {}, text);
    parent.appendChild(p);
    return p;
  }
  function valueSpan(x, id) {  // a number with its full value in data-value, for tests
    var span = h('span', { 'class': 'number', 'data-value': String(x) }, num(x));
    if (id) { span.id = id; }
    return span;
  }
  function decode(b64, bytes) {  // base64 → Float64Array (bytes 8) or Float32Array (bytes 4)
    var raw = atob(b64), buf = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { buf[i] = raw.charCodeAt(i); }
    return bytes === 4 ? new Float32Array(buf.buffer) : new Float64Array(buf.buffer);
  }
  function parseHash() {
    var out = {};
    location.hash.replace(/^#/, '').split('&').forEach(function (part) {
      if (!part) { return; }
      var kv = part.split('=');
      if (kv.length === 1 && /^\d+$/.test(kv[0])) { out.step = kv[0]; } else { out[kv[0]] = decodeURIComponent(kv[1] || ''); }
    });
    return out;
  }
  function writeHash(fields) {
    var parts = [];
    for (var k in fields) { if (fields[k] !== null && fields[k] !== undefined) { parts.push(k + '=' + encodeURIComponent(fields[k])); } }
    var hash = '#' + parts.join('&');
    if (location.hash === hash) { return; }
    try { history.replaceState(null, '', hash); } catch (err) { location.replace(hash); }
  }

  // ------------------------------------------------------------------ the stepper
  // Buttons ⏮ ◀ ▶/⏸ ▶ ⏭, a slider, keys (← → space Home End) and #step=N in the URL.
  function Stepper(count, describe, onStep, extraHash) {
    var self = this, controls = document.getElementById('controls');
    this.count = count; this.step = 0; this.timer = null;
    function button(id, text, title, fn) {
      var b = h('button', { id: id, title: title, type: 'button' }, text);
      b.addEventListener('click', fn);
      controls.appendChild(b);
      return b;
    }
    button('first', '|\u25c0', 'first step (Home)', function () { self.go(0); });
    button('prev', '\u25c0', 'step back (\u2190)', function () { self.go(self.step - 1); });
    this.play = button('play', '\u25b6 play', 'play / pause (space)', function () { self.toggle(); });
    button('next', '\u25b6', 'next step (\u2192)', function () { self.go(self.step + 1); });
    button('last', '\u25b6|', 'last step (End)', function () { self.go(count); });
    this.slider = h('input', { id: 'slider', type: 'range', min: '0', max: String(count), value: '0', 'aria-label': 'step' });
    this.slider.addEventListener('input', function () { self.go(parseInt(self.slider.value, 10)); });
    controls.appendChild(this.slider);
    this.label = h('span', { id: 'step-label' });
    controls.appendChild(this.label);
    this.describe = describe; this.onStep = onStep; this.extraHash = extraHash || function () { return {}; };
    document.addEventListener('keydown', function (ev) {
      if (ev.target && /^(INPUT|TEXTAREA|SELECT)$/.test(ev.target.tagName) && ev.target.type !== 'range') { return; }
      var keys = { ArrowRight: 1, ArrowLeft: -1 };
      if (ev.key in keys) { self.go(self.step + keys[ev.key]); ev.preventDefault(); }
      else if (ev.key === 'Home') { self.go(0); ev.preventDefault(); }
      else if (ev.key === 'End') { self.go(count); ev.preventDefault(); }
      else if (ev.key === ' ') { self.toggle(); ev.preventDefault(); }
    });
    window.addEventListener('hashchange', function () { self.fromHash(); });
  }
  Stepper.prototype.go = function (n, keepHash) {
    n = Math.max(0, Math.min(this.count, n | 0));
    this.step = n;
    this.slider.value = String(n);
    this.label.textContent = 'step ' + n + ' of ' + this.count + ': ' + this.describe(n);
    this.onStep(n);
    if (!keepHash) { var f = this.extraHash(); f.step = n; writeHash(f); }
    if (n >= this.count) { this.pause(); }
  };
  Stepper.prototype.toggle = function () { if (this.timer) { this.pause(); } else { this.start(); } };
  Stepper.prototype.start = function () {
    var self = this;
    if (this.step >= this.count) { this.go(0); }
    this.play.textContent = '\u23f8 pause';
    this.timer = setInterval(function () { self.go(self.step + 1); }, 900);
  };
  Stepper.prototype.pause = function () {
    if (this.timer) { clearInterval(this.timer); this.timer = null; }
    this.play.textContent = '\u25b6 play';
  };
  Stepper.prototype.fromHash = function () {
    var f = parseHash();
    this.go(f.step !== undefined ? parseInt(f.step, 10) || 0 : 0, true);
    return f;
  };

  // ================================================================== graph pages
  function graphPage() {
    var nodes = DATA.nodes, F = DATA.forward.length, B = DATA.backward.length;
    var svg = document.querySelector('#picture svg');
    var bySvg = {}, edges = {};
    svg.querySelectorAll('g.node').forEach(function (g) { bySvg[g.querySelector('title').textContent] = g; });
    svg.querySelectorAll('g.edge').forEach(function (g) {
      var key = g.querySelector('title').textContent;
      (edges[key] = edges[key] || []).push(g);
    });
    var children = nodes.map(function () { return []; });
    nodes.forEach(function (r, c) {
      r.parents.forEach(function (p, k) { children[p].push({ child: c, slot: k, local: r.locals[k] }); });
    });
    var fStep = nodes.map(function (r) { return r.computed ? Infinity : 0; });
    var bStep = nodes.map(function () { return Infinity; });
    DATA.forward.forEach(function (i, k) { fStep[i] = k + 1; });
    DATA.backward.forEach(function (i, k) { bStep[i] = F + k + 1; });
    var opLayout = DATA.layout === 'ops';
    // The numbers in each node's text, kept so that they can be hidden until computed.
    var texts = nodes.map(function (r) {
      var g = bySvg[r.svg];
      if (!g) { return []; }
      return Array.prototype.map.call(g.querySelectorAll('text'), function (t) {
        var content = t.textContent;
        var isGrad = /^(grad |\u2202)/.test(content);
        var isData = /^data /.test(content) || (DATA.layout === 'direct' && !isGrad);
        var hidden = content.replace(/-?\d[\d.]*(e[-+]?\d+)?$/, '?');
        return { el: t, full: content, hidden: hidden, grad: isGrad, data: isData && !isGrad };
      });
    });
    function edgeEls(p, c) {  // the drawn edges that carry parent p into child c
      var a = nodes[p].svg, b = nodes[c].svg;
      if (opLayout) {
        var op = 'op' + b.slice(1);
        return (edges[a + '->' + op] || []).concat(edges[op + '->' + b] || []);
      }
      return edges[a + '->' + b] || [];
    }
    function opEl(c) { return opLayout ? bySvg['op' + nodes[c].svg.slice(1)] : null; }
    var panel = document.getElementById('panel');
    var stepBox = h('section', { id: 'step-info' }), pathBox = h('section', { id: 'paths' }), hoverBox = h('section', { id: 'hover' });
    panel.appendChild(stepBox); panel.appendChild(pathBox); panel.appendChild(hoverBox);
    var root = DATA.root, C = DATA.rootName;
    var selected = null;

    function describe(n) {
      if (n === 0) { return 'the inputs and parameters are given'; }
      if (n <= F) { return 'forward: compute ' + nodes[DATA.forward[n - 1]].name; }
      return 'backward: \u2202' + C + '/\u2202' + nodes[DATA.backward[n - F - 1]].name;
    }
    function currentNode(n) {
      if (n === 0) { return null; }
      return n <= F ? DATA.forward[n - 1] : DATA.backward[n - F - 1];
    }
    function render(n) {
      svg.querySelectorAll('.lit, .current, .pending, .lit-edge').forEach(function (e) {
        e.classList.remove('lit', 'current', 'pending', 'lit-edge');
      });
      nodes.forEach(function (r, i) {
        var g = bySvg[r.svg];
        if (!g) { return; }
        if (fStep[i] > n && r.kind !== 'const') { g.classList.add('pending'); var op = opEl(i); if (op) { op.classList.add('pending'); } }
        texts[i].forEach(function (t) {
          var hide = (t.data && fStep[i] > n) || (t.grad && bStep[i] > n);
          t.el.textContent = hide ? t.hidden : t.full;
        });
      });
      var cur = currentNode(n);
      clear(stepBox);
      if (cur === null) {
        line(stepBox, 'Press \u2192 (or \u25b6) to compute the values one by one, in topological order; then the gradients flow back.', 'hint');
        return;
      }
      bySvg[nodes[cur].svg].classList.add('current');
      if (n <= F) {
        nodes[cur].parents.forEach(function (p) { edgeEls(p, cur).forEach(function (e) { e.classList.add('lit-edge'); }); });
        if (opEl(cur)) { opEl(cur).classList.add('current'); }
        showForward(cur);
      } else {
        children[cur].forEach(function (t) {
          edgeEls(cur, t.child).forEach(function (e) { e.classList.add('lit-edge'); });
          bySvg[nodes[t.child].svg].classList.add('lit');
        });
        showBackward(cur);
      }
    }
    function showForward(i) {
      var r = nodes[i];
      line(stepBox, 'Forward, step ' + (DATA.forward.indexOf(i) + 1) + ' of ' + F, 'head');
      var eq = line(stepBox, r.tip.split('\n')[0].replace(/ = [^=]*$/, '') + ' = ', 'equation');
      eq.appendChild(valueSpan(r.data, 'data-value'));
      var inputs = r.parents.map(function (p) { return nodes[p].name + ' = ' + num(nodes[p].data); });
      if (inputs.length) { line(stepBox, 'from ' + inputs.join(', '), 'detail'); }
    }
    function showBackward(i) {
      var r = nodes[i], g = '\u2202' + C + '/\u2202' + r.name;
      line(stepBox, 'Backward, step ' + (DATA.backward.indexOf(i) + 1) + ' of ' + B, 'head');
      if (i === root) {
        var eq0 = line(stepBox, g + ' = ', 'equation');
        eq0.appendChild(valueSpan(r.grad, 'grad-value'));
        line(stepBox, 'The backward pass starts at the output with gradient 1.', 'detail');
        return;
      }
      var terms = children[i];
      var symbolic = terms.map(function (t) {
        var c = nodes[t.child].name;
        return '\u2202' + C + '/\u2202' + c + ' \u00b7 \u2202' + c + '/\u2202' + r.name;
      });
      var numeric = terms.map(function (t) { return num(nodes[t.child].grad) + ' \u00d7 ' + num(t.local); });
      var many = terms.length > 4;  // then the terms are listed one per line below
      line(stepBox, g + ' = ' + (many ? '\u03a3 over its ' + terms.length + ' uses u of \u2202' + C + '/\u2202u \u00b7 \u2202u/\u2202' + r.name : symbolic.join(' + ')), 'equation');
      var eq = line(stepBox, '= ' + (many ? '' : numeric.join(' + ') + ' = '), 'equation');
      eq.appendChild(valueSpan(r.grad, 'grad-value'));
      if (terms.length > 1) {
        line(stepBox, r.name + ' is used ' + terms.length + ' times: one term per use, added up.', 'detail');
        var list = h('ol', { id: 'terms' });
        terms.forEach(function (t) {
          var c = nodes[t.child].name;
          list.appendChild(h('li', {}, 'through ' + c + ': ' + num(nodes[t.child].grad) + ' \u00d7 ' + num(t.local) + ' = ' + num(nodes[t.child].grad * t.local)));
        });
        stepBox.appendChild(list);
      }
    }

    // ---- click a leaf: its paths to the output
    function showPaths(i) {
      svg.querySelectorAll('.on-path, .path-edge, .selected').forEach(function (e) { e.classList.remove('on-path', 'path-edge', 'selected'); });
      clear(pathBox);
      selected = i;
      stepper.go(stepper.step);  // rewrite the hash with the selection
      if (i === null) { return; }
      var below = {}, order = [i], k;
      below[i] = true;
      for (k = 0; k < order.length; k++) {
        children[order[k]].forEach(function (t) { if (!below[t.child]) { below[t.child] = true; order.push(t.child); } });
      }
      bySvg[nodes[i].svg].classList.add('selected');
      Object.keys(below).forEach(function (v) {
        v = +v;
        if (v !== i) { bySvg[nodes[v].svg].classList.add('on-path'); if (opEl(v)) { opEl(v).classList.add('on-path'); } }
        children[v].forEach(function (t) { edgeEls(v, t.child).forEach(function (e) { e.classList.add('path-edge'); }); });
      });
      var paths = [], limit = 40, count = {}, total = {};
      (function countPaths() {  // number of paths and sum of products to the root, by DP
        var topo = Object.keys(below).map(Number).sort(function (a, b) { return b - a; });
        topo.forEach(function (v) {
          if (v === root) { count[v] = 1; total[v] = 1; return; }
          count[v] = 0; total[v] = 0;
          children[v].forEach(function (t) { count[v] += count[t.child]; total[v] += t.local * total[t.child]; });
        });
      })();
      (function walk(v, trail, product) {
        if (paths.length >= limit) { return; }
        if (v === root) { paths.push({ trail: trail.slice(), product: product }); return; }
        children[v].forEach(function (t) { trail.push(t); walk(t.child, trail, product * t.local); trail.pop(); });
      })(i, [], 1);
      var r = nodes[i];
      line(pathBox, count[i] + ' path' + (count[i] === 1 ? '' : 's') + ' from ' + r.name + ' to ' + C, 'head').id = 'path-count';
      var list = h('ol', { id: 'path-list' });
      paths.forEach(function (p) {
        var names = [r.name].concat(p.trail.map(function (t) { return nodes[t.child].name; }));
        var item = h('li', { 'data-product': String(p.product) },
          names.join(' \u2192 ') + ': ' + p.trail.map(function (t) { return num(t.local); }).join(' \u00d7 ') + ' = ' + num(p.product));
        list.appendChild(item);
      });
      pathBox.appendChild(list);
      if (count[i] > paths.length) { line(pathBox, '\u2026 and ' + (count[i] - paths.length) + ' more paths', 'detail'); }
      var sum = line(pathBox, 'sum over the paths = ', 'equation');
      sum.appendChild(valueSpan(total[i], 'path-sum'));
      var eng = line(pathBox, 'backward() gave \u2202' + C + '/\u2202' + r.name + ' = ', 'equation');
      eng.appendChild(valueSpan(r.grad, 'path-grad'));
      line(pathBox, 'Each path multiplies the local derivatives along it; the gradient is the sum over all paths (click the node again to clear).', 'detail');
    }
    nodes.forEach(function (r, i) {
      var g = bySvg[r.svg];
      if (!g) { return; }
      g.setAttribute('data-index', String(i));
      if (i !== root) {
        g.classList.add('clickable');
        g.addEventListener('click', function (ev) { ev.stopPropagation(); showPaths(selected === i ? null : i); });
      }
      g.addEventListener('mouseenter', function () {
        clear(hoverBox);
        line(hoverBox, 'hover: ' + r.name + ' (' + r.kind + ')', 'head');
        r.tip.split('\n').forEach(function (t) { line(hoverBox, t, 'detail'); });
        line(hoverBox, '\u2202' + C + '/\u2202' + r.name + ' = ' + num(r.grad), 'detail');
      });
    });
    document.addEventListener('keydown', function (ev) { if (ev.key === 'Escape') { showPaths(null); } });
    var stepper = new Stepper(F + B, describe, render, function () {
      return selected === null ? {} : { select: nodes[selected].svg };
    });
    var f = stepper.fromHash();
    if (f.select) {
      var found = nodes.findIndex(function (r) { return r.svg === f.select; });
      if (found >= 0) { showPaths(found); }
    }
  }

  // ================================================================== networks
  var ACT = {
    sigmoid: [function (z) { return 1 / (1 + Math.exp(-z)); }, function (z, a) { return a * (1 - a); }],
    relu: [function (z) { return z > 0 ? z : 0; }, function (z) { return z > 0 ? 1 : 0; }],
    tanh: [function (z) { return Math.tanh(z); }, function (z, a) { return 1 - a * a; }],
    linear: [function (z) { return z; }, function () { return 1; }]
  };
  // A model as arrays: layers[l] = {W: rows of weights, b, act}.
  function forwardPass(layers, x) {
    var acts = [Array.prototype.slice.call(x)], zs = [];
    layers.forEach(function (L) {
      var prev = acts[acts.length - 1], z = [], a = [];
      for (var j = 0; j < L.b.length; j++) {
        var sum = 0, row = L.W[j];
        for (var k = 0; k < prev.length; k++) { sum += row[k] * prev[k]; }
        sum += L.b[j];
        z.push(sum); a.push(ACT[L.act][0](sum));
      }
      zs.push(z); acts.push(a);
    });
    return { z: zs, a: acts };
  }
  function softmax(v) {
    var m = Math.max.apply(null, v), e = v.map(function (t) { return Math.exp(t - m); }), s = e.reduce(function (p, q) { return p + q; }, 0);
    return e.map(function (t) { return t / s; });
  }
  function costOf(out, y, cost) {
    if (cost === 'cross-entropy') {
      var sm = softmax(out), c = 0;
      y.forEach(function (t, j) { if (t) { c -= t * Math.log(sm[j]); } });
      return c;
    }
    return out.reduce(function (c, a, j) { return c + (a - y[j]) * (a - y[j]); }, 0);
  }
  function backwardPass(layers, state, y, cost) {  // ∂C/∂a per layer, ∂C/∂w, ∂C/∂b
    var L = layers.length, out = state.a[L], dA = [], dW = [], dB = [];
    var d = cost === 'cross-entropy' ? (function () { var sm = softmax(out); var sy = y.reduce(function (p, q) { return p + q; }, 0); return sm.map(function (p, j) { return sy * p - y[j]; }); })()
      : out.map(function (a, j) { return 2 * (a - y[j]); });
    for (var l = L - 1; l >= 0; l--) {
      dA[l] = d;
      var lay = layers[l], prev = state.a[l], dz = d.map(function (g, j) { return g * ACT[lay.act][1](state.z[l][j], state.a[l + 1][j]); });
      dW[l] = dz.map(function (g) { return prev.map(function (p) { return g * p; }); });
      dB[l] = dz;
      var next = prev.map(function () { return 0; });
      for (var j = 0; j < dz.length; j++) { for (var k = 0; k < next.length; k++) { next[k] += dz[j] * lay.W[j][k]; } }
      d = next;
    }
    return { dA: dA, dW: dW, dB: dB };
  }
  function unflatten(flat, sizes, acts) {  // parameters in model.parameters() order
    var layers = [], pos = 0;
    for (var l = 1; l < sizes.length; l++) {
      var W = [], b = [];
      for (var j = 0; j < sizes[l]; j++) {
        W.push(Array.prototype.slice.call(flat, pos, pos + sizes[l - 1])); pos += sizes[l - 1];
        b.push(flat[pos]); pos += 1;
      }
      layers.push({ W: W, b: b, act: acts[l - 1] });
    }
    return layers;
  }
  function grey(v) { var t = Math.round(255 * (1 - Math.max(0, Math.min(1, v)))); return 'rgb(' + t + ',' + t + ',' + t + ')'; }
  function diverging(v, top) {  // blue (#2563eb) for positive, red (#dc2626) for negative, white for 0
    var t = top > 0 ? Math.max(-1, Math.min(1, v / top)) : 0, u = Math.abs(t);
    var rgb = t >= 0 ? [255 - 218 * u, 255 - 156 * u, 255 - 20 * u] : [255 - 35 * u, 255 - 217 * u, 255 - 217 * u];
    return 'rgb(' + rgb.map(Math.round).join(',') + ')';
  }
  function shadeOf(a, act) { return act === 'tanh' ? (a + 1) / 2 : act === 'sigmoid' ? a : Math.max(0, Math.min(1, a)); }

  // The network picture made by Python: circles n{l}_{j}, pixels in{i}, edges layer g#edges.
  function NetworkView(svg, sizes, acts) {
    this.svg = svg; this.sizes = sizes; this.acts = acts;
    this.edgeLayer = svg.querySelector('#edges');
    this.pos = {};
    var self = this;
    svg.querySelectorAll('[data-x]').forEach(function (e) { self.pos[e.id] = [+e.getAttribute('data-x'), +e.getAttribute('data-y')]; });
  }
  NetworkView.prototype.src = function (l, k) { return l === 0 ? 'in' + k : 'n' + (l - 1) + '_' + k; };
  NetworkView.prototype.showInput = function (x) {
    for (var i = 0; i < x.length; i++) { var e = document.getElementById('in' + i); if (e) { e.setAttribute('fill', grey(x[i])); } }
  };
  NetworkView.prototype.showLayer = function (l, a, dA) {  // l: 0-based layer; a or dA may be null
    for (var j = 0; j < this.sizes[l + 1]; j++) {
      var g = this.svg.querySelector('#n' + l + '_' + j);
      var c = g.querySelector('circle'), t = g.querySelector('.act'), gt = g.querySelector('.grad');
      c.setAttribute('fill', a ? grey(shadeOf(a[j], this.acts[l])) : '#ffffff');
      t.textContent = a ? a[j].toFixed(2).replace(/^-0\.00$/, '0.00') : '';
      t.setAttribute('fill', a && shadeOf(a[j], this.acts[l]) > 0.55 ? '#ffffff' : '#000000');
      g.classList.toggle('shown', !!a);
      gt.textContent = dA ? num(Number(dA[j].toPrecision(2))) : '';
      gt.setAttribute('data-value', dA ? String(dA[j]) : '');
      c.setAttribute('stroke', dA ? (dA[j] > 0 ? '#dc2626' : '#2563eb') : '#555555');
      c.setAttribute('stroke-width', dA ? '2.5' : '1');
    }
  };
  // Edges: for each neuron the topK incoming edges by |w·a|; colour by w, or by −∂C/∂w.
  NetworkView.prototype.drawEdges = function (layers, state, topK, grads, upTo) {
    clear(this.edgeLayer);
    for (var l = 0; l < layers.length && l < upTo; l++) {
      var prev = state.a[l], W = layers[l].W, G = grads && grads[l] ? grads[l] : null, picks = [], top = 0;
      for (var j = 0; j < W.length; j++) {
        var idx = W[j].map(function (w, k) { return k; });
        var row = W[j];
        idx.sort(function (p, q) { return Math.abs(row[q] * prev[q]) - Math.abs(row[p] * prev[p]) || p - q; });
        idx.slice(0, topK).forEach(function (k) {
          var strength = G ? Math.abs(G[j][k]) : Math.abs(row[k] * prev[k]);
          if (strength > top) { top = strength; }
          picks.push([j, k, strength]);
        });
      }
      var self = this;
      picks.forEach(function (p) {
        var j = p[0], k = p[1], a = self.pos[self.src(l, k)], b = self.pos['n' + l + '_' + j];
        var value = G ? -G[j][k] : W[j][k];
        var width = top > 0 ? 0.3 + 2.7 * p[2] / top : 0.3;
        var ln = s('line', { x1: a[0], y1: a[1], x2: b[0], y2: b[1], id: 'e' + l + '_' + j + '_' + k,
          stroke: value > 0 ? '#2563eb' : value < 0 ? '#dc2626' : '#aaaaaa', 'stroke-width': width.toFixed(2), 'stroke-opacity': '0.75' });
        self.edgeLayer.appendChild(ln);
      });
    }
  };

  function readModel(D) {
    return D.layers.map(function (L) {
      var flat = decode(L.W, 8), W = [];
      for (var j = 0; j < L.nout; j++) { W.push(Array.prototype.slice.call(flat, j * L.nin, (j + 1) * L.nin)); }
      return { W: W, b: Array.prototype.slice.call(decode(L.b, 8)), act: L.act };
    });
  }
  function tile(values, shape, top, title) {
    var rows = shape[0], cols = shape[1], size = Math.max(3, Math.floor(140 / Math.max(rows, cols)));
    var box = h('figure', { 'class': 'tile' }), pic = s('svg', { width: cols * size, height: rows * size, viewBox: '0 0 ' + cols * size + ' ' + rows * size });
    for (var i = 0; i < values.length; i++) {
      pic.appendChild(s('rect', { x: (i % cols) * size, y: Math.floor(i / cols) * size, width: size, height: size, fill: diverging(values[i], top) }));
    }
    box.appendChild(pic);
    box.appendChild(h('figcaption', {}, title));
    return box;
  }
  function squareShape(n) { var c = Math.ceil(Math.sqrt(n)); return [Math.ceil(n / c), c]; }

  function networkPage() {
    var D = DATA, L = D.sizes.length - 1, svg = document.querySelector('#picture svg');
    var view = new NetworkView(svg, D.sizes, D.acts);
    var original = readModel(D), model = original;
    var engine = { a: [D.x].concat(D.a), z: D.z };
    // The engine's gradients for this example; after a nudge the script computes its own.
    var grads0 = { dA: D.dCda, dB: D.dCdb, dW: D.dCdw.map(function (g, l) { var f = decode(g, 8), n = D.sizes[l]; return D.dCda[l].map(function (_, j) { return Array.prototype.slice.call(f, j * n, (j + 1) * n); }); }) };
    var grads = grads0;
    var state = engine, topK = D.topK, nudges = [];
    var panel = document.getElementById('panel');
    var stepBox = h('section', { id: 'step-info' }), nudgeBox = h('section', { id: 'nudge' }), neuronBox = h('section', { id: 'neuron' });
    panel.appendChild(stepBox); panel.appendChild(nudgeBox); panel.appendChild(neuronBox);
    function describe(n) {
      if (n === 0) { return 'the input image'; }
      if (n <= L) { return 'forward: layer ' + n + (n === L ? ' (output)' : ''); }
      var l = 2 * L + 1 - n;
      return 'backward: \u2202C/\u2202a of layer ' + l + (l === L ? ' (output)' : '');
    }
    function render(n) {
      view.showInput(D.x);
      for (var l = 0; l < L; l++) {
        var shown = n >= l + 1, back = n >= 2 * L - l;
        view.showLayer(l, shown ? state.a[l + 1] : null, back ? grads.dA[l] : null);
      }
      var backFrom = n > L ? 2 * L + 1 - n : L + 1;  // layers ≥ backFrom have ∂C/∂w shown
      var edgeGrads = grads.dW.map(function (g, l) { return l + 1 >= backFrom ? g : null; });
      view.drawEdges(model, state, topK, edgeGrads, Math.min(n, L));
      clear(stepBox);
      var out = state.a[L], cost = costOf(out, D.y, D.cost);
      if (n === 0) { line(stepBox, 'The input: a ' + D.shape[0] + '\u00d7' + D.shape[1] + ' image, ' + D.sizes[0] + ' numbers. Press \u2192 to compute the layers.', 'hint'); }
      else if (n <= L) {
        line(stepBox, 'Forward, layer ' + n + ': a\u207d' + n + '\u207e = ' + D.acts[n - 1] + '(W a\u207d' + (n - 1) + '\u207e + b)', 'head');
        line(stepBox, 'Edges: the ' + topK + ' strongest inputs of each neuron by |w\u00b7a|; blue w > 0, red w < 0.', 'detail');
        if (n === L) {
          var best = out.indexOf(Math.max.apply(null, out));
          line(stepBox, 'The network says ' + best + ' (label ' + D.label + ').', 'equation');
          var c = line(stepBox, 'cost C = \u03a3\u2c7c (a\u2c7c \u2212 y\u2c7c)\u00b2 = ', 'equation');
          if (D.cost === 'cross-entropy') { c.textContent = 'cost C = cross-entropy = '; }
          c.appendChild(valueSpan(cost, 'cost-value'));
        }
      } else {
        var l = 2 * L + 1 - n;
        line(stepBox, 'Backward, layer ' + l + ': \u2202C/\u2202a for each neuron', 'head');
        line(stepBox, l === L ? (D.cost === 'cross-entropy' ? 'At the output: \u2202C/\u2202a\u2c7c = softmax(a)\u2c7c \u2212 y\u2c7c.' : 'At the output: \u2202C/\u2202a\u2c7c = 2(a\u2c7c \u2212 y\u2c7c): the output\'s wishes.')
          : '\u2202C/\u2202a\u2096 = \u03a3\u2c7c w\u2c7c\u2096 \u00b7 \u03c3\'(z\u2c7c) \u00b7 \u2202C/\u2202a\u2c7c: the wishes of the next layer, added up.', 'detail');
        line(stepBox, 'Rings: red \u2202C/\u2202a > 0 (a should go down), blue < 0 (a should go up). Edges now show \u2212\u2202C/\u2202w: blue, the weight is about to grow; red, to shrink.', 'detail');
      }
    }
    var stepper = new Stepper(2 * L, describe, render);
    // ---- the nudge: one SGD step on this example
    var lrInput = h('input', { id: 'lr', type: 'number', step: 'any', min: '0', value: String(D.lr), 'aria-label': 'learning rate' });
    var nudgeButton = h('button', { id: 'nudge-button', type: 'button' }, 'nudge: one SGD step');
    var resetButton = h('button', { id: 'reset-button', type: 'button' }, 'reset');
    var kInput = h('input', { id: 'top-k', type: 'number', min: '1', max: String(Math.max.apply(null, D.sizes)), value: String(topK), 'aria-label': 'edges per neuron' });
    var controls = document.getElementById('controls');
    [h('label', { 'for': 'lr' }, ' learning rate \u03b7 '), lrInput, nudgeButton, resetButton, h('label', { 'for': 'top-k' }, ' edges/neuron '), kInput].forEach(function (e) { controls.appendChild(e); });
    kInput.addEventListener('change', function () { var k = parseInt(kInput.value, 10); if (k >= 1) { topK = k; render(stepper.step); } });
    function showNudges() {
      clear(nudgeBox);
      if (!nudges.length) { line(nudgeBox, 'Nudge: one step of SGD on this example, w \u2190 w \u2212 \u03b7 \u2202C/\u2202w, and see the outputs move.', 'hint'); return; }
      var last = nudges[nudges.length - 1];
      line(nudgeBox, nudges.length + ' nudge' + (nudges.length > 1 ? 's' : '') + ', \u03b7 = ' + last.lr, 'head');
      var table = h('table', { id: 'nudge-table' }), head = h('tr');
      ['digit', 'before', 'after', 'target'].forEach(function (t) { head.appendChild(h('th', {}, t)); });
      table.appendChild(head);
      last.before.forEach(function (b, j) {
        var tr = h('tr', j === D.label ? { 'class': 'target' } : {});
        tr.appendChild(h('td', {}, String(j)));
        tr.appendChild(h('td', {}, fmt(b, 3)));
        var td = h('td', { 'class': last.after[j] > b ? 'up' : 'down' }, fmt(last.after[j], 3)); tr.appendChild(td);
        tr.appendChild(h('td', {}, fmt(D.y[j], 3)));
        table.appendChild(tr);
      });
      nudgeBox.appendChild(table);
      var c = line(nudgeBox, 'cost ' + num(last.costBefore) + ' \u2192 ', 'equation');
      c.appendChild(valueSpan(last.costAfter, 'cost-after'));
    }
    nudgeButton.addEventListener('click', function () {
      var lr = parseFloat(lrInput.value);
      if (!(lr > 0 && isFinite(lr))) { lrInput.classList.add('bad'); return; }
      lrInput.classList.remove('bad');
      var before = state.a[L].slice(), costBefore = costOf(before, D.y, D.cost);
      model = model.map(function (lay, l) {
        return { act: lay.act, W: lay.W.map(function (row, j) { return row.map(function (w, k) { return w - lr * grads.dW[l][j][k]; }); }),
          b: lay.b.map(function (b, j) { return b - lr * grads.dB[l][j]; }) };
      });
      state = forwardPass(model, D.x);
      grads = backwardPass(model, state, D.y, D.cost);
      nudges.push({ lr: lr, before: before, after: state.a[L].slice(), costBefore: costBefore, costAfter: costOf(state.a[L], D.y, D.cost) });
      showNudges(); render(stepper.step); if (shownNeuron) { showNeuron.apply(null, shownNeuron); }
    });
    resetButton.addEventListener('click', function () {
      model = original; state = engine; nudges = []; grads = grads0;
      showNudges(); render(stepper.step); if (shownNeuron) { showNeuron.apply(null, shownNeuron); }
    });
    // ---- click a neuron: its weights and their gradients as tiles
    var shownNeuron = null;
    function showNeuron(l, j) {
      shownNeuron = [l, j];
      clear(neuronBox);
      var w = model[l].W[j], g = grads.dW[l][j].map(function (v) { return -v; });
      var shape = l === 0 ? D.shape : squareShape(w.length);
      var topW = Math.max.apply(null, w.map(Math.abs)), topG = Math.max.apply(null, g.map(Math.abs));
      line(neuronBox, (l === L - 1 ? 'output' : 'hidden layer ' + (l + 1)) + ', neuron ' + j + ': a = ' + fmt(state.a[l + 1][j]) + ', b = ' + fmt(model[l].b[j]), 'head').id = 'neuron-title';
      var row = h('div', { 'class': 'tiles' });
      row.appendChild(tile(w, shape, topW, 'weights w (what it looks for): blue +, red \u2212'));
      row.appendChild(tile(g, shape, topG, '\u2212\u2202C/\u2202w (how the weights will move)'));
      neuronBox.appendChild(row);
    }
    svg.querySelectorAll('g.neuron').forEach(function (g) {
      var m = /^n(\d+)_(\d+)$/.exec(g.id);
      g.addEventListener('click', function () { showNeuron(+m[1], +m[2]); });
    });
    showNudges();
    stepper.fromHash();
    var f = parseHash();
    if (f.neuron) { var m = /^n(\d+)_(\d+)$/.exec(f.neuron); if (m) { showNeuron(+m[1], +m[2]); } }
    if (f.nudge) { for (var i = 0; i < parseInt(f.nudge, 10); i++) { nudgeButton.click(); } }
  }

  // ================================================================== training replay
  function trainingPage() {
    var D = DATA, L = D.sizes.length - 1, svg = document.querySelector('#picture svg');
    var view = new NetworkView(svg, D.sizes, D.acts);
    var snaps = D.snapshots.map(function (sn) { return { epoch: sn.epoch, layers: unflatten(decode(sn.params, 4), D.sizes, D.acts) }; });
    var images = D.images.map(function (b) { return Array.prototype.slice.call(decode(b, 4)); });
    var chosen = 0, current = 0;
    var panel = document.getElementById('panel');
    var curves = document.getElementById('curves'), digits = h('section', { id: 'digits' }), info = h('section', { id: 'step-info' });
    panel.appendChild(info); panel.appendChild(curves); panel.appendChild(digits);
    var controls = document.getElementById('controls');
    var slider = h('input', { id: 'epoch-slider', type: 'range', min: '0', max: String(snaps.length - 1), value: '0', 'aria-label': 'epoch' });
    var label = h('span', { id: 'epoch-label' });
    controls.appendChild(h('label', { 'for': 'epoch-slider' }, 'epoch ')); controls.appendChild(slider); controls.appendChild(label);
    slider.addEventListener('input', function () { show(parseInt(slider.value, 10)); });
    document.addEventListener('keydown', function (ev) {
      if (ev.key === 'ArrowRight' && ev.target !== slider) { show(current + 1); }
      if (ev.key === 'ArrowLeft' && ev.target !== slider) { show(current - 1); }
    });
    function show(i) {
      i = Math.max(0, Math.min(snaps.length - 1, i));
      current = i; slider.value = String(i);
      var sn = snaps[i];
      label.textContent = 'after epoch ' + sn.epoch + (sn.epoch === 0 ? ' (untrained)' : '') + ' \u2014 snapshot ' + (i + 1) + ' of ' + snaps.length;
      var st = forwardPass(sn.layers, images[chosen]);
      view.showInput(images[chosen]);
      for (var l = 0; l < L; l++) { view.showLayer(l, st.a[l + 1], null); }
      view.drawEdges(sn.layers, st, D.topK, null, L);
      clear(digits);
      var row = h('div', { 'class': 'digit-row' });
      images.forEach(function (x, k) {
        var out = forwardPass(sn.layers, x).a[L], guess = out.indexOf(Math.max.apply(null, out));
        var fig = h('figure', { 'class': 'digit' + (k === chosen ? ' chosen' : '') + (guess === D.labels[k] ? ' right' : ' wrong'), 'data-guess': String(guess) });
        var pic = s('svg', { width: 56, height: 56, viewBox: '0 0 ' + D.shape[1] + ' ' + D.shape[0] });
        for (var p = 0; p < x.length; p++) { pic.appendChild(s('rect', { x: p % D.shape[1], y: Math.floor(p / D.shape[1]), width: 1, height: 1, fill: grey(x[p]) })); }
        fig.appendChild(pic);
        fig.appendChild(h('figcaption', {}, 'says ' + guess + (guess === D.labels[k] ? ' \u2713' : ' (is ' + D.labels[k] + ')')));
        fig.addEventListener('click', function () { chosen = k; show(current); });
        row.appendChild(fig);
      });
      digits.appendChild(line(digits, 'Test digits (click one to see the network on it):', 'head'));
      digits.appendChild(row);
      clear(info);
      var e = D.curves.epochs.indexOf(sn.epoch);
      if (e >= 0) {
        line(info, 'epoch ' + sn.epoch + ': cost ' + fmt(D.curves.cost[e]) + ', train accuracy ' + (100 * D.curves.train[e]).toFixed(1) + '%, test accuracy ' + (100 * D.curves.test[e]).toFixed(1) + '%', 'equation').id = 'epoch-stats';
      } else { line(info, 'the starting weights, before any training', 'equation').id = 'epoch-stats'; }
      var marker = curves.querySelector('#marker');
      if (marker) { var x = D.curveX[i]; marker.setAttribute('x1', x); marker.setAttribute('x2', x); }
      writeHash({ snapshot: i, digit: chosen });
    }
    var f = parseHash();
    if (f.digit) { chosen = Math.max(0, Math.min(images.length - 1, parseInt(f.digit, 10) || 0)); }
    show(f.snapshot !== undefined ? parseInt(f.snapshot, 10) || 0 : snaps.length - 1);
  }

  if (DATA.kind === 'graph') { graphPage(); } else if (DATA.kind === 'network') { networkPage(); } else { trainingPage(); }
  // When the page became interactive, in ms since navigation began (read by the benchmark).
  document.documentElement.setAttribute('data-ready', String(Math.round(performance.now())));
})();
