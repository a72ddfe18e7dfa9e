<?php
/**
 * Settings → CRM Webhooks.
 *
 * @package crmhook
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

/**
 * The settings screen: connection, access key and URL builder, user options, ConvertKit/Kit
 * rules and the activity log. Every form carries a nonce and needs `manage_options`.
 */
final class CrmHook_Admin {

	const PAGE = 'crmhook';

	/**
	 * Registers the admin hooks.
	 */
	public static function register(): void {
		add_action( 'admin_menu', array( __CLASS__, 'menu' ) );
		add_action( 'admin_init', array( __CLASS__, 'register_setting' ) );
		add_action( 'admin_post_crmhook_regenerate_key', array( __CLASS__, 'regenerate_key' ) );
		add_action( 'admin_post_crmhook_queue_job', array( __CLASS__, 'queue_job' ) );
		CrmHook_Connection::register();
		add_action( 'admin_enqueue_scripts', array( __CLASS__, 'assets' ) );
		add_filter( 'plugin_action_links_' . plugin_basename( CRMHOOK_FILE ), array( __CLASS__, 'action_links' ) );
	}

	public static function menu(): void {
		add_options_page( __( 'CRM Webhooks', 'crmhook' ), __( 'CRM Webhooks', 'crmhook' ), 'manage_options', self::PAGE, array( __CLASS__, 'render' ) );
	}

	/**
	 * @param list<string> $links Plugin row links.
	 * @return list<string>
	 */
	public static function action_links( array $links ): array {
		array_unshift( $links, '<a href="' . esc_url( admin_url( 'options-general.php?page=' . self::PAGE ) ) . '">' . esc_html__( 'Settings', 'crmhook' ) . '</a>' );
		return $links;
	}

	public static function register_setting(): void {
		register_setting(
			'crmhook',
			CrmHook_Settings::OPTION,
			array(
				'type'              => 'array',
				'sanitize_callback' => array( __CLASS__, 'sanitize' ),
				'default'           => CrmHook_Settings::defaults(),
			)
		);
	}

	public static function assets( string $hook ): void {
		if ( 'settings_page_' . self::PAGE !== $hook ) {
			return;
		}
		wp_enqueue_style( 'crmhook-admin', plugins_url( 'assets/admin.css', CRMHOOK_FILE ), array(), CRMHOOK_VERSION );
		wp_enqueue_script( 'crmhook-admin', plugins_url( 'assets/admin.js', CRMHOOK_FILE ), array(), CRMHOOK_VERSION, true );
		wp_localize_script(
			'crmhook-admin',
			'crmhookAdmin',
			array(
				'ajaxUrl' => admin_url( 'admin-ajax.php' ),
				'nonce'   => wp_create_nonce( 'crmhook_test_connection' ),
				'copied'  => __( 'Copied', 'crmhook' ),
				'testing' => __( 'Testing…', 'crmhook' ),
			)
		);
	}

	/**
	 * Cleans what the form sent, keeps saved secrets when their fields are left empty (only for
	 * the same CRM and API URL: CrmHook_Credentials::for_save()), and registers or replaces the
	 * ConvertKit/Kit automation rules when their tags changed.
	 *
	 * @param mixed $input The submitted option.
	 * @return array<string, mixed>
	 */
	public static function sanitize( $input ): array {
		$old = CrmHook_Settings::all();
		if ( ! is_array( $input ) ) {
			return $old;
		}
		if ( empty( $input['_form'] ) ) {
			// Saved by code (CrmHook_Settings::update), already in stored shape.
			return array_merge( CrmHook_Settings::defaults(), $input );
		}
		$new = $old;

		$crm        = sanitize_key( (string) ( $input['crm'] ?? $old['crm'] ) );
		$new['crm'] = isset( CrmHook_Settings::crm_names()[ $crm ] ) ? $crm : $old['crm'];
		$api_url     = self::checked_api_url( trim( (string) ( $input['api_url'] ?? '' ) ), (string) $old['api_url'] );
		$credentials = CrmHook_Credentials::for_save( $input, $old, $new['crm'], $api_url );
		$new         = array_merge( $new, $credentials['values'] );
		if ( $credentials['notices'] ) {
			// Any message on the page hides WordPress's own "Settings saved.": say it first.
			add_settings_error( 'crmhook', 'crmhook_saved', __( 'Settings saved.', 'crmhook' ), 'success' );
		}
		foreach ( $credentials['notices'] as $i => $notice ) {
			add_settings_error( 'crmhook', 'crmhook_credentials_' . $i, esc_html( $notice ), 'warning' );
		}
		if ( $old['crm'] !== $new['crm'] && self::has_rules( $old ) ) {
			// The old CRM's rules would go on calling the site, and its credentials (needed to
			// delete them) are about to be cleared: delete them now, while they still work.
			$gone = self::sync_rules( $old, array_merge( $old, array( 'ck_update_tag' => '', 'ck_import_tag' => '' ) ) );
			$new  = array_merge( $new, array( 'ck_update_rule' => $gone['ck_update_rule'], 'ck_import_rule' => $gone['ck_import_rule'] ) );
		}
		$format                 = (string) ( $input['username_format'] ?? 'email' );
		$formats                = CrmHook_Settings::username_formats();
		$new['username_format'] = isset( $formats[ $format ] ) ? $format : ( $formats ? 'email' : $old['username_format'] );

		$roles                = array_keys( wp_roles()->roles );
		$new['allowed_roles'] = array_values( array_intersect( array_map( 'sanitize_key', (array) ( $input['allowed_roles'] ?? array() ) ), $roles ) );

		$new['return_password_field']           = sanitize_text_field( (string) ( $input['return_password_field'] ?? '' ) );
		$new['send_welcome_email']              = ! empty( $input['send_welcome_email'] );
		$new['update_existing_passwords']       = ! empty( $input['update_existing_passwords'] );
		$mode                                   = (string) ( $input['queue_mode'] ?? 'auto' );
		$new['queue_mode']                      = in_array( $mode, CrmHook_Endpoint::MODES, true ) ? $mode : 'auto';
		$new['async']                           = false; // Replaced by queue_mode ("always in the background").
		$new['fast_lane']                       = ! empty( $input['fast_lane'] );
		$new['delete_data_on_uninstall']        = ! empty( $input['delete_data_on_uninstall'] );
		$new['delete_shared_meta_on_uninstall'] = ! empty( $input['delete_shared_meta_on_uninstall'] );

		$map = array();
		foreach ( (array) ( $input['field_map'] ?? array() ) as $row ) {
			$crm_field = sanitize_text_field( (string) ( $row['crm'] ?? '' ) );
			$wp_key    = sanitize_key( (string) ( $row['wp'] ?? '' ) );
			if ( '' !== $crm_field && '' !== $wp_key ) {
				$map[ $crm_field ] = $wp_key;
			}
		}
		$new['field_map'] = $map;

		$new['ck_update_tag'] = preg_replace( '/\D/', '', (string) ( $input['ck_update_tag'] ?? '' ) );
		$new['ck_import_tag'] = preg_replace( '/\D/', '', (string) ( $input['ck_import_tag'] ?? '' ) );
		$new                  = CrmHook_Unsubscribe::sanitize( $input, $new );
		if ( CrmHook_Plugin::extension_loaded() && CrmHook_Settings::has_automation_rules( $new['crm'] ) ) {
			// WordPress may sanitize twice on the first save: the rules are synced once.
			static $synced = null;
			$new = $synced ?? self::sync_rules( $old, $new );
			$synced = $new;
		}
		return $new;
	}

	/**
	 * The API URL to save: credentials travel with every call, so plain http:// is refused
	 * (except for development hosts, as the extension decides) and the saved URL is kept.
	 */
	private static function checked_api_url( string $url, string $saved ): string {
		$url = esc_url_raw( $url, array( 'https', 'http' ) );
		if ( '' === $url || ! CrmHook_Plugin::extension_loaded() ) {
			return $url;
		}
		try {
			crmhook_check_api_url( $url );
			return $url;
		} catch ( \ValueError $e ) {
			self::settings_error( 'crmhook_api_url', $e->getMessage() );
			return $saved;
		}
	}

	/**
	 * Queues an error for the page. WordPress prints these messages as HTML, and ours can hold
	 * text from a CRM (or whatever answers at the API URL): escaped here, once, for every caller.
	 */
	private static function settings_error( string $code, string $message ): void {
		add_settings_error( 'crmhook', $code, esc_html( $message ) );
	}

	/**
	 * Keeps the ConvertKit/Kit rules in step with the chosen tags: a changed tag deletes the
	 * old rule first, then registers the new one.
	 *
	 * @param array<string, mixed> $old Saved settings.
	 * @param array<string, mixed> $new Settings being saved.
	 * @return array<string, mixed>
	 */
	private static function sync_rules( array $old, array $new ): array {
		$config = array(
			'crm'        => $new['crm'],
			'api_url'    => $new['api_url'],
			'api_key'    => $new['api_key'],
			'api_secret' => $new['api_secret'],
			'username'   => $new['username'],
			'password'   => $new['password'],
		);
		foreach ( array( 'update' => 'update', 'import' => 'add' ) as $which => $action ) {
			$tag_key  = "ck_{$which}_tag";
			$rule_key = "ck_{$which}_rule";
			$same_crm = $old['crm'] === $new['crm'];
			if ( $same_crm && $old[ $tag_key ] === $new[ $tag_key ] && ( '' === $new[ $tag_key ] || '' !== $old[ $rule_key ] ) ) {
				continue;
			}
			try {
				if ( '' !== (string) $old[ $rule_key ] && $same_crm ) {
					try {
						crmhook_unregister_webhook( $config, (string) $old[ $rule_key ] );
					} catch ( \CrmHook\CrmException $e ) {
						// Already deleted in the CRM: nothing left to remove.
						if ( 404 !== $e->getCode() ) {
							throw $e;
						}
					}
				}
				$new[ $rule_key ] = '';
				if ( '' !== $new[ $tag_key ] ) {
					$url              = add_query_arg( array( 'wpf_action' => $action, 'access_key' => $new['access_key'] ), home_url( '/' ) );
					$new[ $rule_key ] = crmhook_register_webhook( $config, 'subscriber.tag_add', $new[ $tag_key ], $url );
				}
			} catch ( \Throwable $e ) {
				self::settings_error( 'crmhook_rule_' . $which, $e->getMessage() );
			}
		}
		return CrmHook_Unsubscribe::sync_rule( $old, $new, $config );
	}

	/**
	 * Deletes the ConvertKit/Kit rules in the CRM (deactivation): they would go on calling a
	 * site that no longer answers. The chosen tags stay, so activation can register them again.
	 */
	public static function unregister_rules(): void {
		$s = CrmHook_Settings::all();
		if ( ! self::has_rules( $s ) || ( '' === $s['ck_update_rule'] && '' === $s['ck_import_rule'] && '' === $s['ck_unsubscribe_rule'] ) ) {
			return;
		}
		$none = self::sync_rules( $s, array_merge( $s, array( 'ck_update_tag' => '', 'ck_import_tag' => '', 'ck_unsubscribe_notify' => false ) ) );
		CrmHook_Settings::update( array( 'ck_update_rule' => $none['ck_update_rule'], 'ck_import_rule' => $none['ck_import_rule'], 'ck_unsubscribe_rule' => $none['ck_unsubscribe_rule'] ) );
	}

	/**
	 * Registers the rules for the chosen tags anew, with the current access key (activation,
	 * and a regenerated key: a rule's target URL carries the key).
	 */
	public static function register_rules(): void {
		self::unregister_rules();
		$s = CrmHook_Settings::all();
		if ( ! self::has_rules( $s ) ) {
			return;
		}
		$from = array_merge( $s, array( 'ck_update_tag' => '', 'ck_import_tag' => '', 'ck_update_rule' => '', 'ck_import_rule' => '', 'ck_unsubscribe_notify' => false, 'ck_unsubscribe_rule' => '' ) );
		$now  = self::sync_rules( $from, $s );
		CrmHook_Settings::update( array( 'ck_update_rule' => $now['ck_update_rule'], 'ck_import_rule' => $now['ck_import_rule'], 'ck_unsubscribe_rule' => $now['ck_unsubscribe_rule'] ) );
	}

	/**
	 * True when the site's CRM is ConvertKit or Kit and the extension can reach it.
	 *
	 * @param array<string, mixed> $s Settings.
	 */
	private static function has_rules( array $s ): bool {
		return CrmHook_Plugin::extension_loaded() && CrmHook_Settings::has_automation_rules( (string) $s['crm'] );
	}

	/**
	 * Replaces the access key. Old webhook URLs stop working at once: that is the point.
	 */
	public static function regenerate_key(): void {
		if ( ! current_user_can( 'manage_options' ) ) {
			wp_die( esc_html__( 'You are not allowed to do that.', 'crmhook' ), 403 );
		}
		check_admin_referer( 'crmhook_regenerate_key' );
		CrmHook_Settings::update( array( 'access_key' => crmhook_generate_access_key() ) );
		// ConvertKit/Kit rules call URLs with the key in them: they are registered anew.
		self::register_rules();
		add_settings_error( 'crmhook', 'crmhook_key', __( 'A new access key was generated. Update the URLs in your CRM.', 'crmhook' ), 'updated' );
		set_transient( 'settings_errors', get_settings_errors(), 30 );
		wp_safe_redirect( admin_url( 'options-general.php?page=' . self::PAGE . '&settings-updated=1' ) );
		exit;
	}

	/**
	 * Retry or discard a failed job of the queue.
	 */
	public static function queue_job(): void {
		if ( ! current_user_can( 'manage_options' ) ) {
			wp_die( esc_html__( 'You are not allowed to do that.', 'crmhook' ), 403 );
		}
		$id = isset( $_POST['job'] ) ? absint( $_POST['job'] ) : 0;
		check_admin_referer( 'crmhook_queue_job_' . $id );
		$what = isset( $_POST['do'] ) ? sanitize_key( (string) $_POST['do'] ) : '';
		if ( 'retry' === $what && CrmHook_Queue::retry_failed( $id ) ) {
			/* translators: %d: job id */
			add_settings_error( 'crmhook', 'crmhook_queue', sprintf( __( 'Job %d is queued again.', 'crmhook' ), $id ), 'updated' );
			CrmHook_Runner::kick();
		} elseif ( 'discard' === $what && CrmHook_Queue::discard_failed( $id ) ) {
			/* translators: %d: job id */
			add_settings_error( 'crmhook', 'crmhook_queue', sprintf( __( 'Job %d was discarded.', 'crmhook' ), $id ), 'updated' );
		} else {
			/* translators: %d: job id */
			add_settings_error( 'crmhook', 'crmhook_queue', sprintf( __( 'Job %d is no longer a failed job.', 'crmhook' ), $id ) );
		}
		set_transient( 'settings_errors', get_settings_errors(), 30 );
		wp_safe_redirect( admin_url( 'options-general.php?page=' . self::PAGE . '&settings-updated=1#crmhook-queue' ) );
		exit;
	}

	/**
	 * What *Test connection* says: the CRM answers with these credentials (its tags are listed),
	 * and a return-password field is one the CRM keeps (FluentCRM drops unknown keys silently).
	 *
	 * @param array<string, string> $config       The `$crm` array.
	 * @param string                $return_field The return-password field, or ''.
	 * @return array{ok: bool, message: string}
	 */
	public static function connection_report( array $config, string $return_field ): array {
		$name = CrmHook_Settings::crm_names()[ $config['crm'] ] ?? $config['crm'];
		try {
			$tags   = crmhook_list_tags( $config );
			$fields = '' === $return_field ? null : crmhook_list_fields( $config );
		} catch ( \Throwable $e ) {
			return array( 'ok' => false, 'message' => $e->getMessage() );
		}
		if ( is_array( $fields ) && ! isset( $fields[ $return_field ] ) ) {
			return array(
				'ok'      => false,
				'message' => sprintf(
					/* translators: 1: CRM name, 2: field name, 3: the CRM's fields */
					__( 'Connected to %1$s, but it has no field "%2$s" for the returned password, and would drop it without a word. Its fields: %3$s.', 'crmhook' ),
					$name,
					$return_field,
					implode( ', ', array_keys( $fields ) )
				),
			);
		}
		return array(
			'ok'      => true,
			/* translators: 1: CRM name, 2: number of tags */
			'message' => sprintf( _n( 'Connected to %1$s: %2$d tag found.', 'Connected to %1$s: %2$d tags found.', count( $tags ), 'crmhook' ), $name, count( $tags ) ),
		);
	}

	/**
	 * The ConvertKit/Kit tags, for the rule selects; cached briefly so the page stays quick.
	 *
	 * @return array{0: array<string, string>, 1: string} Tags and an error message.
	 */
	public static function tag_choices(): array {
		$config = CrmHook_Settings::crm_config();
		$cache  = 'crmhook_tags_' . md5( wp_json_encode( $config ) );
		$tags   = get_transient( $cache );
		if ( is_array( $tags ) ) {
			return array( $tags, '' );
		}
		try {
			$tags = crmhook_list_tags( $config );
			set_transient( $cache, $tags, 5 * MINUTE_IN_SECONDS );
			return array( $tags, '' );
		} catch ( \Throwable $e ) {
			return array( array(), $e->getMessage() );
		}
	}

	/**
	 * The URLs or name/value pairs to paste into the CRM, per action, as the CRM's own
	 * documentation shows them.
	 *
	 * @return array<string, string> action => text
	 */
	public static function builder_lines( string $crm, string $key ): array {
		$lines = array();
		foreach ( array( 'update_tags', 'update', 'add' ) as $action ) {
			$id_pair = CrmHook_Settings::crms()[ $crm ]['contact_id_pair'] ?? null;
			if ( null !== $id_pair ) {
				$lines[ $action ] = "{$id_pair}\nwpf_action = {$action}\naccess_key = {$key}";
			} else {
				$lines[ $action ] = add_query_arg( array( 'wpf_action' => $action, 'access_key' => $key ), home_url( '/' ) );
			}
		}
		return $lines;
	}

	/**
	 * The page.
	 */
	public static function render(): void {
		if ( ! current_user_can( 'manage_options' ) ) {
			return;
		}
		$s         = CrmHook_Settings::all();
		$name      = CrmHook_Settings::OPTION;
		$loaded    = CrmHook_Plugin::extension_loaded();
		$is_ck     = CrmHook_Settings::has_automation_rules( (string) $s['crm'] );
		$dangerous = $loaded ? CrmHook_Settings::privileged_capabilities() : array();
		require CRMHOOK_DIR . '/includes/views/settings-page.php';
	}
}
