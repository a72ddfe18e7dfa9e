/* Tools → Import from CRM: the tag's contact count, and the progress of the running import,
 * polled from the REST API (crmhook/v1/imports/{id}) until it is over. */
(function () {
	'use strict';
	var cfg = window.crmhookImport;
	if (!cfg) {
		return;
	}
	var $ = function (id) { return document.getElementById(id); };

	function get(url) {
		return fetch(url, { credentials: 'same-origin', headers: { 'X-WP-Nonce': cfg.nonce, Accept: 'application/json' } })
			.then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); });
	}

	var tag = $('crmhook-import-tag');
	var count = $('crmhook-import-tag-count');
	if (tag && count) {
		tag.addEventListener('change', function () {
			count.textContent = '';
			if (!tag.value) {
				return;
			}
			count.textContent = cfg.counting;
			var asked = tag.value;
			get(cfg.root + '/count?tag_id=' + encodeURIComponent(asked)).then(function (a) {
				if (tag.value !== asked) {
					return;
				}
				if (!a.ok) {
					count.textContent = a.body && a.body.message ? a.body.message : '';
					return;
				}
				var n = a.body.total !== null ? a.body.total : a.body.first_page;
				count.dataset.total = String(n);
				count.textContent = (a.body.total !== null ? cfg.count : cfg.countMore).replace('%s', String(n));
			});
		});
	}

	var box = $('crmhook-import-status-box');
	if (!box) {
		return;
	}
	var id = box.dataset.import;
	function show(p) {
		box.dataset.status = p.status;
		$('crmhook-import-progress').value = p.percent;
		$('crmhook-import-progress').textContent = p.percent + ' %';
		$('crmhook-import-percent').textContent = p.percent + ' %';
		$('crmhook-import-status').textContent = cfg.statuses[p.status] || p.status;
		['found', 'created', 'updated', 'skipped', 'failed', 'waiting'].forEach(function (k) {
			$('crmhook-import-' + k).textContent = String(p[k]);
		});
		$('crmhook-import-error').textContent = p.last_error || '';
		var active = p.status === 'listing' || p.status === 'running';
		$('crmhook-import-cancel-form').hidden = !active;
		$('crmhook-import-start').disabled = active;
		return active;
	}
	function poll() {
		get(cfg.root + '/' + encodeURIComponent(id)).then(function (a) {
			if (a.ok && show(a.body)) {
				window.setTimeout(poll, 2000);
			}
		}, function () {
			window.setTimeout(poll, 5000);
		});
	}
	if (box.dataset.status === 'listing' || box.dataset.status === 'running') {
		poll();
	}
}());
