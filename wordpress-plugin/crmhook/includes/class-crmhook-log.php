<?php
/**
 * The webhook log: a row for every webhook the site answered and every queued job it ran.
 *
 * @package crmhook
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

/**
 * Table `{prefix}crmhook_log`, append-only: one INSERT per event, never a read-modify-write, so
 * fifty webhooks at once leave fifty rows. Wrong access keys are the exception: they are counted
 * per client address and minute in one row (`INSERT … ON DUPLICATE KEY UPDATE count = count + 1`
 * on the unique `bucket` column), so a flood of guesses costs a row a minute, not a row a request.
 *
 * Every text is scrubbed before it is stored: the access key, the CRM credentials in the
 * settings, any password the request generated (CrmHook_Log::secret()) and `key=value` pairs
 * whose name says secret are replaced by `[redacted]`.
 *
 * Retention: rows older than 30 days go, and beyond 100,000 rows the oldest go (both filterable),
 * cleaned daily by the `crmhook_log_prune` event.
 *
 * @phpstan-type Entry array{id: int, time: string, crm: string, action: string, contact_id: string, email: string, user_id: ?int, status: int, outcome: string, duration_ms: int, api_calls: int, message: string, notices: list<string>, via: string, job_id: ?int, address: string, count: int}
 */
final class CrmHook_Log {

	const SCHEMA_VERSION = '1';

	/** The daily retention event. */
	const PRUNE_HOOK = 'crmhook_log_prune';

	/** Defaults of the retention: days kept, rows kept (whichever is hit first). */
	const KEEP_DAYS = 30;
	const KEEP_ROWS = 100000;

	/** What a row says happened. */
	const OUTCOMES = array( 'created', 'updated', 'no change', 'not found', 'skipped', 'failed', 'queued', 'retried', 'refused', 'test' );

	/** What replaces a secret. */
	const REDACTED = '[redacted]';

	/** @var int CRM functions (crmhook_fetch_contact, …) called since the last take_calls(). */
	private static int $calls = 0;

	/** @var list<string> Secret values seen in this request (generated passwords), never stored. */
	private static array $secrets = array();

	/**
	 * The table.
	 */
	public static function table(): string {
		global $wpdb;
		return $wpdb->prefix . 'crmhook_log';
	}

	/**
	 * Creates or updates the table. `bucket` is NULL on ordinary rows (a unique key allows any
	 * number of NULLs) and `badkey:<address>:<minute>` on the rows that count wrong keys.
	 */
	public static function install(): void {
		global $wpdb;
		require_once ABSPATH . 'wp-admin/includes/upgrade.php';
		$table   = self::table();
		$charset = $wpdb->get_charset_collate();
		dbDelta(
			"CREATE TABLE {$table} (
  id bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  time datetime(3) NOT NULL,
  crm varchar(32) NOT NULL DEFAULT '',
  action varchar(32) NOT NULL DEFAULT '',
  contact_id varchar(64) NOT NULL DEFAULT '',
  email varchar(191) NOT NULL DEFAULT '',
  user_id bigint(20) unsigned NULL,
  status smallint(5) unsigned NOT NULL,
  outcome varchar(16) NOT NULL,
  duration_ms int(10) unsigned NOT NULL DEFAULT 0,
  api_calls smallint(5) unsigned NOT NULL DEFAULT 0,
  message text NOT NULL,
  notices text NULL,
  via varchar(10) NOT NULL DEFAULT 'webhook',
  job_id bigint(20) unsigned NULL,
  address varchar(64) NOT NULL DEFAULT '',
  count int(10) unsigned NOT NULL DEFAULT 1,
  bucket varchar(100) NULL,
  PRIMARY KEY  (id),
  UNIQUE KEY bucket (bucket),
  KEY time (time),
  KEY outcome (outcome),
  KEY contact (crm,contact_id),
  KEY email (email),
  KEY user_id (user_id)
) {$charset};"
		);
	}

	/**
	 * Drops the table (uninstall).
	 */
	public static function drop(): void {
		global $wpdb;
		$wpdb->query( 'DROP TABLE IF EXISTS ' . self::table() ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery.SchemaChange
	}

	/**
	 * Schedules the daily retention (activation, upgrade).
	 */
	public static function schedule(): void {
		if ( ! wp_next_scheduled( self::PRUNE_HOOK ) ) {
			wp_schedule_event( time() + HOUR_IN_SECONDS, 'daily', self::PRUNE_HOOK );
		}
	}

	/**
	 * Removes the retention event (deactivation).
	 */
	public static function unschedule(): void {
		wp_clear_scheduled_hook( self::PRUNE_HOOK );
	}

	/**
	 * The plugin calls this before each CRM function it calls for a webhook.
	 */
	public static function crm_call(): void {
		++self::$calls;
	}

	/**
	 * The CRM calls counted since the last time, and a fresh count.
	 */
	public static function take_calls(): int {
		$calls       = self::$calls;
		self::$calls = 0;
		return $calls;
	}

	/**
	 * A secret this request handled (a generated password): it is redacted from every row.
	 */
	public static function secret( string $value ): void {
		if ( strlen( $value ) >= 4 ) {
			self::$secrets[] = $value;
		}
	}

	/**
	 * Appends one row.
	 *
	 * @param array{crm?: string, action?: string, contact_id?: ?string, email?: ?string, user_id?: ?int, status: int, outcome?: string, ok?: bool, duration_ms?: int, api_calls?: int, message?: string, notices?: list<string>, via?: string, job_id?: ?int, address?: string} $entry
	 * @return bool Whether the row was stored.
	 */
	public static function record( array $entry ): bool {
		global $wpdb;
		$status  = (int) $entry['status'];
		$outcome = (string) ( $entry['outcome'] ?? self::outcome_for( $status, (bool) ( $entry['ok'] ?? $status < 300 ) ) );
		$user_id = isset( $entry['user_id'] ) && $entry['user_id'] ? (int) $entry['user_id'] : null;
		// The user's email when there is a user (searchable, and not the payload's word for it).
		// get_userdata() is pluggable: not there yet when a webhook is queued as the plugin loads.
		$user  = null === $user_id || ! function_exists( 'get_userdata' ) ? false : get_userdata( $user_id );
		$email = $user ? (string) $user->user_email : (string) ( $entry['email'] ?? '' );
		$notices = array_map( array( __CLASS__, 'scrub' ), array_slice( array_map( 'strval', (array) ( $entry['notices'] ?? array() ) ), 0, 20 ) );
		$row     = array(
			'time'        => self::now(),
			'crm'         => substr( sanitize_key( (string) ( $entry['crm'] ?? '' ) ), 0, 32 ),
			'action'      => substr( sanitize_key( (string) ( $entry['action'] ?? '' ) ), 0, 32 ),
			'contact_id'  => substr( self::scrub( (string) ( $entry['contact_id'] ?? '' ) ), 0, 64 ),
			'email'       => substr( self::scrub( $email ), 0, 191 ),
			'status'      => $status,
			'outcome'     => in_array( $outcome, self::OUTCOMES, true ) ? $outcome : 'failed',
			'duration_ms' => max( 0, (int) ( $entry['duration_ms'] ?? 0 ) ),
			'api_calls'   => max( 0, min( 65535, (int) ( $entry['api_calls'] ?? 0 ) ) ),
			'message'     => self::limit( self::scrub( (string) ( $entry['message'] ?? '' ) ), 2000 ),
			'notices'     => $notices ? self::limit( (string) wp_json_encode( $notices ), 4000 ) : null,
			'via'         => 'queue' === ( $entry['via'] ?? '' ) ? 'queue' : 'webhook',
			'address'     => substr( (string) ( $entry['address'] ?? '' ), 0, 64 ),
		);
		$formats = array( '%s', '%s', '%s', '%s', '%s', '%d', '%s', '%d', '%d', '%s', '%s', '%s', '%s' );
		if ( null !== $user_id ) {
			$row['user_id'] = $user_id;
			$formats[]      = '%d';
		}
		if ( ! empty( $entry['job_id'] ) ) {
			$row['job_id'] = (int) $entry['job_id'];
			$formats[]     = '%d';
		}
		return (bool) $wpdb->insert( self::table(), $row, $formats );
	}

	/**
	 * Counts a wrong (or missing) access key: one row per client address and minute, its count
	 * bumped atomically. IPv6 clients are counted by their /64, which one host usually owns whole.
	 *
	 * @param string $action The wpf_action the request asked for, if any.
	 */
	public static function bad_key( string $address, int $status, string $message, string $action = '', string $crm = '', int $duration_ms = 0 ): bool {
		global $wpdb;
		$quote = static fn( string $text ): string => $wpdb->prepare( '%s', $text );
		$sql   = CrmHook_Sql::log_bad_key( self::table(), CrmHook_Sql::log_network( $address ), $status, self::limit( self::scrub( $message ), 2000 ), sanitize_key( $action ), sanitize_key( $crm ), $duration_ms, $quote );
		return false !== $wpdb->query( $sql ); // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared -- every value quoted by $wpdb->prepare above.
	}

	/**
	 * The outcome word for an answer that did not name one.
	 */
	public static function outcome_for( int $status, bool $ok ): string {
		if ( 202 === $status ) {
			return 'queued';
		}
		if ( $status >= 500 ) {
			return 'failed';
		}
		if ( $status >= 400 ) {
			return 'refused';
		}
		return $ok ? 'updated' : 'skipped';
	}

	/**
	 * Replaces every secret in a text by `[redacted]`: the access key and the CRM credentials from
	 * the settings, the secrets this request registered, and the values of `access_key=`,
	 * `api_key=`, `api_secret=`, `password=`, `pass=`, `token=` pairs (query strings, form bodies,
	 * JSON) and of `Authorization` credentials, whatever their value.
	 */
	public static function scrub( string $text ): string {
		if ( '' === $text ) {
			return $text;
		}
		$settings = CrmHook_Settings::all();
		$values   = self::$secrets;
		foreach ( array( 'access_key', 'api_key', 'api_secret', 'password' ) as $key ) {
			$values[] = (string) ( $settings[ $key ] ?? '' );
		}
		foreach ( array_unique( $values ) as $value ) {
			if ( strlen( $value ) >= 4 ) {
				$text = str_replace( array( $value, rawurlencode( $value ), urlencode( $value ) ), self::REDACTED, $text );
			}
		}
		$names = '(?:access[_-]?key|api[_-]?key|api[_-]?secret|secret|password|passwd|pass|pwd|user_pass|token|api[_-]?token)';
		// name=value in URLs and form bodies; "name": "value" and 'name' => 'value' in JSON and PHP dumps.
		$text = (string) preg_replace( '/\b(' . $names . ')=[^&\s"\'<>]+/i', '$1=' . self::REDACTED, $text );
		$text = (string) preg_replace( '/(["\']' . $names . '["\']\s*(?::|=>)\s*)(["\'])(?:(?!\2).)*\2/i', '$1$2' . self::REDACTED . '$2', $text );
		$text = (string) preg_replace( '/\b(Authorization:\s*|Bearer\s+|Basic\s+)[A-Za-z0-9._~+\/=-]{8,}/i', '$1' . self::REDACTED, $text );
		return $text;
	}

	/**
	 * Deletes rows past the retention: older than the days kept, then the oldest beyond the rows
	 * kept. In batches, so a large table is never locked for long.
	 *
	 * @return int Rows deleted.
	 */
	public static function prune(): int {
		global $wpdb;
		$table = self::table();
		/**
		 * Days the webhook log keeps a row.
		 *
		 * @param int $days 30 by default; 0 keeps rows whatever their age.
		 */
		$days = (int) apply_filters( 'crmhook_log_retention_days', self::KEEP_DAYS );
		/**
		 * Rows the webhook log keeps at most; the oldest go first.
		 *
		 * @param int $rows 100,000 by default; 0 keeps any number.
		 */
		$rows    = (int) apply_filters( 'crmhook_log_max_rows', self::KEEP_ROWS );
		$deleted = 0;
		if ( $days > 0 ) {
			do {
				$n        = (int) $wpdb->query( $wpdb->prepare( "DELETE FROM {$table} WHERE time < UTC_TIMESTAMP(3) - INTERVAL %d DAY ORDER BY id LIMIT 5000", $days ) );
				$deleted += $n;
			} while ( 5000 === $n );
		}
		if ( $rows > 0 ) {
			$last_kept = $wpdb->get_var( $wpdb->prepare( "SELECT id FROM {$table} ORDER BY id DESC LIMIT 1 OFFSET %d", $rows - 1 ) );
			if ( null !== $last_kept ) {
				do {
					$n        = (int) $wpdb->query( $wpdb->prepare( "DELETE FROM {$table} WHERE id < %d ORDER BY id LIMIT 5000", (int) $last_kept ) );
					$deleted += $n;
				} while ( 5000 === $n );
			}
		}
		return $deleted;
	}

	/**
	 * The newest rows (the settings screen's summary).
	 *
	 * @return list<Entry>
	 */
	public static function recent( int $limit = 10 ): array {
		return self::query( array(), $limit, 0 );
	}

	/**
	 * One row.
	 *
	 * @return Entry|null
	 */
	public static function get( int $id ): ?array {
		global $wpdb;
		$row = $wpdb->get_row( $wpdb->prepare( 'SELECT * FROM ' . self::table() . ' WHERE id = %d', $id ), ARRAY_A );
		return $row ? self::shape( $row ) : null;
	}

	/**
	 * Rows matching the filters, newest first.
	 *
	 * @param array{crm?: string, action?: string, outcome?: string, from?: string, to?: string, search?: string, before_id?: int} $filters
	 *        `from` and `to` are dates (Y-m-d) in the site's time zone, both included.
	 * @return list<Entry>
	 */
	public static function query( array $filters, int $limit, int $offset ): array {
		global $wpdb;
		$sql  = 'SELECT * FROM ' . self::table() . ' WHERE ' . self::where( $filters ) . ' ORDER BY id DESC LIMIT %d OFFSET %d';
		$rows = $wpdb->get_results( $wpdb->prepare( $sql, $limit, $offset ), ARRAY_A ); // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared -- where() is prepared.
		return array_map( array( __CLASS__, 'shape' ), $rows ?: array() );
	}

	/**
	 * How many rows match the filters.
	 *
	 * @param array<string, mixed> $filters As query().
	 */
	public static function count( array $filters ): int {
		global $wpdb;
		return (int) $wpdb->get_var( 'SELECT COUNT(*) FROM ' . self::table() . ' WHERE ' . self::where( $filters ) ); // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared -- where() is prepared.
	}

	/**
	 * The WHERE clause of the filters, prepared.
	 *
	 * @param array<string, mixed> $filters As query().
	 */
	private static function where( array $filters ): string {
		global $wpdb;
		$where = array( '1=1' );
		foreach ( array( 'crm', 'action', 'outcome' ) as $column ) {
			if ( '' !== (string) ( $filters[ $column ] ?? '' ) ) {
				$where[] = $wpdb->prepare( "{$column} = %s", (string) $filters[ $column ] ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- a fixed column name.
			}
		}
		foreach ( array( 'from' => '>=', 'to' => '<' ) as $key => $op ) {
			$date = (string) ( $filters[ $key ] ?? '' );
			if ( preg_match( '/^\d{4}-\d{2}-\d{2}$/', $date ) ) {
				$day = date_create_immutable( $date . ' 00:00:00', wp_timezone() );
				if ( $day ) {
					$day     = 'to' === $key ? $day->modify( '+1 day' ) : $day;
					$where[] = $wpdb->prepare( "time {$op} %s", $day->setTimezone( new DateTimeZone( 'UTC' ) )->format( 'Y-m-d H:i:s' ) ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- a fixed operator.
				}
			}
		}
		$search = trim( (string) ( $filters['search'] ?? '' ) );
		if ( '' !== $search ) {
			$where[] = $wpdb->prepare( '(contact_id = %s OR email LIKE %s)', $search, '%' . $wpdb->esc_like( $search ) . '%' );
		}
		if ( ! empty( $filters['before_id'] ) ) {
			$where[] = $wpdb->prepare( 'id < %d', (int) $filters['before_id'] );
		}
		return implode( ' AND ', $where );
	}

	/**
	 * A row as an entry.
	 *
	 * @param array<string, string|null> $row A table row.
	 * @return Entry
	 */
	private static function shape( array $row ): array {
		$notices = null === $row['notices'] ? array() : json_decode( (string) $row['notices'], true );
		return array(
			'id'          => (int) $row['id'],
			'time'        => (string) $row['time'],
			'crm'         => (string) $row['crm'],
			'action'      => (string) $row['action'],
			'contact_id'  => (string) $row['contact_id'],
			'email'       => (string) $row['email'],
			'user_id'     => null === $row['user_id'] ? null : (int) $row['user_id'],
			'status'      => (int) $row['status'],
			'outcome'     => (string) $row['outcome'],
			'duration_ms' => (int) $row['duration_ms'],
			'api_calls'   => (int) $row['api_calls'],
			'message'     => (string) $row['message'],
			'notices'     => is_array( $notices ) ? array_map( 'strval', $notices ) : array(),
			'via'         => (string) $row['via'],
			'job_id'      => null === $row['job_id'] ? null : (int) $row['job_id'],
			'address'     => (string) $row['address'],
			'count'       => (int) $row['count'],
		);
	}

	/**
	 * A row can be run again: a webhook or job that failed, with an action that syncs a contact.
	 *
	 * @param Entry $entry The row.
	 */
	public static function can_run_again( array $entry ): bool {
		return 'failed' === $entry['outcome'] && '' !== $entry['contact_id'] && isset( CrmHook_Queue::RANK[ $entry['action'] ] ) && isset( CrmHook_Settings::crm_names()[ $entry['crm'] ] );
	}

	/**
	 * Runs a failed row's webhook again: queued as a new job (merged into a waiting job of its
	 * contact if there is one), which fetches the contact fresh from the CRM. Payload tags and a
	 * requested role are not in the log, so they are not replayed: the CRM's state is.
	 *
	 * @param Entry $entry The row.
	 * @return array{id: int, merged: bool}|null The job, or null when it could not be queued.
	 */
	public static function run_again( array $entry ): ?array {
		if ( ! self::can_run_again( $entry ) ) {
			return null;
		}
		return CrmHook_Queue::enqueue(
			array(
				'crm'               => $entry['crm'],
				'contact_id'        => $entry['contact_id'],
				'action'            => $entry['action'],
				'email'             => null,
				'tags'              => null,
				'role'              => null,
				'send_notification' => false,
			)
		);
	}

	/**
	 * Now, in UTC with milliseconds, as the table stores it.
	 */
	private static function now(): string {
		return CrmHook_Sql::log_time();
	}

	/**
	 * At most `$max` bytes, cut on a character boundary.
	 */
	private static function limit( string $text, int $max ): string {
		return strlen( $text ) <= $max ? $text : mb_strcut( $text, 0, $max - 3, 'UTF-8' ) . '…';
	}
}
