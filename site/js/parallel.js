// Lists every resource of parallel.html with the timing the browser measured, and whether it
// needed a new TCP connection (a handshake) or reused a kept-alive one.
'use strict';
window.addEventListener('load', function () {
  var rows = performance.getEntriesByType('resource').concat(performance.getEntriesByType('navigation'));
  var body = document.getElementById('timings');
  rows.sort(function (a, b) { return a.startTime - b.startTime; });
  rows.forEach(function (e) {
    var tr = document.createElement('tr');
    var handshake = e.connectEnd > e.connectStart;
    var cells = [
      e.name.replace(location.origin, ''),
      e.startTime.toFixed(1),
      handshake ? (e.connectEnd - e.connectStart).toFixed(1) + ' ms' : 'reused',
      (e.responseEnd - e.startTime).toFixed(1),
      e.transferSize > 0 ? String(e.transferSize) : '?'
    ];
    cells.forEach(function (text) {
      var td = document.createElement('td');
      td.textContent = text;
      tr.appendChild(td);
    });
    body.appendChild(tr);
  });
  document.getElementById('status').textContent = 'all ' + rows.length + ' resources loaded';
});
