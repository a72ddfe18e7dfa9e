/**
 * Settings → CRM Webhooks: copy buttons, the URL builder's options, the CRM select (its fields
 * and builder follow it), Test connection on the typed values.
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

	// The CRM select: only that CRM's credential fields, its API URL placeholder and help, its
	// builder text, at once. Without this script every field shows and the saved CRM's builder.
	var connection = window.crmhookConnection;
	var select = document.getElementById( 'crmhook-crm' );
	var inputs = {
		api_url: document.getElementById( 'crmhook-api-url' ),
		username: document.getElementById( 'crmhook-username' ),
		api_key: document.getElementById( 'crmhook-api_key' ),
		api_secret: document.getElementById( 'crmhook-api_secret' ),
		password: document.getElementById( 'crmhook-password' )
	};
	// What each CRM's fields held on this page, so switching back shows them again; a CRM not
	// seen yet starts empty: one CRM's URL or key is never offered to another.
	var typed = {};
	var shown = select ? select.value : '';

	function follow() {
		if ( ! connection || ! select || ! connection.crms[ select.value ] ) { return; }
		var crm = select.value;
		var info = connection.crms[ crm ];
		var key;
		if ( crm !== shown ) {
			typed[ shown ] = {};
			for ( key in inputs ) {
				if ( inputs[ key ] ) { typed[ shown ][ key ] = inputs[ key ].value; inputs[ key ].value = ( typed[ crm ] || {} )[ key ] || ''; }
			}
			shown = crm;
		}
		document.querySelectorAll( '.crmhook-credential' ).forEach( function ( row ) {
			row.hidden = ( ' ' + row.getAttribute( 'data-crms' ) + ' ' ).indexOf( ' ' + crm + ' ' ) === -1;
			var labels = JSON.parse( row.getAttribute( 'data-labels' ) || '{}' );
			var label = row.querySelector( 'label' );
			if ( label && labels[ crm ] ) { label.textContent = labels[ crm ]; }
		} );
		var same = crm === connection.savedCrm;
		for ( key in connection.savedSecret ) {
			if ( inputs[ key ] ) { inputs[ key ].placeholder = same && connection.savedSecret[ key ] ? connection.keep : ''; }
		}
		if ( inputs.api_url ) { inputs.api_url.placeholder = info.placeholder; }
		var help = document.getElementById( 'crmhook-api-url-help' );
		if ( help ) { help.textContent = info.help; }

		var warn = document.getElementById( 'crmhook-crm-switch' );
		var anySaved = Object.keys( connection.savedSecret ).some( function ( k ) { return connection.savedSecret[ k ]; } );
		if ( warn ) {
			warn.hidden = same || ! anySaved;
			warn.textContent = same ? '' : connection.switching
				.replace( '%1$s', info.name )
				.replace( '%2$s', ( connection.crms[ connection.savedCrm ] || { name: connection.savedCrm } ).name );
		}

		var intro = document.getElementById( 'crmhook-builder-intro' );
		if ( intro ) { intro.textContent = info.intro; }
		var site = document.getElementById( 'crmhook-builder-site' );
		if ( site ) { site.hidden = ! info.pairs; }
		document.querySelectorAll( '.crmhook-url' ).forEach( function ( pre ) {
			var line = info.lines[ pre.getAttribute( 'data-action' ) ];
			if ( line !== undefined ) { pre.setAttribute( 'data-base', line ); }
		} );
		var builder = document.querySelector( '.crmhook-builder' );
		if ( builder ) { builder.setAttribute( 'data-crm', crm ); }
		rebuild();
	}
	if ( select && connection ) {
		select.addEventListener( 'change', follow );
		follow();
	}

	// Test connection: the values on the form, as typed (not saved, and never stored by it).
	var test = document.getElementById( 'crmhook-test-connection' );
	var result = document.getElementById( 'crmhook-test-result' );
	if ( test && result ) {
		test.addEventListener( 'click', function () {
			result.textContent = window.crmhookAdmin.testing;
			result.className = '';
			var body = new URLSearchParams( { action: 'crmhook_test_connection', _ajax_nonce: window.crmhookAdmin.nonce } );
			if ( select ) { body.append( 'crm', select.value ); }
			var fields = select && connection && connection.crms[ select.value ] ? connection.crms[ select.value ].fields : Object.keys( inputs );
			fields.forEach( function ( key ) {
				if ( inputs[ key ] ) { body.append( key, inputs[ key ].value ); }
			} );
			var returnField = document.getElementById( 'crmhook-return-password' );
			if ( returnField ) { body.append( 'return_password_field', returnField.value ); }
			fetch( window.crmhookAdmin.ajaxUrl, { method: 'POST', credentials: 'same-origin', body: body } )
				.then( function ( r ) {
					// WordPress answers a refused nonce with a bare -1 (403): no message to show.
					return r.json().catch( function () { return null; } ).then( function ( json ) {
						var ok = !! ( json && json.success );
						result.textContent = json && json.data && json.data.message ? json.data.message : 'HTTP ' + r.status;
						result.className = ok ? 'crmhook-ok' : 'crmhook-fail';
					} );
				} )
				.catch( function ( e ) { result.textContent = String( e ); result.className = 'crmhook-fail'; } );
		} );
	}
}() );
