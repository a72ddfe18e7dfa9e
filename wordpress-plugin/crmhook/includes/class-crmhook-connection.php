<?php
/**
 * The Connection part of Settings → CRM Webhooks: Test connection and the CRM select.
 *
 * @package crmhook
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

/**
 * *Test connection* tests what is typed on the form, before it is saved (and never saves it),
 * and the page's script gets what it needs to follow the CRM select at once: each CRM's
 * credential fields, API URL placeholder and help, and its URL builder text.
 */
final class CrmHook_Connection {

	const ACTION = 'crmhook_test_connection';

	/**
	 * Registers the admin-ajax handler and the script data.
	 */
	public static function register(): void {
		add_action( 'wp_ajax_' . self::ACTION, array( __CLASS__, 'ajax_test' ) );
		// After CrmHook_Admin::assets() has enqueued the script this data is for.
		add_action( 'admin_enqueue_scripts', array( __CLASS__, 'script_data' ), 20 );
	}

	/**
	 * admin-ajax `crmhook_test_connection`: lists the CRM's tags with the values on the form.
	 * Answers `{success, data: {message, crm}}`: 403 without `manage_options` or a valid nonce,
	 * 400 when the values cannot work, 503 without the extension; a CRM that fails is a
	 * `success: false` with the CRM's reason. No secret is ever in the answer.
	 */
	public static function ajax_test(): void {
		if ( ! current_user_can( 'manage_options' ) ) {
			wp_send_json_error( array( 'message' => __( 'You are not allowed to do that.', 'crmhook' ) ), 403 );
		}
		check_ajax_referer( self::ACTION );
		if ( ! CrmHook_Plugin::extension_loaded() ) {
			wp_send_json_error( array( 'message' => __( 'The crmhook PHP extension is not loaded.', 'crmhook' ) ), 503 );
		}
		// Raw on purpose: CrmHook_Credentials::for_test() checks and cleans every value it uses
		// (a secret is taken as typed, like the settings form saves it).
		$input  = wp_unslash( $_POST ); // phpcs:ignore WordPress.Security.NonceVerification.Missing -- checked above.
		$config = CrmHook_Credentials::for_test( is_array( $input ) ? $input : array(), CrmHook_Settings::all() );
		if ( is_string( $config ) ) {
			wp_send_json_error( array( 'message' => $config ), 400 );
		}
		$return = sanitize_text_field( (string) ( $input['return_password_field'] ?? '' ) );
		$report = CrmHook_Admin::connection_report( $config, $return );
		$answer = array(
			// The extension's errors never hold a credential (it scrubs the CRM's own text too).
			'message' => $report['message'],
			'crm'     => $config['crm'],
		);
		if ( $report['ok'] ) {
			wp_send_json_success( $answer );
		}
		wp_send_json_error( $answer );
	}

	/**
	 * The text above the URL builder: where in the CRM the URLs (or name/value pairs) go.
	 */
	public static function builder_intro( string $crm ): string {
		switch ( $crm ) {
			case 'convertkit':
			case 'kit':
				return __( 'ConvertKit and Kit call this site through automation rules that saving the update and import tags below registers in your account: there is nothing to paste. The rules call these URLs:', 'crmhook' );
			case 'keap':
				return __( 'In a campaign sequence, add a Send HTTP Post action with your site\'s URL as the Post URL and these Name / Value pairs:', 'crmhook' );
			case 'funnelkit':
				return __( 'In an automation, add Send Data → HTTP Request with your site\'s URL, Method GET, and this Data:', 'crmhook' );
			default:
				/* translators: %s: CRM name */
				return sprintf( __( 'Paste one of these URLs into a webhook of %s:', 'crmhook' ), CrmHook_Settings::crm_names()[ $crm ] ?? $crm );
		}
	}

	/**
	 * True when the builder shows name/value pairs to paste with the site's URL.
	 */
	public static function builder_pairs( string $crm ): bool {
		return null !== ( CrmHook_Settings::crms()[ $crm ]['contact_id_pair'] ?? null );
	}

	/**
	 * `window.crmhookConnection`: per CRM, the fields it uses, its API URL placeholder and
	 * help, and its builder; plus the saved CRM, so the page can say what saving will clear.
	 * Holds no secret: only whether one is saved.
	 *
	 * @param string $hook The admin page.
	 */
	public static function script_data( string $hook ): void {
		if ( 'settings_page_' . CrmHook_Admin::PAGE !== $hook || ! current_user_can( 'manage_options' ) ) {
			return;
		}
		$s    = CrmHook_Settings::all();
		$crms = array();
		foreach ( CrmHook_Settings::crm_names() as $slug => $name ) {
			$crms[ $slug ] = array(
				'name'        => $name,
				'fields'      => array_merge( array( 'api_url' ), CrmHook_Credentials::fields( $slug ) ),
				'placeholder' => CrmHook_Credentials::placeholder( $slug ),
				'help'        => CrmHook_Credentials::api_url_help( $slug ),
				'intro'       => self::builder_intro( $slug ),
				'pairs'       => self::builder_pairs( $slug ),
				'lines'       => CrmHook_Admin::builder_lines( $slug, (string) $s['access_key'] ),
			);
		}
		$saved = array();
		foreach ( CrmHook_Credentials::secrets() as $key ) {
			$saved[ $key ] = '' !== (string) $s[ $key ] && CrmHook_Credentials::uses( (string) $s['crm'], $key );
		}
		$data = array(
			'crms'        => $crms,
			'savedCrm'    => (string) $s['crm'],
			'savedSecret' => $saved,
			'keep'        => __( 'saved — leave empty to keep', 'crmhook' ),
			/* translators: 1: the CRM chosen on the form, 2: the saved CRM */
			'switching'   => __( 'Saving switches to %1$s and clears the credentials saved for %2$s (they are never sent to another CRM).', 'crmhook' ),
		);
		wp_add_inline_script( 'crmhook-admin', 'window.crmhookConnection = ' . wp_json_encode( $data ) . ';', 'before' );
	}
}
