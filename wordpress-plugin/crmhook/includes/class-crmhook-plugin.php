<?php
/**
 * Wires the plugin's pieces to WordPress.
 *
 * @package crmhook
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

/**
 * Hooks, activation, and the notice shown when the extension is missing.
 */
final class CrmHook_Plugin {

	/** The plugin's tables as this version needs them; a change makes maybe_upgrade() run. */
	const SCHEMA_VERSION = '2';

	/**
	 * True when the crmhook PHP extension is loaded: everything but the notice needs it.
	 */
	public static function extension_loaded(): bool {
		return extension_loaded( 'crmhook' );
	}

	/**
	 * Registers the hooks. A webhook bound for the queue is accepted right now, as the plugin
	 * loads (the database and options are ready; nothing else is needed to store it); the queue
	 * runner's own request is recognised here too. Webhooks that run inline are answered on
	 * `init` at priority 1: users, roles and options are ready there, and nothing of the theme
	 * has run yet.
	 */
	public static function boot(): void {
		add_action( 'init', array( __CLASS__, 'load_textdomain' ), 0 );
		// The queue's tables must exist before the first webhook is stored into them.
		self::maybe_upgrade();
		CrmHook_Runner::register();
		add_action( CrmHook_Log::PRUNE_HOOK, array( 'CrmHook_Log', 'prune' ) );
		CrmHook_Lane_Config::register();
		CrmHook_Runner::maybe_run_from_request();
		CrmHook_Endpoint::accept_early();
		add_action( 'init', array( 'CrmHook_Endpoint', 'maybe_handle' ), 1 );
		// A deleted user's links go with them, so the index never points at nobody.
		add_action( 'deleted_user', array( 'CrmHook_Contacts', 'forget_user' ) );
		CrmHook_Import::register();
		CrmHook_Import_Admin::register();

		if ( is_admin() ) {
			CrmHook_Admin::register();
			CrmHook_Users::register();
			CrmHook_Profile::register();
			CrmHook_Log_Screen::register();
		}
		add_action( 'admin_notices', array( __CLASS__, 'missing_extension_notice' ) );
	}

	/**
	 * Translations: the site's own (wp-content/languages/plugins/crmhook-*.mo) first, then the
	 * plugin's languages/ folder, whose crmhook.pot lists every string (scripts/make-pot.sh).
	 */
	public static function load_textdomain(): void {
		load_plugin_textdomain( 'crmhook', false, dirname( plugin_basename( CRMHOOK_FILE ) ) . '/languages' );
	}

	/**
	 * Activation: the contact index table, links migrated from `{crm}_contact_id` meta, the queue
	 * and the webhook log, and an access key so the site never runs with an empty one.
	 */
	public static function activate(): void {
		CrmHook_Contacts::install();
		CrmHook_Throttle::install();
		CrmHook_Settings::remember_crms();
		CrmHook_Contacts::migrate_from_meta();
		CrmHook_Queue::install();
		CrmHook_Import::install();
		CrmHook_Settings::ensure_access_key();
		CrmHook_Runner::schedule();
		CrmHook_Log::install();
		CrmHook_Log::schedule();
		// The webhook log has its table now; the option it used to be is not migrated.
		delete_option( 'crmhook_activity' );
		CrmHook_Lane_Config::write();
		// Autoloaded: every request checks it, before the first webhook is queued.
		update_option( 'crmhook_db_version', self::schema_version(), true );
	}

	/**
	 * The activation hook: the tables and the key, then the ConvertKit/Kit rules that
	 * deactivation deleted (only those missing: a rule that is still there is kept).
	 */
	public static function on_activation(): void {
		self::activate();
		$s = CrmHook_Settings::all();
		$missing = ( '' !== $s['ck_update_tag'] && '' === $s['ck_update_rule'] ) || ( '' !== $s['ck_import_tag'] && '' === $s['ck_import_rule'] )
			|| ( $s['ck_unsubscribe_notify'] && '' === $s['ck_unsubscribe_rule'] );
		if ( $missing ) {
			CrmHook_Admin::register_rules();
		}
	}

	/**
	 * Deactivation: the queue's cron fallback and the log's retention event go, and so do the
	 * ConvertKit/Kit rules in the CRM (they would keep calling a site that no longer answers). The
	 * queue, the log, the settings and the chosen tags stay for reactivation, which registers the
	 * rules again. The fast lane's configuration file goes (reactivation writes it again).
	 */
	public static function deactivate(): void {
		CrmHook_Runner::unschedule();
		CrmHook_Log::unschedule();
		CrmHook_Admin::unregister_rules();
		CrmHook_Lane_Config::remove();
	}

	/**
	 * The version of all the plugin's tables. Marked when the extension is missing, so that
	 * activation runs again once it is loaded: the CRM table, the links migrated from meta and
	 * the access key all come from the extension.
	 */
	public static function schema_version(): string {
		return self::SCHEMA_VERSION . '.q' . CrmHook_Queue::SCHEMA_VERSION . '.i' . CrmHook_Import::SCHEMA_VERSION . '.l' . CrmHook_Log::SCHEMA_VERSION
			. ( self::extension_loaded() ? '' : '.noext' );
	}

	/**
	 * Creates the tables when the plugin was updated without being reactivated.
	 */
	public static function maybe_upgrade(): void {
		if ( get_option( 'crmhook_db_version' ) !== self::schema_version() ) {
			self::activate();
		}
	}

	/**
	 * Without the extension there is no PHP fallback: say so, with the steps to install it.
	 */
	public static function missing_extension_notice(): void {
		if ( self::extension_loaded() || ! current_user_can( 'manage_options' ) ) {
			return;
		}
		printf(
			'<div class="notice notice-error"><p><strong>%1$s</strong> %2$s</p><ol><li>%3$s</li><li>%4$s</li><li>%5$s</li></ol></div>',
			esc_html__( 'crmhook is inactive: the crmhook PHP extension is not loaded.', 'crmhook' ),
			esc_html__( 'CRM webhooks are answered with HTTP 503 until it is. To install it:', 'crmhook' ),
			/* translators: %s: the PHP version */
			esc_html( sprintf( __( 'Build libcrmhook.so for PHP %s: make build (see the README).', 'crmhook' ), PHP_MAJOR_VERSION . '.' . PHP_MINOR_VERSION ) ),
			/* translators: %s: an ini line */
			esc_html( sprintf( __( 'Add %s to an ini file of your web server\'s PHP (php-fpm).', 'crmhook' ), 'extension=/path/to/libcrmhook.so' ) ),
			esc_html__( 'Restart php-fpm and reload this page.', 'crmhook' )
		);
	}
}
