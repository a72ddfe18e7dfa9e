<?php
/**
 * Counts wrong access keys per client address, so a flood of guesses is answered 429.
 *
 * @package crmhook
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

/**
 * Table `{prefix}crmhook_throttle`: one row per address bucket and minute, bumped atomically by
 * `INSERT … ON DUPLICATE KEY UPDATE`, so parallel guesses are all counted, each once. Webhooks with the
 * right key never touch it. Addresses are hashed into BUCKETS buckets and rows older than the
 * window are pruned, so the table never holds more than BUCKETS × (window in minutes) rows,
 * however many addresses guess.
 */
final class CrmHook_Throttle {

	/** Address buckets: the hard bound on rows per minute. */
	const BUCKETS = CrmHook_Sql::BAD_KEY_BUCKETS;

	/**
	 * The table name.
	 */
	public static function table(): string {
		global $wpdb;
		return $wpdb->prefix . 'crmhook_throttle';
	}

	/**
	 * Creates or updates the table.
	 */
	public static function install(): void {
		global $wpdb;
		require_once ABSPATH . 'wp-admin/includes/upgrade.php';
		$table   = self::table();
		$charset = $wpdb->get_charset_collate();
		dbDelta(
			"CREATE TABLE {$table} (
  bucket smallint(5) unsigned NOT NULL,
  minute int(10) unsigned NOT NULL,
  hits int(10) unsigned NOT NULL DEFAULT 0,
  address varchar(45) NOT NULL DEFAULT '',
  PRIMARY KEY  (bucket,minute),
  KEY minute (minute)
) {$charset};"
		);
	}

	/**
	 * Counts one wrong key from `$address` and returns how many it sent in the last
	 * `$window_minutes` minutes, this one included.
	 */
	public static function count_bad_key( string $address, int $window_minutes ): int {
		global $wpdb;
		$table  = self::table();
		$bucket = CrmHook_Sql::bad_key_bucket( $address );
		$minute = intdiv( time(), 60 );
		$quote  = static fn( string $text ): string => $wpdb->prepare( '%s', $text );
		// The statements the fast lane runs too (CrmHook_Sql), so both count into one counter.
		$wpdb->query( CrmHook_Sql::bad_key_bump( $table, $bucket, $minute, $address, $quote ) ); // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared -- quoted by $wpdb->prepare, numbers cast.
		$new_row = 1 === (int) $wpdb->rows_affected;
		$now     = $new_row ? 1 : (int) $wpdb->insert_id;
		if ( $new_row ) {
			// This bucket's first guess this minute. Old minutes go now, at most once per
			// bucket and minute.
			$wpdb->query( CrmHook_Sql::bad_key_prune( $table, $minute, $window_minutes ) ); // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared -- numbers only.
		}
		$earlier = (int) $wpdb->get_var( CrmHook_Sql::bad_key_earlier( $table, $bucket, $minute, $window_minutes ) ); // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared -- numbers only.
		return $earlier + $now;
	}

	/**
	 * Clears every count (tests, uninstall).
	 */
	public static function clear(): void {
		global $wpdb;
		$wpdb->query( 'DELETE FROM ' . self::table() ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery
	}

	/**
	 * Drops the table (uninstall).
	 */
	public static function drop(): void {
		global $wpdb;
		$wpdb->query( 'DROP TABLE IF EXISTS ' . self::table() ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery.SchemaChange
	}
}
