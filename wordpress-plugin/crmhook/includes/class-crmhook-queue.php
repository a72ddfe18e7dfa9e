<?php
/**
 * The webhook queue: a table in the site's database, so every web server that shares the
 * database shares one queue, and nothing accepted is lost when a PHP worker or the database
 * restarts.
 *
 * @package crmhook
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

/**
 * Jobs, keyed by (CRM, contact id), coalesced while they wait; atomic claims; stale claims
 * released; a per-CRM call budget shared through the database.
 *
 * A job's life: `queued` → `running` (claimed by one runner) → `done`, or back to `queued` with
 * a backoff when the CRM was rate limited or down, or `failed` after too many attempts (shown on
 * the settings screen, where the owner can retry or discard it).
 *
 * @phpstan-type Job array{id: int, crm: string, contact_id: string, action: string, email: ?string, tags: ?list<string>, role: ?string, send_notification: bool, status: string, webhooks: int, attempts: int, claim_id: ?string, last_error: ?string}
 */
final class CrmHook_Queue {

	const SCHEMA_VERSION = '2';

	/** The stronger action wins when webhooks of one contact merge. */
	const RANK = CrmHook_Sql::RANK;

	/** Share of the documented limit the queue uses: room for the calls it does not pace (tag lists). */
	const RATE_SHARE = 0.9;

	/** A claim older than this is released even when its runner still looks alive (a hung runner). */
	const HUNG_AFTER = 600;

	/**
	 * The jobs table.
	 */
	public static function table(): string {
		global $wpdb;
		return $wpdb->prefix . 'crmhook_queue';
	}

	/**
	 * The call budget table: one row per CRM, the earliest time its next call may start.
	 */
	public static function budget_table(): string {
		global $wpdb;
		return $wpdb->prefix . 'crmhook_budget';
	}

	/**
	 * Creates or updates the tables. `waiting` is 1 while a job is queued and NULL otherwise, so
	 * the unique key (crm, contact_id, waiting) allows one waiting job per contact (the one new
	 * webhooks merge into) beside any number of running, done or failed ones.
	 */
	public static function install(): void {
		global $wpdb;
		require_once ABSPATH . 'wp-admin/includes/upgrade.php';
		$charset = $wpdb->get_charset_collate();
		$table   = self::table();
		$budget  = self::budget_table();
		dbDelta(
			"CREATE TABLE {$table} (
  id bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  crm varchar(32) NOT NULL,
  contact_id varchar(64) NOT NULL,
  action varchar(16) NOT NULL,
  action_rank tinyint(3) unsigned NOT NULL,
  email varchar(191) NULL,
  tags longtext NULL,
  role varchar(64) NULL,
  send_notification tinyint(1) NOT NULL DEFAULT 0,
  status varchar(10) NOT NULL,
  waiting tinyint(1) NULL,
  webhooks int(10) unsigned NOT NULL DEFAULT 1,
  attempts smallint(5) unsigned NOT NULL DEFAULT 0,
  run_after datetime(6) NOT NULL,
  claim_id varchar(32) NULL,
  claimed_by varchar(100) NULL,
  claimed_at datetime(6) NULL,
  created_at datetime(6) NOT NULL,
  updated_at datetime(6) NOT NULL,
  last_status smallint(5) unsigned NULL,
  last_error text NULL,
  user_id bigint(20) unsigned NULL,
  import_id bigint(20) unsigned NULL,
  PRIMARY KEY  (id),
  UNIQUE KEY waiting_contact (crm,contact_id,waiting),
  KEY status_run (status,run_after),
  KEY claim_id (claim_id),
  KEY import_status (import_id,status)
) {$charset};"
		);
		dbDelta(
			"CREATE TABLE {$budget} (
  crm varchar(32) NOT NULL,
  next_at datetime(6) NOT NULL,
  PRIMARY KEY  (crm)
) {$charset};"
		);
	}

	/**
	 * Drops the tables (uninstall).
	 */
	public static function drop(): void {
		global $wpdb;
		$wpdb->query( 'DROP TABLE IF EXISTS ' . self::table() ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery.SchemaChange
		$wpdb->query( 'DROP TABLE IF EXISTS ' . self::budget_table() ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery.SchemaChange
	}

	/**
	 * Queues a parsed webhook in one statement: a new job, or merged into the contact's waiting
	 * job (stronger action, latest payload tags, notification kept if any asked for it).
	 *
	 * A job of an import by tag (`$hook['import_id']`) counts no webhook (`webhooks` 0), so
	 * cancelling the import can tell its own jobs from those a webhook merged into.
	 *
	 * @param array<string, mixed> $hook The parsed webhook.
	 * @return array{id: int, merged: bool}|null Null when the database did not take it (then the
	 *                                           webhook must not be answered 202).
	 */
	public static function enqueue( array $hook ): ?array {
		global $wpdb;
		$quote = static fn( string $text ): string => $wpdb->prepare( '%s', $text );
		// The statement the fast lane runs too (CrmHook_Sql): one job format, whoever stores it.
		$rows = $wpdb->query( CrmHook_Sql::enqueue( self::table(), $hook, $quote ) ); // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared -- every value quoted by $wpdb->prepare.
		if ( false === $rows || ! $wpdb->insert_id ) {
			return null;
		}
		return array(
			'id'     => (int) $wpdb->insert_id,
			'merged' => 2 === (int) $rows,
		);
	}

	/**
	 * True when a job is waiting or running: automatic mode then queues new webhooks too, so
	 * they line up behind it instead of racing it.
	 */
	public static function busy(): bool {
		global $wpdb;
		return null !== $wpdb->get_var( 'SELECT 1 FROM ' . self::table() . " WHERE status IN ('queued', 'running') LIMIT 1" );
	}

	/**
	 * Claims the next due job for one runner: a single UPDATE, so two runners (on one server or
	 * on two) never get the same job.
	 *
	 * @param string $claim_id The runner's claim.
	 * @param string $by       Who claims (host:pid), shown when a job is stuck.
	 * @return Job|null
	 */
	public static function claim( string $claim_id, string $by ): ?array {
		global $wpdb;
		$claimed = $wpdb->query(
			$wpdb->prepare(
				'UPDATE ' . self::table() . " SET status = 'running', waiting = NULL, claim_id = %s, claimed_by = %s,
				   claimed_at = UTC_TIMESTAMP(6), attempts = attempts + 1, updated_at = UTC_TIMESTAMP(6)
				 WHERE status = 'queued' AND run_after <= UTC_TIMESTAMP(6) ORDER BY run_after, id LIMIT 1",
				$claim_id,
				substr( $by, 0, 100 )
			)
		);
		if ( ! $claimed ) {
			return null;
		}
		$row = $wpdb->get_row(
			$wpdb->prepare( 'SELECT * FROM ' . self::table() . " WHERE claim_id = %s AND status = 'running' ORDER BY claimed_at DESC LIMIT 1", $claim_id ),
			ARRAY_A
		);
		return $row ? self::shape( $row ) : null;
	}

	/**
	 * Seconds until the earliest queued job is due (0 when one is due now), or null when none waits.
	 */
	public static function next_due_in(): ?float {
		global $wpdb;
		$us = $wpdb->get_var( 'SELECT TIMESTAMPDIFF(MICROSECOND, UTC_TIMESTAMP(6), MIN(run_after)) FROM ' . self::table() . " WHERE status = 'queued'" );
		return null === $us ? null : max( 0.0, (int) $us / 1e6 );
	}

	/**
	 * A job ends: done (whatever the outcome for the user; the message says it) or failed.
	 * Guarded by the claim, so a runner that lost its claim (released as stale) changes nothing.
	 */
	public static function finish( array $job, string $status, int $http_status, string $message, ?int $user_id ): bool {
		global $wpdb;
		return (bool) $wpdb->query(
			$wpdb->prepare(
				'UPDATE ' . self::table() . ' SET status = %s, claim_id = NULL, last_status = %d, last_error = %s, user_id = ' . ( null === $user_id ? 'NULL' : '%d' ) . ",
				   updated_at = UTC_TIMESTAMP(6) WHERE id = %d AND claim_id = %s AND status = 'running'",
				...array_merge( array( $status, $http_status, $message ), null === $user_id ? array() : array( $user_id ), array( $job['id'], (string) $job['claim_id'] ) )
			)
		);
	}

	/**
	 * Puts a job back to wait `$delay` seconds. When the contact got a new waiting job meanwhile,
	 * the two merge: the retried one's action and notification carry over, the new one's tags win.
	 *
	 * @param bool $count_attempt False when the job never reached the CRM (its contact was busy).
	 */
	public static function retry_later( array $job, float $delay, int $http_status, string $message, bool $count_attempt = true ): void {
		global $wpdb;
		$table = self::table();
		$wpdb->query( 'START TRANSACTION' );
		$other = $wpdb->get_row(
			$wpdb->prepare( "SELECT id, action_rank FROM {$table} WHERE crm = %s AND contact_id = %s AND waiting = 1 FOR UPDATE", $job['crm'], $job['contact_id'] ),
			ARRAY_A
		);
		if ( $other ) {
			$rank = self::RANK[ $job['action'] ] ?? 1;
			$wpdb->query(
				$wpdb->prepare(
					"UPDATE {$table} SET action = IF(%d > action_rank, %s, action), action_rank = GREATEST(action_rank, %d),
					   send_notification = GREATEST(send_notification, %d), webhooks = webhooks + %d, updated_at = UTC_TIMESTAMP(6) WHERE id = %d",
					$rank,
					$job['action'],
					$rank,
					$job['send_notification'] ? 1 : 0,
					$job['webhooks'],
					$other['id']
				)
			);
			$wpdb->query(
				$wpdb->prepare(
					"UPDATE {$table} SET status = 'done', claim_id = NULL, last_status = %d, last_error = %s, updated_at = UTC_TIMESTAMP(6)
					 WHERE id = %d AND claim_id = %s",
					$http_status,
					/* translators: %d: job id */
					sprintf( __( 'Merged into job %d, which runs in its place.', 'crmhook' ), (int) $other['id'] ),
					$job['id'],
					(string) $job['claim_id']
				)
			);
		} else {
			$wpdb->query(
				$wpdb->prepare(
					"UPDATE {$table} SET status = 'queued', waiting = 1, claim_id = NULL, attempts = attempts - %d, last_status = %d, last_error = %s,
					   run_after = UTC_TIMESTAMP(6) + INTERVAL %d MICROSECOND, updated_at = UTC_TIMESTAMP(6) WHERE id = %d AND claim_id = %s",
					$count_attempt ? 0 : 1,
					$http_status,
					$message,
					(int) round( $delay * 1e6 ),
					$job['id'],
					(string) $job['claim_id']
				)
			);
		}
		$wpdb->query( 'COMMIT' );
	}

	/**
	 * Gives back the jobs of runners that are gone. A runner holds a named lock for as long as
	 * its database connection lives, so a runner killed with kill -9 (or cut off by a database
	 * restart) is seen at once; a claim older than HUNG_AFTER is given back anyway. A job that
	 * used up its attempts this way is marked failed instead.
	 *
	 * @return int Jobs given back.
	 */
	public static function release_stale( int $max_attempts ): int {
		global $wpdb;
		$table  = self::table();
		$claims = $wpdb->get_results(
			"SELECT claim_id, MIN(claimed_at) < UTC_TIMESTAMP(6) - INTERVAL " . (int) self::HUNG_AFTER . " SECOND AS hung FROM {$table} WHERE status = 'running' GROUP BY claim_id",
			ARRAY_A
		);
		$released = 0;
		foreach ( $claims as $claim ) {
			$claim_id = (string) $claim['claim_id'];
			$free     = $wpdb->get_var( $wpdb->prepare( 'SELECT IS_FREE_LOCK(%s)', self::claim_lock( $claim_id ) ) );
			if ( '1' !== (string) $free && ! $claim['hung'] ) {
				continue;
			}
			$message = __( 'The runner stopped while processing this job (killed, restarted or cut off from the database); it runs again.', 'crmhook' );
			$gave_up = $wpdb->get_results(
				$wpdb->prepare( "SELECT id, crm, contact_id, action, email FROM {$table} WHERE claim_id = %s AND status = 'running' AND attempts >= %d", $claim_id, $max_attempts ),
				ARRAY_A
			);
			$failed = (int) $wpdb->query(
				$wpdb->prepare(
					"UPDATE {$table} SET status = 'failed', claim_id = NULL, last_error = %s, updated_at = UTC_TIMESTAMP(6)
					 WHERE claim_id = %s AND status = 'running' AND attempts >= %d",
					__( 'The runner stopped while processing this job, too many times.', 'crmhook' ),
					$claim_id,
					$max_attempts
				)
			);
			// Logged by the runner whose UPDATE failed them (another one racing it changed nothing).
			foreach ( count( $gave_up ) === $failed ? $gave_up : array() as $job ) {
				// The webhook log shows these failures too, with "Run again".
				CrmHook_Log::record(
					array(
						'crm'        => (string) $job['crm'],
						'action'     => (string) $job['action'],
						'contact_id' => (string) $job['contact_id'],
						'email'      => (string) $job['email'],
						'status'     => 500,
						'outcome'    => 'failed',
						'message'    => __( 'The runner stopped while processing this job, too many times.', 'crmhook' ),
						'via'        => 'queue',
						'job_id'     => (int) $job['id'],
					)
				);
			}
			// Back to waiting; IGNORE leaves a job whose contact has a new waiting job (unique key) for the next statement.
			$released += (int) $wpdb->query(
				$wpdb->prepare(
					"UPDATE IGNORE {$table} SET status = 'queued', waiting = 1, claim_id = NULL, run_after = UTC_TIMESTAMP(6), last_error = %s, updated_at = UTC_TIMESTAMP(6)
					 WHERE claim_id = %s AND status = 'running'",
					$message,
					$claim_id
				)
			);
			$released += (int) $wpdb->query(
				$wpdb->prepare(
					"UPDATE {$table} SET status = 'queued', claim_id = NULL, run_after = UTC_TIMESTAMP(6), last_error = %s, updated_at = UTC_TIMESTAMP(6)
					 WHERE claim_id = %s AND status = 'running'",
					$message,
					$claim_id
				)
			);
		}
		return $released;
	}

	/**
	 * The named lock a runner holds while its claim lives.
	 */
	public static function claim_lock( string $claim_id ): string {
		return 'crmhook_claim_' . $claim_id;
	}

	/**
	 * Reserves the next call slot of a CRM's budget and returns the seconds to wait for it (0
	 * when it is free now). One UPDATE, so every runner and every server shares the pace.
	 *
	 * @param int $calls How many calls the slot is for.
	 */
	public static function reserve( string $crm, int $calls = 1 ): float {
		global $wpdb;
		$table    = self::budget_table();
		$interval = (int) round( $calls * 1e6 / self::rate( $crm ) );
		$wpdb->query( $wpdb->prepare( "INSERT IGNORE INTO {$table} (crm, next_at) VALUES (%s, UTC_TIMESTAMP(6))", $crm ) );
		$wpdb->query(
			$wpdb->prepare(
				"UPDATE {$table} SET next_at = (@crmhook_slot := GREATEST(next_at, UTC_TIMESTAMP(6))) + INTERVAL %d MICROSECOND WHERE crm = %s",
				$interval,
				$crm
			)
		);
		$wait = $wpdb->get_var( 'SELECT TIMESTAMPDIFF(MICROSECOND, UTC_TIMESTAMP(6), @crmhook_slot)' );
		return max( 0.0, (int) $wait / 1e6 );
	}

	/**
	 * Seconds until the CRM's budget has a free slot.
	 */
	public static function budget_wait( string $crm ): float {
		global $wpdb;
		$us = $wpdb->get_var( $wpdb->prepare( 'SELECT TIMESTAMPDIFF(MICROSECOND, UTC_TIMESTAMP(6), next_at) FROM ' . self::budget_table() . ' WHERE crm = %s', $crm ) );
		return null === $us ? 0.0 : max( 0.0, (int) $us / 1e6 );
	}

	/**
	 * The CRM said "too many requests": nobody calls it again for `$seconds`.
	 */
	public static function cool_down( string $crm, float $seconds ): void {
		global $wpdb;
		$wpdb->query(
			$wpdb->prepare(
				'UPDATE ' . self::budget_table() . ' SET next_at = GREATEST(next_at, UTC_TIMESTAMP(6) + INTERVAL %d MICROSECOND) WHERE crm = %s',
				(int) round( $seconds * 1e6 ),
				$crm
			)
		);
	}

	/**
	 * The documented API limit of a CRM, calls per second, from the extension's CRM table.
	 */
	public static function documented_rate( string $crm ): float {
		return (float) ( CrmHook_Settings::crms()[ $crm ]['rate_limit'] ?? 5.0 );
	}

	/**
	 * Calls per second the queue allows itself for a CRM.
	 */
	public static function rate( string $crm ): float {
		/**
		 * The API calls per second the queue may make to a CRM (shared by every runner and server).
		 * Defaults to 90 % of the CRM's documented limit.
		 *
		 * @param float  $rate Calls per second.
		 * @param string $crm  The CRM slug.
		 */
		$rate = (float) apply_filters( 'crmhook_queue_rate', self::documented_rate( $crm ) * self::RATE_SHARE, $crm );
		return max( 0.01, $rate );
	}

	/**
	 * Jobs per status, and how long the oldest waiting job has waited.
	 *
	 * @return array{counts: array<string, int>, oldest_wait: ?int}
	 */
	public static function summary(): array {
		global $wpdb;
		$table  = self::table();
		$counts = array(
			'queued'  => 0,
			'running' => 0,
			'done'    => 0,
			'failed'  => 0,
		);
		foreach ( $wpdb->get_results( "SELECT status, COUNT(*) AS n FROM {$table} GROUP BY status", ARRAY_A ) as $row ) {
			$counts[ $row['status'] ] = (int) $row['n'];
		}
		$oldest = $wpdb->get_var( "SELECT TIMESTAMPDIFF(SECOND, MIN(created_at), UTC_TIMESTAMP(6)) FROM {$table} WHERE status IN ('queued', 'running')" );
		return array(
			'counts'      => $counts,
			'oldest_wait' => null === $oldest ? null : (int) $oldest,
		);
	}

	/**
	 * Failed jobs, newest first.
	 *
	 * @return list<Job>
	 */
	public static function failed( int $limit = 50 ): array {
		global $wpdb;
		$rows = $wpdb->get_results( $wpdb->prepare( 'SELECT * FROM ' . self::table() . " WHERE status = 'failed' ORDER BY updated_at DESC LIMIT %d", $limit ), ARRAY_A );
		return array_map( array( __CLASS__, 'shape' ), $rows );
	}

	/**
	 * A failed job goes back to the queue with fresh attempts; it merges into a waiting job of
	 * its contact when there is one.
	 */
	public static function retry_failed( int $id ): bool {
		global $wpdb;
		$table = self::table();
		$done  = $wpdb->query(
			$wpdb->prepare(
				"UPDATE IGNORE {$table} SET status = 'queued', waiting = 1, attempts = 0, run_after = UTC_TIMESTAMP(6), updated_at = UTC_TIMESTAMP(6) WHERE id = %d AND status = 'failed'",
				$id
			)
		);
		if ( ! $done ) {
			// The contact has a waiting job already: it fetches the contact fresh, so this one is covered.
			$done = $wpdb->query( $wpdb->prepare( "UPDATE {$table} SET status = 'done', last_error = %s, updated_at = UTC_TIMESTAMP(6) WHERE id = %d AND status = 'failed'", __( 'Retried: covered by a newer job of this contact.', 'crmhook' ), $id ) );
		}
		return (bool) $done;
	}

	/**
	 * Removes a failed job.
	 */
	public static function discard_failed( int $id ): bool {
		global $wpdb;
		return (bool) $wpdb->query( $wpdb->prepare( 'DELETE FROM ' . self::table() . " WHERE id = %d AND status = 'failed'", $id ) );
	}

	/**
	 * Finished jobs are kept a day for the record, then deleted.
	 */
	public static function purge_done(): void {
		global $wpdb;
		$wpdb->query( 'DELETE FROM ' . self::table() . " WHERE status = 'done' AND updated_at < UTC_TIMESTAMP(6) - INTERVAL 1 DAY LIMIT 1000" );
	}

	/**
	 * A row as a job.
	 *
	 * @param array<string, string|null> $row A table row.
	 * @return Job
	 */
	private static function shape( array $row ): array {
		$tags = null === $row['tags'] ? null : json_decode( (string) $row['tags'], true );
		return array(
			'id'                => (int) $row['id'],
			'crm'               => (string) $row['crm'],
			'contact_id'        => (string) $row['contact_id'],
			'action'            => (string) $row['action'],
			'email'             => $row['email'],
			'tags'              => is_array( $tags ) ? array_map( 'strval', $tags ) : null,
			'role'              => $row['role'],
			'send_notification' => (bool) $row['send_notification'],
			'status'            => (string) $row['status'],
			'webhooks'          => (int) $row['webhooks'],
			'attempts'          => (int) $row['attempts'],
			'claim_id'          => $row['claim_id'],
			'last_status'       => null === $row['last_status'] ? null : (int) $row['last_status'],
			'last_error'        => $row['last_error'],
			'updated_at'        => (string) $row['updated_at'],
			'import_id'         => empty( $row['import_id'] ) ? null : (int) $row['import_id'],
		);
	}
}
