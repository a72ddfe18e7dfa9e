<?php
/**
 * The fast lane's side in WordPress: the configuration file it reads, and its state for the
 * settings screen.
 *
 * @package crmhook
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

/**
 * Writes what the lane needs outside WordPress — how to reach the database, the table prefix, the
 * runner's address — to the file `crmhook.lane_config` names, readable only by PHP's user. The
 * access key is not in it: the lane reads the settings from the database on every webhook, so a
 * new key is the only key from the next request on, whichever way it was saved.
 */
final class CrmHook_Lane_Config {

	/**
	 * Keeps the file current: whenever the settings are saved (the runner's address depends on
	 * the key), and on activation.
	 */
	public static function register(): void {
		add_action( 'add_option_' . CrmHook_Settings::OPTION, array( __CLASS__, 'write' ), 10, 0 );
		add_action( 'update_option_' . CrmHook_Settings::OPTION, array( __CLASS__, 'write' ), 10, 0 );
	}

	/**
	 * The file `crmhook.lane_config` names in this PHP ('' when none).
	 */
	public static function path(): string {
		return CrmHook_Plugin::extension_loaded() ? trim( (string) ini_get( 'crmhook.lane_config' ) ) : '';
	}

	/**
	 * What the lane reads.
	 *
	 * @return array<string, mixed>
	 */
	public static function data(): array {
		global $wpdb;
		$host = $wpdb->parse_db_host( DB_HOST );
		[ $hostname, $port, $socket ] = is_array( $host ) ? $host : array( DB_HOST, null, null );
		return array(
			'version'    => CrmHook_Lane::CONFIG_VERSION,
			'db'         => array(
				'host'     => (string) $hostname,
				'port'     => null === $port ? null : (int) $port,
				'socket'   => null === $socket ? '' : (string) $socket,
				'user'     => DB_USER,
				'password' => DB_PASSWORD,
				'name'     => DB_NAME,
				'charset'  => $wpdb->charset ? $wpdb->charset : 'utf8mb4',
			),
			'prefix'     => $wpdb->prefix,
			'plugin'     => plugin_basename( CRMHOOK_FILE ),
			'schema'     => CrmHook_Plugin::schema_version(),
			'runner_url' => CrmHook_Runner::runner_url(),
			// One network, one queue per site: the lane does not tell the sites apart, so it
			// leaves multisite webhooks to WordPress (docs/fast-lane.md).
			'multisite'  => is_multisite(),
		);
	}

	/**
	 * Writes the file when it would change: mode 0600, replaced in one rename so the lane never
	 * reads half a file.
	 *
	 * @return bool Whether the file holds the current configuration.
	 */
	public static function write(): bool {
		$path = self::path();
		if ( '' === $path || ! is_dir( dirname( $path ) ) ) {
			return false;
		}
		$json = (string) wp_json_encode( self::data(), JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES );
		if ( is_readable( $path ) && file_get_contents( $path ) === $json ) { // phpcs:ignore WordPress.WP.AlternativeFunctions
			return true;
		}
		$tmp = $path . '.' . bin2hex( random_bytes( 6 ) ) . '.tmp';
		$old = umask( 0077 );
		try {
			$ok = false !== file_put_contents( $tmp, $json ); // phpcs:ignore WordPress.WP.AlternativeFunctions
			$ok = $ok && chmod( $tmp, 0600 ) && rename( $tmp, $path ); // phpcs:ignore WordPress.WP.AlternativeFunctions
		} finally {
			umask( $old );
		}
		if ( ! $ok && file_exists( $tmp ) ) {
			wp_delete_file( $tmp );
		}
		return $ok;
	}

	/**
	 * Removes the file (deactivation, uninstall): the lane then lets every webhook through to
	 * WordPress.
	 */
	public static function remove(): void {
		$path = self::path();
		if ( '' !== $path && is_file( $path ) ) {
			wp_delete_file( $path );
		}
	}

	/**
	 * The lane's state on this server, for the settings screen.
	 *
	 * @return array{loaded: bool, enabled: bool, entry: string, entry_found: bool, entry_expected: string, pdo_mysql: bool, config: string, config_written: bool, config_public: bool, prepend: ?string, switched_on: bool, active: bool, last_accepted: ?string, multisite: bool}
	 */
	public static function status(): array {
		global $wpdb;
		$loaded = CrmHook_Plugin::extension_loaded() && function_exists( 'crmhook_lane_status' );
		$ext    = $loaded ? crmhook_lane_status() : array(
			'enabled'     => false,
			'entry'       => '',
			'entry_found' => false,
			'config'      => '',
			'prepend'     => null,
		);
		$written = $loaded && '' !== $ext['config'] && self::write();
		$expected = CRMHOOK_DIR . '/lane.php';
		$root     = rtrim( (string) realpath( ABSPATH ), '/' ) . '/';
		$dir      = '' === $ext['config'] ? '' : (string) realpath( dirname( $ext['config'] ) );
		$last     = $wpdb->get_var( 'SELECT next_at FROM ' . CrmHook_Queue::budget_table() . " WHERE crm = '_lane'" );
		$on       = (bool) CrmHook_Settings::get( 'fast_lane' );
		return array(
			'loaded'         => $loaded,
			'enabled'        => (bool) $ext['enabled'],
			'entry'          => (string) $ext['entry'],
			'entry_found'    => (bool) $ext['entry_found'] && realpath( (string) $ext['entry'] ) === realpath( $expected ),
			'entry_expected' => $expected,
			'pdo_mysql'      => extension_loaded( 'pdo_mysql' ),
			'config'         => (string) $ext['config'],
			'config_written' => $written,
			'config_public'  => '' !== $dir && str_starts_with( $dir . '/', $root ),
			'prepend'        => $ext['prepend'],
			'switched_on'    => $on,
			'active'         => $on && $ext['enabled'] && extension_loaded( 'pdo_mysql' ) && $ext['entry_found'] && $written && ! is_multisite(),
			'last_accepted'  => null === $last ? null : (string) $last,
			'multisite'      => is_multisite(),
		);
	}
}
