// Live case timeline: the case page subscribes to server-sent events and updates step rows and the case status.
(function () {
  var el = document.querySelector('[data-live-case]');
  if (!el || !window.EventSource) { return; }
  var source = new EventSource('/live/cases/' + encodeURIComponent(el.getAttribute('data-live-case')));
  source.addEventListener('case', function (e) {
    var c = JSON.parse(e.data);
    var s = document.getElementById('case-status');
    if (s) { s.textContent = c.status; s.className = 'status-' + c.status; }
    var cv = document.getElementById('cut-verified');
    if (cv && c.cutVerified) { cv.textContent = c.cutVerified; }
    (c.steps || []).forEach(function (st) {
      var cell = document.getElementById('step-status-' + st.id);
      if (cell && cell.textContent !== st.status) { cell.textContent = st.status; cell.className = 'status-' + st.status; }
      var fin = document.getElementById('step-finished-' + st.id);
      if (fin && st.finished) { fin.textContent = st.finished; }
    });
    if (c.closed) { source.close(); }
  });
})();
