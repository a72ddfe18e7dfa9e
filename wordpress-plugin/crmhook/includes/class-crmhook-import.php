<?php
/**
 * Import by tag: every CRM contact that carries a tag becomes (or updates) a WordPress user,
 * in the background.
 *
 * @package crmhook
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

/**
 * An import lists the tag's contacts page by page (crmhook_list_contacts_by_tag) and queues an
 * `add` job per contact in the webhook queue, marked with the import's id; the queue's runner
 * lists the pages and runs the jobs, so an import survives closing the browser and shares the
 * CRM's rate budget with the webhooks. Its state lives in its own table, every count changed by
 * one atomic UPDATE, so any number of runners (on any number of servers) can work on it.
 *
 * An import's life: `listing` (pages left to list) → `running` (all listed, jobs left) → `done`;
 * or `cancelled` by the owner, or `failed` when a page could not be listed after
 * CrmHook_Runner::max_attempts() tries (the jobs already queued still run).
 *
 * @phpstan-type Progress array{id: int, crm: string, tag_id: string, tag_name: string, role: ?string, status: string, pages: int, found: int, total: ?int, jobs: int, created: int, updated: int, skipped: int, failed: int, dropped: int, processed: int, waiting: int, percent: int, last_error: ?string, started_at: string, finished_at: ?string}
 */
final class CrmHook_Import {

	const SCHEMA_VERSION = '1';

	/** Seconds a runner may hold an import's listing before another one takes it over. */
	const LEASE = 120;

	/** Outcomes an import counts; each is a column. */
	const OUTCOMES = array( 'created', 'updated', 'skipped', 'failed' );

	/** The user the last job of this request created (set by crmhook_user_created). */
	private static ?int $created_user = null;

	/**
	 * The imports table.
	 */
	public static function table(): string {
		global $wpdb;
		return $wpdb->prefix . 'crmhook_imports';
	}

	/**
	 * Hooks: created users are told apart from updated ones by the action Sync fires.
	 */
	public static function register(): void {
		add_action(
			'crmhook_user_created',
			static function ( int $user_id ): void {
				self::$created_user = $user_id;
			}
		);
	}

	/**
	 * Creates or updates the table.
	 */
	public static function install(): void {
		global $wpdb;
		require_once ABSPATH . 'wp-admin/includes/upgrade.php';
		$table = self::table();
		dbDelta(
			"CREATE TABLE {$table} (
  id bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  crm varchar(32) NOT NULL,
  tag_id varchar(64) NOT NULL,
  tag_name varchar(191) NOT NULL DEFAULT '',
  role varchar(64) NULL,
  status varchar(10) NOT NULL,
  next_cursor varchar(1024) NULL,
  pages int(10) unsigned NOT NULL DEFAULT 0,
  found int(10) unsigned NOT NULL DEFAULT 0,
  total int(10) unsigned NULL,
  jobs int(10) unsigned NOT NULL DEFAULT 0,
  created int(10) unsigned NOT NULL DEFAULT 0,
  updated int(10) unsigned NOT NULL DEFAULT 0,
  skipped int(10) unsigned NOT NULL DEFAULT 0,
  failed int(10) unsigned NOT NULL DEFAULT 0,
  dropped int(10) unsigned NOT NULL DEFAULT 0,
  list_attempts smallint(5) unsigned NOT NULL DEFAULT 0,
  list_after datetime(6) NOT NULL,
  lease_id varchar(32) NULL,
  lease_until datetime(6) NULL,
  last_error text NULL,
  created_by bigint(20) unsigned NOT NULL DEFAULT 0,
  created_at datetime(6) NOT NULL,
  updated_at datetime(6) NOT NULL,
  finished_at datetime(6) NULL,
  PRIMARY KEY  (id),
  KEY status_after (status,list_after)
) {$wpdb->get_charset_collate()};"
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
	 * Starts an import of the contacts that carry `$tag_id` in the configured CRM, and kicks a
	 * runner to list its first page.
	 *
	 * @param string      $tag_id   The CRM's tag id (digits).
	 * @param string      $tag_name Its name, for the screen.
	 * @param string|null $role     A role for new users (the webhook role policy applies), or null for the default role.
	 * @param int|null    $total    How many contacts carry the tag, when known.
	 * @return int|WP_Error The import's id.
	 */
	public static function start( string $tag_id, string $tag_name, ?string $role, ?int $total ) {
		global $wpdb;
		$crm = (string) CrmHook_Settings::get( 'crm' );
		if ( '' === $crm ) {
			return new WP_Error( 'crmhook_no_crm', __( 'Choose and connect a CRM under Settings → CRM Webhooks first.', 'crmhook' ) );
		}
		if ( ! preg_match( '/^\d{1,64}$/', $tag_id ) ) {
			return new WP_Error( 'crmhook_bad_tag', __( 'Choose a tag to import.', 'crmhook' ) );
		}
		$active = $wpdb->get_var( 'SELECT id FROM ' . self::table() . " WHERE status IN ('listing', 'running') LIMIT 1" );
		if ( null !== $active ) {
			/* translators: %d: import id */
			return new WP_Error( 'crmhook_import_running', sprintf( __( 'Import %d is still running: wait for it or cancel it first.', 'crmhook' ), (int) $active ) );
		}
		$done = $wpdb->query(
			$wpdb->prepare(
				'INSERT INTO ' . self::table() . " (crm, tag_id, tag_name, role, status, total, list_after, created_by, created_at, updated_at)
				 VALUES (%s, %s, %s, " . ( null === $role ? 'NULL' : '%s' ) . ", 'listing', " . ( null === $total ? 'NULL' : '%d' ) . ', UTC_TIMESTAMP(6), %d, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))',
				...array_merge( array( $crm, $tag_id, substr( $tag_name, 0, 191 ) ), null === $role ? array() : array( $role ), null === $total ? array() : array( $total ), array( get_current_user_id() ) )
			)
		);
		if ( ! $done ) {
			return new WP_Error( 'crmhook_import_db', __( 'The database did not take the import.', 'crmhook' ) );
		}
		$id = (int) $wpdb->insert_id;
		CrmHook_Runner::kick();
		return $id;
	}

	/**
	 * Lists one page of an import that is due, when there is one: called by the queue runner
	 * between jobs. A lease keeps two runners off the same import.
	 *
	 * @return bool True when a page was listed (or tried).
	 */
	public static function work(): bool {
		global $wpdb;
		$table = self::table();
		$id    = $wpdb->get_var( "SELECT id FROM {$table} WHERE status = 'listing' AND list_after <= UTC_TIMESTAMP(6) AND (lease_until IS NULL OR lease_until < UTC_TIMESTAMP(6)) ORDER BY id LIMIT 1" );
		if ( null === $id ) {
			return false;
		}
		$lease = bin2hex( random_bytes( 12 ) );
		$taken = $wpdb->query(
			$wpdb->prepare(
				"UPDATE {$table} SET lease_id = %s, lease_until = UTC_TIMESTAMP(6) + INTERVAL %d SECOND
				 WHERE id = %d AND status = 'listing' AND (lease_until IS NULL OR lease_until < UTC_TIMESTAMP(6))",
				$lease,
				self::LEASE,
				(int) $id
			)
		);
		if ( ! $taken ) {
			return false;
		}
		$row = $wpdb->get_row( $wpdb->prepare( "SELECT * FROM {$table} WHERE id = %d", (int) $id ), ARRAY_A );
		if ( $row ) {
			self::list_page( $row, $lease );
		}
		return true;
	}

	/**
	 * Seconds until an import has a page due (0 when one is due now), or null when none lists.
	 */
	public static function next_due_in(): ?float {
		global $wpdb;
		$us = $wpdb->get_var( 'SELECT TIMESTAMPDIFF(MICROSECOND, UTC_TIMESTAMP(6), MIN(GREATEST(list_after, COALESCE(lease_until, list_after)))) FROM ' . self::table() . " WHERE status = 'listing'" );
		return null === $us ? null : max( 0.0, (int) $us / 1e6 );
	}

	/**
	 * Lists the import's next page and queues its contacts; on a CRM failure, tries again later
	 * (with the queue's backoff) or gives up after the queue's attempts.
	 *
	 * @param array<string, string|null> $row   The import.
	 * @param string                     $lease The lease this runner holds.
	 */
	private static function list_page( array $row, string $lease ): void {
		$id     = (int) $row['id'];
		$crm    = (string) $row['crm'];
		$config = CrmHook_Settings::crm_config();
		if ( ( $config['crm'] ?? '' ) !== $crm ) {
			self::give_up( $id, $lease, __( 'The CRM in the settings changed since this import started.', 'crmhook' ) );
			return;
		}
		$wait = CrmHook_Queue::reserve( $crm );
		if ( $wait > CrmHook_Runner::MAX_PACE_WAIT ) {
			self::later( $id, $lease, $wait, null, false );
			return;
		}
		if ( $wait > 0 ) {
			usleep( (int) ( $wait * 1e6 ) );
		}
		try {
			$page = crmhook_list_contacts_by_tag( $config, (string) $row['tag_id'], $row['next_cursor'] );
		} catch ( \CrmHook\CrmException $e ) {
			$code = (int) $e->getCode();
			if ( 401 === $code || 404 === $code ) {
				// Wrong credentials or no such tag: trying again changes nothing.
				self::give_up( $id, $lease, $e->getMessage() );
				return;
			}
			if ( 429 === $code ) {
				CrmHook_Queue::cool_down( $crm, CrmHook_Runner::RATE_LIMIT_PAUSE );
			}
			$attempts = (int) $row['list_attempts'] + 1;
			if ( $attempts >= CrmHook_Runner::max_attempts() ) {
				/* translators: 1: attempts, 2: the CRM's message */
				self::give_up( $id, $lease, sprintf( _n( 'Listing failed after %1$d attempt: %2$s', 'Listing failed after %1$d attempts: %2$s', $attempts, 'crmhook' ), $attempts, $e->getMessage() ) );
				return;
			}
			self::later( $id, $lease, CrmHook_Runner::backoff( $attempts ), $e->getMessage(), true );
			return;
		} catch ( \ValueError $e ) {
			self::give_up( $id, $lease, $e->getMessage() );
			return;
		}

		$queued = 0;
		foreach ( $page['contacts'] as $contact ) {
			$job = CrmHook_Queue::enqueue(
				array(
					'action'            => 'add',
					'crm'               => $crm,
					'contact_id'        => (string) $contact['id'],
					'email'             => $contact['email'],
					'tags'              => null,
					'role'              => $row['role'],
					'send_notification' => false,
					'import_id'         => $id,
				)
			);
			if ( null !== $job ) {
				++$queued;
			}
		}
		global $wpdb;
		$next  = $page['next'];
		$saved = $wpdb->query(
			$wpdb->prepare(
				'UPDATE ' . self::table() . ' SET pages = pages + 1, found = found + %d, jobs = jobs + %d, total = COALESCE(' . ( null === $page['total'] ? 'NULL' : '%d' ) . ', total),
				   next_cursor = ' . ( null === $next ? 'NULL' : '%s' ) . ", status = %s, list_attempts = 0, last_error = NULL, lease_id = NULL, lease_until = NULL,
				   list_after = UTC_TIMESTAMP(6), updated_at = UTC_TIMESTAMP(6)
				 WHERE id = %d AND lease_id = %s AND status = 'listing'",
				...array_merge(
					array( count( $page['contacts'] ), $queued ),
					null === $page['total'] ? array() : array( (int) $page['total'] ),
					null === $next ? array() : array( (string) $next ),
					array( null === $next ? 'running' : 'listing', $id, $lease )
				)
			)
		);
		if ( ! $saved ) {
			// Cancelled (or taken over) while this page was listed: what it queued goes too.
			self::drop_jobs( $id );
			return;
		}
		if ( null === $next ) {
			self::maybe_finish( $id );
		}
	}

	/**
	 * The page is tried again after `$delay` seconds.
	 */
	private static function later( int $id, string $lease, float $delay, ?string $error, bool $count ): void {
		global $wpdb;
		$wpdb->query(
			$wpdb->prepare(
				'UPDATE ' . self::table() . ' SET list_attempts = list_attempts + %d, last_error = ' . ( null === $error ? 'last_error' : '%s' ) . ', list_after = UTC_TIMESTAMP(6) + INTERVAL %d MICROSECOND,
				   lease_id = NULL, lease_until = NULL, updated_at = UTC_TIMESTAMP(6) WHERE id = %d AND lease_id = %s',
				...array_merge( array( $count ? 1 : 0 ), null === $error ? array() : array( $error ), array( (int) round( $delay * 1e6 ), $id, $lease ) )
			)
		);
	}

	/**
	 * Listing stops for good; the jobs already queued still run and are counted.
	 */
	private static function give_up( int $id, string $lease, string $error ): void {
		global $wpdb;
		$wpdb->query(
			$wpdb->prepare(
				'UPDATE ' . self::table() . " SET status = 'failed', last_error = %s, lease_id = NULL, lease_until = NULL, finished_at = UTC_TIMESTAMP(6),
				   updated_at = UTC_TIMESTAMP(6) WHERE id = %d AND lease_id = %s AND status = 'listing'",
				$error,
				$id,
				$lease
			)
		);
	}

	/**
	 * Cancels an import: listing stops, and its jobs that have not run yet leave the queue (a
	 * job a webhook merged into stays: that webhook must still run).
	 *
	 * @return bool False when the import was not running.
	 */
	public static function cancel( int $id ): bool {
		global $wpdb;
		$done = $wpdb->query(
			$wpdb->prepare(
				'UPDATE ' . self::table() . " SET status = 'cancelled', finished_at = UTC_TIMESTAMP(6), updated_at = UTC_TIMESTAMP(6) WHERE id = %d AND status IN ('listing', 'running')",
				$id
			)
		);
		if ( ! $done ) {
			return false;
		}
		self::drop_jobs( $id );
		return true;
	}

	/**
	 * Removes an import's queued jobs (not those a webhook merged into, nor running ones).
	 */
	private static function drop_jobs( int $id ): void {
		global $wpdb;
		$queue   = CrmHook_Queue::table();
		$dropped = (int) $wpdb->query( $wpdb->prepare( "DELETE FROM {$queue} WHERE import_id = %d AND status = 'queued' AND webhooks = 0", $id ) );
		$wpdb->query( $wpdb->prepare( "UPDATE {$queue} SET import_id = NULL WHERE import_id = %d AND status = 'queued'", $id ) );
		if ( $dropped ) {
			$wpdb->query( $wpdb->prepare( 'UPDATE ' . self::table() . ' SET dropped = dropped + %d WHERE id = %d', $dropped, $id ) );
		}
	}

	/**
	 * An import's job ended: its outcome is counted. Called by the runner.
	 *
	 * @param array<string, mixed> $job     The job.
	 * @param string               $outcome One of OUTCOMES.
	 */
	public static function job_ended( array $job, string $outcome ): void {
		global $wpdb;
		$id = (int) ( $job['import_id'] ?? 0 );
		if ( ! $id || ! in_array( $outcome, self::OUTCOMES, true ) ) {
			return;
		}
		// The column is one of OUTCOMES, checked above.
		$wpdb->query( $wpdb->prepare( 'UPDATE ' . self::table() . " SET {$outcome} = {$outcome} + 1, updated_at = UTC_TIMESTAMP(6) WHERE id = %d", $id ) ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		self::maybe_finish( $id );
	}

	/**
	 * What a finished job counts as: `created` when this job's sync created the user,
	 * `updated` for any other user it wrote (or found unchanged), `skipped` when it answered
	 * ok:false without an error (a privileged user is never changed), else `failed`.
	 *
	 * @param array<string, mixed> $outcome The runner's outcome.
	 */
	public static function outcome_of( array $outcome ): string {
		$created            = self::$created_user;
		self::$created_user = null;
		if ( ! empty( $outcome['ok'] ) && ! empty( $outcome['user_id'] ) ) {
			return (int) $outcome['user_id'] === $created ? 'created' : 'updated';
		}
		return (int) ( $outcome['status'] ?? 500 ) < 400 ? 'skipped' : 'failed';
	}

	/**
	 * Forgets a created user seen before a job starts (a webhook run inline in this request).
	 */
	public static function forget_created(): void {
		self::$created_user = null;
	}

	/**
	 * `running` → `done` once nothing of the import waits or runs in the queue.
	 */
	public static function maybe_finish( int $id ): void {
		global $wpdb;
		$wpdb->query(
			$wpdb->prepare(
				'UPDATE ' . self::table() . " SET status = 'done', finished_at = UTC_TIMESTAMP(6), updated_at = UTC_TIMESTAMP(6)
				 WHERE id = %d AND status = 'running'
				   AND NOT EXISTS (SELECT 1 FROM " . CrmHook_Queue::table() . " WHERE import_id = %d AND status IN ('queued', 'running'))",
				$id,
				$id
			)
		);
	}

	/**
	 * An import's progress, as the REST endpoint and the screen show it.
	 *
	 * @return Progress|null
	 */
	public static function progress( int $id ): ?array {
		global $wpdb;
		// A last job that ended without being counted (merged into a newer job of its contact)
		// must not leave the import running forever.
		self::maybe_finish( $id );
		$row = $wpdb->get_row( $wpdb->prepare( 'SELECT * FROM ' . self::table() . ' WHERE id = %d', $id ), ARRAY_A );
		if ( ! $row ) {
			return null;
		}
		$waiting   = (int) $wpdb->get_var( $wpdb->prepare( 'SELECT COUNT(*) FROM ' . CrmHook_Queue::table() . " WHERE import_id = %d AND status IN ('queued', 'running')", $id ) );
		$processed = (int) $row['created'] + (int) $row['updated'] + (int) $row['skipped'] + (int) $row['failed'];
		$total     = null === $row['total'] ? null : (int) $row['total'];
		// While pages are left, the CRM's total (where it gave one) is the goal; then the jobs queued.
		$goal    = 'listing' === $row['status'] && null !== $total ? max( $total, (int) $row['jobs'] ) : (int) $row['jobs'];
		$percent = 'done' === $row['status'] ? 100 : ( $goal > 0 ? min( 99, (int) floor( 100 * $processed / $goal ) ) : 0 );
		return array(
			'id'          => $id,
			'crm'         => (string) $row['crm'],
			'tag_id'      => (string) $row['tag_id'],
			'tag_name'    => (string) $row['tag_name'],
			'role'        => $row['role'],
			'status'      => (string) $row['status'],
			'pages'       => (int) $row['pages'],
			'found'       => (int) $row['found'],
			'total'       => $total,
			'jobs'        => (int) $row['jobs'],
			'created'     => (int) $row['created'],
			'updated'     => (int) $row['updated'],
			'skipped'     => (int) $row['skipped'],
			'failed'      => (int) $row['failed'],
			'dropped'     => (int) $row['dropped'],
			'processed'   => $processed,
			'waiting'     => $waiting,
			'percent'     => $percent,
			'last_error'  => $row['last_error'],
			'started_at'  => (string) $row['created_at'],
			'finished_at' => $row['finished_at'],
		);
	}

	/**
	 * The newest import, for the screen.
	 */
	public static function latest_id(): ?int {
		global $wpdb;
		$id = $wpdb->get_var( 'SELECT MAX(id) FROM ' . self::table() );
		return null === $id ? null : (int) $id;
	}
}
