/**
 * Settings → CRM Webhooks: copy buttons, the URL builder's options, Test connection.
 */
( function () {
	'use strict';

	function text( selector ) {
		var el = document.querySelector( selector );
		return el ? ( el.value !== undefined && el.tagName === 'INPUT' ? el.value : el.textContent ) : '';
	}

	document.querySelectorAll( '.crmhook-copy' ).forEach( function ( button ) {
		button.addEventListener( 'click', function () {
			var value = text( button.getAttribute( 'data-copy' ) );
			var done = function () {
				var label = button.textContent;
				button.textContent = window.crmhookAdmin.copied;
				setTimeout( function () { button.textContent = label; }, 1500 );
			};
			if ( navigator.clipboard && window.isSecureContext ) {
				navigator.clipboard.writeText( value ).then( done );
			} else {
				var area = document.createElement( 'textarea' );
				area.value = value;
				document.body.appendChild( area );
				area.select();
				document.execCommand( 'copy' );
				area.remove();
				done();
			}
		} );
	} );

	// The builder: add send_notification / role to each URL or list of pairs.
	var notify = document.getElementById( 'crmhook-opt-notify' );
	var role = document.getElementById( 'crmhook-opt-role' );
	function rebuild() {
		document.querySelectorAll( '.crmhook-url' ).forEach( function ( pre ) {
			var base = pre.getAttribute( 'data-base' );
			var extra = [];
			if ( notify && notify.checked ) { extra.push( [ 'send_notification', 'true' ] ); }
			if ( role && role.value ) { extra.push( [ 'role', role.value ] ); }
			if ( base.indexOf( '\n' ) !== -1 ) {
				pre.textContent = base + extra.map( function ( p ) { return '\n' + p[ 0 ] + ' = ' + p[ 1 ]; } ).join( '' );
			} else {
				pre.textContent = base + extra.map( function ( p ) { return '&' + p[ 0 ] + '=' + encodeURIComponent( p[ 1 ] ); } ).join( '' );
			}
		} );
	}
	if ( notify ) { notify.addEventListener( 'change', rebuild ); }
	if ( role ) { role.addEventListener( 'change', rebuild ); }

	var test = document.getElementById( 'crmhook-test-connection' );
	var result = document.getElementById( 'crmhook-test-result' );
	if ( test && result ) {
		test.addEventListener( 'click', function () {
			result.textContent = window.crmhookAdmin.testing;
			result.className = '';
			var body = new URLSearchParams( { action: 'crmhook_test_connection', _ajax_nonce: window.crmhookAdmin.nonce } );
			fetch( window.crmhookAdmin.ajaxUrl, { method: 'POST', credentials: 'same-origin', body: body } )
				.then( function ( r ) { return r.json(); } )
				.then( function ( json ) {
					result.textContent = json.data && json.data.message ? json.data.message : String( json.success );
					result.className = json.success ? 'crmhook-ok' : 'crmhook-fail';
				} )
				.catch( function ( e ) { result.textContent = String( e ); result.className = 'crmhook-fail'; } );
		} );
	}
}() );
