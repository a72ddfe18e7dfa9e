<?php
/**
 * The statements that both ways into the queue run: WordPress (through $wpdb) and the fast lane
 * (through PDO, before WordPress loads). One text each, so the two can never store a job, book
 * a runner's start or count a wrong key differently.
 *
 * WordPress-free on purpose: the fast lane loads this file without WordPress.
 *
 * @package crmhook
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || defined( 'CRMHOOK_LANE' ) || exit;

/**
 * SQL text builders. Values are quoted by the caller's `$quote` (a `$wpdb->prepare( '%s', … )`
 * or `PDO::quote`), numbers are cast here.
 */
final class CrmHook_Sql {

	/** The stronger action wins when webhooks of one contact merge. */
	const RANK = array(
		'update_tags' => 1,
		'update'      => 2,
		'add'         => 3,
	);

	/** Address buckets of the wrong-key counter: the hard bound on its rows per minute. */
	const BAD_KEY_BUCKETS = 1024;

	/**
	 * Queues a parsed webhook in one statement: a new job, or merged into the contact's waiting
	 * job (stronger action, latest payload tags, notification kept if any asked for it). Run it,
	 * then the job id is LAST_INSERT_ID(); 1 row affected is a new job, 2 a merge, 0 (only with
	 * `$only_if`) none: the condition was false.
	 *
	 * @param string                $table   The queue table.
	 * @param array<string, mixed>  $hook    The parsed webhook (crmhook_parse_webhook()).
	 * @param callable(string): string $quote Quotes a text value as an SQL literal.
	 * @param string                $only_if An SQL condition the job is stored under, checked in the
	 *                                       same statement (the fast lane's options_unchanged()).
	 */
	public static function enqueue( string $table, array $hook, callable $quote, string $only_if = '' ): string {
		$action = (string) $hook['action'];
		$tags   = is_array( $hook['tags'] ?? null ) ? $quote( (string) json_encode( array_values( array_map( 'strval', $hook['tags'] ) ) ) ) : 'NULL'; // phpcs:ignore WordPress.WP.AlternativeFunctions -- no WordPress in the fast lane.
		$email  = '' !== (string) ( $hook['email'] ?? '' ) ? $quote( substr( (string) $hook['email'], 0, 191 ) ) : 'NULL';
		$role   = '' !== (string) ( $hook['role'] ?? '' ) ? $quote( substr( (string) $hook['role'], 0, 64 ) ) : 'NULL';
		// A job an import queued (import_id) counts no webhook; a webhook merging into it does.
		$import = empty( $hook['import_id'] ) ? 'NULL' : (string) (int) $hook['import_id'];
		$count  = empty( $hook['import_id'] ) ? 1 : 0;
		$values = $quote( (string) $hook['crm'] ) . ', ' . $quote( (string) $hook['contact_id'] ) . ', ' . $quote( $action ) . ', ' . (int) ( self::RANK[ $action ] ?? 1 ) . ",
			   {$email}, {$tags}, {$role}, " . ( empty( $hook['send_notification'] ) ? 0 : 1 ) . ", 'queued', 1, {$count}, 0, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), {$import}";
		return "INSERT INTO {$table} (crm, contact_id, action, action_rank, email, tags, role, send_notification, status, waiting, webhooks, attempts, run_after, created_at, updated_at, import_id)
			 " . self::row_source( $values, $only_if ) . '
			 ON DUPLICATE KEY UPDATE
			   id = LAST_INSERT_ID(id),
			   action = IF(VALUES(action_rank) > action_rank, VALUES(action), action),
			   action_rank = GREATEST(action_rank, VALUES(action_rank)),
			   email = COALESCE(VALUES(email), email),
			   tags = VALUES(tags),
			   role = COALESCE(VALUES(role), role),
			   send_notification = GREATEST(send_notification, VALUES(send_notification)),
			   webhooks = webhooks + VALUES(webhooks),
			   import_id = COALESCE(import_id, VALUES(import_id)),
			   updated_at = VALUES(updated_at)';
	}

	/**
	 * The row an INSERT writes: `VALUES (…)`, or under a condition `SELECT … FROM DUAL WHERE …`
	 * (no row when it is false).
	 */
	private static function row_source( string $values, string $only_if ): string {
		return '' === $only_if ? "VALUES ({$values})" : "SELECT {$values} FROM DUAL WHERE {$only_if}";
	}

	/**
	 * An SQL condition: an option still holds exactly the value the fast lane read, by the SHA-1
	 * the database computed when it was read (so a change of case counts, whatever the table's
	 * collation or character set). The lane stores a job under it, in the job's own statement,
	 * when it decided on settings it read for an earlier webhook: a settings change made anywhere,
	 * even straight in the database, is seen by the very next webhook.
	 *
	 * @param string                   $table The options table.
	 * @param string                   $name  The option.
	 * @param string                   $sha1  SHA1(option_value) as the database returned it.
	 * @param callable(string): string $quote Quotes a text value.
	 */
	public static function option_unchanged( string $table, string $name, string $sha1, callable $quote ): string {
		return "(SELECT SHA1(option_value) FROM {$table} WHERE option_name = " . $quote( $name ) . ') = ' . $quote( $sha1 );
	}

	/**
	 * The condition of a statement sent right after another in one round trip: that statement
	 * wrote a row (the fast lane writes a job's log row only if the job was stored).
	 */
	public static function previous_wrote(): string {
		return 'ROW_COUNT() > 0';
	}

	/**
	 * The named lock of runner slot n.
	 */
	public static function runner_slot_lock( int $slot ): string {
		return 'crmhook_runner_' . $slot;
	}

	/**
	 * One row: 1 when at least one of `$runners` runner slots is free.
	 */
	public static function runner_slot_free( int $runners ): string {
		$free = array();
		for ( $slot = 1; $slot <= max( 1, $runners ); $slot++ ) {
			$free[] = "IS_FREE_LOCK('" . self::runner_slot_lock( $slot ) . "')";
		}
		return 'SELECT ' . implode( ' OR ', $free );
	}

	/**
	 * The two statements that book a runner's start, at most one a second across every server:
	 * run both; when the second changed a row, this request starts the runner.
	 *
	 * @param string $budget The budget table.
	 * @return array{0: string, 1: string}
	 */
	public static function kick( string $budget ): array {
		return array(
			"INSERT IGNORE INTO {$budget} (crm, next_at) VALUES ('_kick', '2000-01-01 00:00:00')",
			"UPDATE {$budget} SET next_at = UTC_TIMESTAMP(6) + INTERVAL 1 SECOND WHERE crm = '_kick' AND next_at <= UTC_TIMESTAMP(6)",
		);
	}

	/**
	 * The fast lane's read of the plugin's options: the settings (the key as saved this instant),
	 * the active plugins and the plugin's schema version, each with its SHA-1 (option_unchanged()).
	 *
	 * @param string $options The options table.
	 */
	public static function lane_options( string $options ): string {
		return "SELECT option_name, option_value, SHA1(option_value) FROM {$options} WHERE option_name IN ('crmhook_settings', 'active_plugins', 'crmhook_db_version')";
	}

	/**
	 * Records when the fast lane last accepted a webhook (the `_lane` row of the budget table),
	 * for the settings screen.
	 */
	public static function lane_accepted( string $budget ): string {
		return "INSERT INTO {$budget} (crm, next_at) VALUES ('_lane', UTC_TIMESTAMP(6)) ON DUPLICATE KEY UPDATE next_at = VALUES(next_at)";
	}

	/**
	 * The wrong-key counter's bucket of a client address. IPv6 clients are counted by their /64
	 * network, which one host usually owns whole, so rotating through it buys no fresh counter.
	 */
	public static function bad_key_bucket( string $address ): int {
		$packed = @inet_pton( $address ); // phpcs:ignore WordPress.PHP.NoSilencedErrors -- any text may arrive.
		if ( false !== $packed && 16 === strlen( $packed ) ) {
			$address = bin2hex( substr( $packed, 0, 8 ) );
		}
		return crc32( $address ) % self::BAD_KEY_BUCKETS;
	}

	/**
	 * Counts one wrong key in its bucket and minute. LAST_INSERT_ID(expr) hands this connection
	 * the count its own increment produced, so parallel guesses each see their own (1, 2, 3, …).
	 * 1 row affected: the bucket's first this minute (its count is 1).
	 *
	 * @param callable(string): string $quote Quotes a text value.
	 */
	public static function bad_key_bump( string $table, int $bucket, int $minute, string $address, callable $quote ): string {
		return "INSERT INTO {$table} (bucket, minute, hits, address) VALUES ({$bucket}, {$minute}, 1, " . $quote( substr( $address, 0, 45 ) ) . ')
			 ON DUPLICATE KEY UPDATE hits = LAST_INSERT_ID(hits + 1), address = VALUES(address)';
	}

	/**
	 * Deletes the minutes that left the window (run once per bucket and minute, by its first guess).
	 */
	public static function bad_key_prune( string $table, int $minute, int $window_minutes ): string {
		return "DELETE FROM {$table} WHERE minute <= " . ( $minute - $window_minutes );
	}

	/**
	 * The bucket's guesses in the window's earlier minutes.
	 */
	public static function bad_key_earlier( string $table, int $bucket, int $minute, int $window_minutes ): string {
		return "SELECT COALESCE(SUM(hits), 0) FROM {$table} WHERE bucket = {$bucket} AND minute > " . ( $minute - $window_minutes ) . " AND minute < {$minute}";
	}

	/**
	 * The log's time: UTC with milliseconds, as its `time` column keeps it.
	 */
	public static function log_time(): string {
		$now = microtime( true );
		return gmdate( 'Y-m-d H:i:s', (int) $now ) . sprintf( '.%03d', (int) ( ( $now - floor( $now ) ) * 1000 ) );
	}

	/**
	 * The address a wrong-key row of the log counts under: IPv6 clients by their /64.
	 */
	public static function log_network( string $address ): string {
		$packed = @inet_pton( $address ); // phpcs:ignore WordPress.PHP.NoSilencedErrors -- any text may arrive.
		if ( false !== $packed && 16 === strlen( $packed ) ) {
			return (string) inet_ntop( substr( $packed, 0, 8 ) . str_repeat( "\0", 8 ) ) . '/64';
		}
		return false === $packed ? 'unknown' : $address;
	}

	/**
	 * A log row's value that is the id the statement before it stored (the fast lane sends a job
	 * and its log row together: see log_row()).
	 *
	 * @return array{sql: string}
	 */
	public static function last_insert_id(): array {
		return array( 'sql' => 'LAST_INSERT_ID()' );
	}

	/**
	 * One row of the webhook log (CrmHook_Log: the fast lane writes its rows with this).
	 *
	 * @param string                                      $table The log table.
	 * @param array<string, int|string|null|array{sql: string}> $row Column => value; integers are
	 *        written as numbers, last_insert_id() as itself.
	 * @param callable(string): string                    $quote Quotes a text value.
	 * @param string                                      $only_if An SQL condition the row is written
	 *        under (previous_wrote(): the job sent before it was stored).
	 */
	public static function log_row( string $table, array $row, callable $quote, string $only_if = '' ): string {
		$values = array_map(
			static function ( $value ) use ( $quote ): string {
				if ( null === $value ) {
					return 'NULL';
				}
				if ( is_array( $value ) ) {
					return self::last_insert_id() === $value ? $value['sql'] : 'NULL';
				}
				return is_int( $value ) ? (string) $value : $quote( (string) $value );
			},
			$row
		);
		return "INSERT INTO {$table} (" . implode( ', ', array_keys( $row ) ) . ') ' . self::row_source( implode( ', ', $values ), $only_if );
	}

	/**
	 * Counts a wrong (or missing) key in the log: one row per address and minute, its count bumped
	 * atomically (the `bucket` key is unique), so a flood of guesses costs a row a minute.
	 *
	 * @param string                   $table   The log table.
	 * @param string                   $address The client's address (log_network() of it).
	 * @param int                      $status  403 or 429.
	 * @param string                   $message What the client was told (it never holds the key).
	 * @param string                   $action  The wpf_action asked for, if any.
	 * @param string                   $crm     The site's CRM.
	 * @param int                      $duration_ms How long the answer took.
	 * @param callable(string): string $quote   Quotes a text value.
	 */
	public static function log_bad_key( string $table, string $address, int $status, string $message, string $action, string $crm, int $duration_ms, callable $quote ): string {
		$bucket = substr( 'badkey:' . $address . ':' . intdiv( time(), 60 ), 0, 100 );
		return "INSERT INTO {$table} (time, crm, action, contact_id, email, status, outcome, duration_ms, api_calls, message, via, address, count, bucket)
			 VALUES (" . $quote( self::log_time() ) . ', ' . $quote( substr( $crm, 0, 32 ) ) . ', ' . $quote( substr( $action, 0, 32 ) ) . ", '', '', {$status}, 'refused', " . max( 0, $duration_ms ) . ', 0, '
			. $quote( $message ) . ", 'webhook', " . $quote( substr( $address, 0, 64 ) ) . ', 1, ' . $quote( $bucket ) . ')
			 ON DUPLICATE KEY UPDATE count = count + 1, status = GREATEST(status, VALUES(status)), message = VALUES(message)';
	}
}
