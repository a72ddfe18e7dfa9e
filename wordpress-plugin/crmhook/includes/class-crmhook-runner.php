<?php
/**
 * The queue's runner: takes jobs, paces CRM calls, retries what the CRM could not answer.
 *
 * @package crmhook
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

/**
 * Runs queued webhooks, and the inline ones too (so both get the same pacing and loop guard).
 *
 * It starts itself: after a webhook is queued, the site sends itself a request
 * (`/?crmhook_runner=TOKEN`) that answers at once and then drains the queue for a time budget;
 * WP-Cron runs it every minute as a fallback, and `bin/run-queue.php` lets a system cron drive it
 * where WP-Cron is off. At most RUNNERS run at once per site (named locks in the database, so
 * the limit holds across web servers); each holds a lock for as long as it lives, which is how a
 * killed runner's jobs are recognised and given back.
 */
final class CrmHook_Runner {

	const CRON_HOOK     = 'crmhook_queue_cron';
	const CRON_SCHEDULE = 'crmhook_minute';

	/**
	 * Runners at once, per site. Three keep a CRM that answers in 300 ms busy at ActiveCampaign's
	 * 5 calls/s on a loaded server; each holds a PHP worker, mostly waiting for the CRM.
	 */
	const RUNNERS = 3;

	/** Seconds a runner started by a request drains before it hands over to a fresh one. */
	const TIME_BUDGET = 20;

	/** Seconds between a runner's checks for work enough to bring up the other runners. */
	const SIBLING_CHECK = 2;

	/** Attempts before a job is failed; seconds of the first backoff (doubled each time). */
	const MAX_ATTEMPTS = 8;
	const BACKOFF      = 5;

	/** Seconds nobody calls a CRM after it answered 429 (it already waited Retry-After once). */
	const RATE_LIMIT_PAUSE = 2;

	/** Longest wait for a CRM call slot a runner sits out; longer, and the job goes back to the queue. */
	const MAX_PACE_WAIT = 5;

	/** The inline lock: automatic mode runs one webhook inline at a time. */
	const INLINE_LOCK = 'crmhook_inline';

	/**
	 * Registers the cron fallback.
	 */
	public static function register(): void {
		add_filter( 'cron_schedules', array( __CLASS__, 'cron_schedules' ) );
		add_action( self::CRON_HOOK, array( __CLASS__, 'run_from_cron' ) );
	}

	/**
	 * A one-minute schedule for the fallback.
	 *
	 * @param array<string, array{interval: int, display: string}> $schedules Schedules.
	 * @return array<string, array{interval: int, display: string}>
	 */
	public static function cron_schedules( array $schedules ): array {
		$schedules[ self::CRON_SCHEDULE ] = array(
			'interval' => MINUTE_IN_SECONDS,
			'display'  => __( 'Every minute (crmhook queue)', 'crmhook' ),
		);
		return $schedules;
	}

	/**
	 * Schedules the fallback when it is not (activation, upgrade).
	 */
	public static function schedule(): void {
		if ( ! wp_next_scheduled( self::CRON_HOOK ) ) {
			wp_schedule_event( time() + MINUTE_IN_SECONDS, self::CRON_SCHEDULE, self::CRON_HOOK );
		}
	}

	/**
	 * Removes the fallback (deactivation).
	 */
	public static function unschedule(): void {
		wp_clear_scheduled_hook( self::CRON_HOOK );
	}

	/**
	 * The cron fallback: drains for most of a minute.
	 */
	public static function run_from_cron(): void {
		self::run( 50, 'cron' );
	}

	/**
	 * The token of the runner URL: not a password (a stranger who guessed it could only start a
	 * runner), but it keeps the URL from being an open door to load.
	 */
	public static function token(): string {
		return substr( hash_hmac( 'sha256', 'crmhook-runner', (string) CrmHook_Settings::get( 'access_key' ) . ( defined( 'AUTH_SALT' ) ? AUTH_SALT : '' ) ), 0, 32 );
	}

	/**
	 * When this request is the runner's loopback: answers at once (the caller only waits for
	 * the status line), then drains the queue once WordPress is loaded, and ends the request.
	 * Called when the plugin's main file loads.
	 */
	public static function maybe_run_from_request(): void {
		// phpcs:ignore WordPress.Security.NonceVerification -- authenticated by the token.
		$given = isset( $_GET['crmhook_runner'] ) ? (string) $_GET['crmhook_runner'] : '';
		if ( '' === $given || ! CrmHook_Plugin::extension_loaded() ) {
			return;
		}
		if ( ! hash_equals( self::token(), $given ) ) {
			status_header( 403 );
			exit;
		}
		ignore_user_abort( true );
		status_header( 202 );
		header( 'Content-Type: text/plain; charset=utf-8' );
		header( 'Cache-Control: no-store' );
		echo "crmhook runner started\n";
		if ( function_exists( 'fastcgi_finish_request' ) ) {
			fastcgi_finish_request();
		}
		add_action(
			'wp_loaded',
			static function (): void {
				self::run( self::TIME_BUDGET, 'loopback' );
				exit;
			},
			0
		);
	}

	/**
	 * Starts a runner when fewer than RUNNERS run and none was started in the last second: a
	 * request to this site that answers at once. Called after a webhook's answer was sent, and by
	 * a runner that hands over or sees work enough for more runners.
	 */
	public static function kick(): void {
		global $wpdb;
		if ( '1' !== (string) $wpdb->get_var( CrmHook_Sql::runner_slot_free( self::runners() ) ) ) {
			return;
		}
		// One kick a second across all servers: a burst must not start a runner per webhook.
		[ $insert, $book ] = CrmHook_Sql::kick( CrmHook_Queue::budget_table() );
		$wpdb->query( $insert ); // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared -- no values.
		if ( $wpdb->query( $book ) ) { // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared -- no values.
			self::loopback();
		}
	}

	/**
	 * Sends the runner request to this site and waits only for its status line: the runner
	 * answers before it starts working.
	 */
	private static function loopback(): void {
		CrmHook_Lane::knock( self::runner_url() );
	}

	/**
	 * The address that starts a runner (also written to the fast lane's configuration, which
	 * starts runners without WordPress).
	 */
	public static function runner_url(): string {
		$url = add_query_arg( 'crmhook_runner', self::token(), home_url( '/' ) );
		/**
		 * The URL the site calls to start a runner (e.g. an internal address behind a proxy).
		 *
		 * @param string $url The runner URL.
		 */
		return (string) apply_filters( 'crmhook_runner_url', $url );
	}

	/**
	 * How many runners may run at once.
	 */
	public static function runners(): int {
		/**
		 * How many queue runners may run at once on this site (across all web servers). Each holds
		 * a PHP worker while it drains; most of that time it waits for the CRM.
		 *
		 * @param int $runners The `queue_runners` setting; 3 by default.
		 */
		$setting = (int) CrmHook_Settings::get( 'queue_runners' );
		return max( 1, (int) apply_filters( 'crmhook_queue_runners', $setting > 0 ? $setting : self::RUNNERS ) );
	}

	/**
	 * The named lock of a runner slot.
	 */
	private static function slot_lock( int $slot ): string {
		return CrmHook_Sql::runner_slot_lock( $slot );
	}

	/**
	 * Drains the queue for up to `$seconds`: claim a due job, wait for the CRM's budget, run it.
	 *
	 * @param float  $seconds Time budget.
	 * @param string $via     Who started it, for the job's record (loopback, cron, cli).
	 * @return int Jobs run.
	 */
	public static function run( float $seconds, string $via ): int {
		global $wpdb;
		if ( ! CrmHook_Plugin::extension_loaded() ) {
			return 0;
		}
		$deadline = microtime( true ) + $seconds;
		if ( function_exists( 'set_time_limit' ) ) {
			set_time_limit( (int) $seconds + 120 );
		}
		$slot = 0;
		for ( $i = 1; $i <= self::runners() && ! $slot; $i++ ) {
			if ( '1' === (string) $wpdb->get_var( $wpdb->prepare( 'SELECT GET_LOCK(%s, 0)', self::slot_lock( $i ) ) ) ) {
				$slot = $i;
			}
		}
		if ( ! $slot ) {
			return 0; // Enough runners already.
		}
		$claim_id = bin2hex( random_bytes( 12 ) );
		$by       = substr( php_uname( 'n' ), 0, 60 ) . ':' . getmypid() . ':' . $via;
		$ran      = 0;
		// Runners are started one a second, by webhooks and by a runner handing over: a burst
		// shorter than a second (the fast lane takes 2,000 webhooks in about two) starts one, and
		// two runners handing over in the same second leave one. So while jobs are waiting that
		// are due now, a runner brings up the others (up to the setting), checking every
		// SIBLING_CHECK seconds. Not from the CLI, which serves sites whose loopback may not work.
		$siblings_at = 'cli' === $via ? INF : 0.0;
		try {
			CrmHook_Queue::release_stale( self::max_attempts() );
			while ( microtime( true ) < $deadline ) {
				self::hold_claim_lock( $claim_id );
				self::reload_settings_if_changed();
				$crm  = (string) CrmHook_Settings::get( 'crm' );
				$wait = CrmHook_Queue::budget_wait( $crm );
				if ( microtime( true ) + $wait >= $deadline ) {
					break;
				}
				if ( $wait > 0 ) {
					usleep( (int) ( $wait * 1e6 ) );
				}
				// An import by tag lists its next page between jobs (one page, then back to the queue).
				if ( CrmHook_Import::work() ) {
					++$ran;
				}
				$job = CrmHook_Queue::claim( $claim_id, $by );
				if ( null === $job ) {
					$due     = CrmHook_Queue::next_due_in();
					$listing = CrmHook_Import::next_due_in();
					$due     = null === $listing ? $due : min( $due ?? INF, $listing );
					if ( null === $due || microtime( true ) + $due >= $deadline ) {
						break;
					}
					usleep( (int) ( max( 0.05, min( $due, 1.0 ) ) * 1e6 ) );
					continue;
				}
				if ( microtime( true ) >= $siblings_at ) {
					$siblings_at = microtime( true ) + self::SIBLING_CHECK;
					$next_due    = CrmHook_Queue::next_due_in();
					if ( null !== $next_due && $next_due <= 0.0 ) {
						self::kick();
					}
				}
				self::run_job( $job );
				++$ran;
			}
			if ( 1 === wp_rand( 1, 50 ) ) {
				CrmHook_Queue::purge_done();
			}
		} finally {
			$wpdb->query( $wpdb->prepare( 'SELECT RELEASE_LOCK(%s)', CrmHook_Queue::claim_lock( $claim_id ) ) );
			$wpdb->query( $wpdb->prepare( 'SELECT RELEASE_LOCK(%s)', self::slot_lock( $slot ) ) );
		}
		// Out of time with work left that is due within a minute: hand over to a fresh runner. A
		// runner that ran nothing (the CRM's budget is paused, or the next job is far off) does
		// not, or runners would chase each other: WP-Cron, the CLI or the next webhook start one.
		$due     = $ran > 0 ? CrmHook_Queue::next_due_in() : null;
		$listing = $ran > 0 ? CrmHook_Import::next_due_in() : null;
		$due     = null === $listing ? $due : min( $due ?? INF, $listing );
		if ( 'cli' !== $via && null !== $due && $due < MINUTE_IN_SECONDS ) {
			self::kick();
		}
		return $ran;
	}

	/**
	 * A runner lives for many jobs: settings saved meanwhile apply to the next one. One small
	 * query; the options cache is dropped only when the settings really changed.
	 */
	private static function reload_settings_if_changed(): void {
		global $wpdb;
		static $seen = null;
		$now = (string) $wpdb->get_var( $wpdb->prepare( "SELECT MD5(option_value) FROM {$wpdb->options} WHERE option_name = %s", CrmHook_Settings::OPTION ) );
		if ( null !== $seen && $now !== $seen ) {
			wp_cache_delete( 'alloptions', 'options' );
			wp_cache_delete( CrmHook_Settings::OPTION, 'options' );
		}
		$seen = $now;
	}

	/**
	 * Holds the runner's claim lock. A database restart drops every lock: taking it again keeps
	 * other runners from giving this runner's jobs away as stale.
	 */
	private static function hold_claim_lock( string $claim_id ): void {
		global $wpdb;
		$name = CrmHook_Queue::claim_lock( $claim_id );
		$mine = $wpdb->get_var( $wpdb->prepare( 'SELECT IS_USED_LOCK(%s) = CONNECTION_ID()', $name ) );
		if ( '1' !== (string) $mine ) {
			$wpdb->get_var( $wpdb->prepare( 'SELECT GET_LOCK(%s, 0)', $name ) );
		}
	}

	/**
	 * Runs one claimed job and records how it ended.
	 *
	 * @param array<string, mixed> $job The job.
	 */
	private static function run_job( array $job ): void {
		$started = microtime( true );
		CrmHook_Log::take_calls();
		$lock = new CrmHook_Lock();
		try {
			// One job per contact at a time: another runner (or an inline webhook) has it now.
			if ( ! $lock->acquire( "contact:{$job['crm']}:{$job['contact_id']}", 0 ) ) {
				CrmHook_Queue::retry_later( $job, 1.0, 0, __( 'Another webhook of this contact was running; this one waits for it.', 'crmhook' ), false );
				return;
			}
			$hook    = array(
				'action'            => $job['action'],
				'crm'               => $job['crm'],
				'contact_id'        => $job['contact_id'],
				'email'             => $job['email'],
				'tags'              => $job['tags'],
				'role'              => $job['role'],
				'send_notification' => $job['send_notification'],
				'async'             => true,
			);
			CrmHook_Import::forget_created();
			$outcome = self::execute( $hook, true );
		} finally {
			$lock->release_all();
		}
		if ( ! empty( $outcome['not_started'] ) ) {
			CrmHook_Queue::retry_later( $job, (float) $outcome['retry_after'], 0, $outcome['message'], false );
			return;
		}
		if ( ! empty( $outcome['transient'] ) ) {
			if ( $job['attempts'] >= self::max_attempts() ) {
				/* translators: 1: attempts, 2: the CRM's message */
				$message = sprintf( _n( 'Failed after %1$d attempt: %2$s', 'Failed after %1$d attempts: %2$s', $job['attempts'], 'crmhook' ), $job['attempts'], $outcome['message'] );
				CrmHook_Queue::finish( $job, 'failed', $outcome['status'], $message, null );
				CrmHook_Import::job_ended( $job, 'failed' );
				self::log_job( $job, $outcome, 'failed', $message, $started );
				return;
			}
			$delay = self::backoff( $job['attempts'], (float) ( $outcome['retry_after'] ?? 0 ) );
			/* translators: 1: the CRM's message, 2: seconds */
			$message = sprintf( __( '%1$s (retry in %2$d s)', 'crmhook' ), $outcome['message'], (int) ceil( $delay ) );
			CrmHook_Queue::retry_later( $job, $delay, $outcome['status'], $message );
			self::log_job( $job, $outcome, 'retried', $message, $started );
			return;
		}
		CrmHook_Queue::finish( $job, 'done', $outcome['status'], $outcome['message'], $outcome['user_id'] );
		CrmHook_Import::job_ended( $job, CrmHook_Import::outcome_of( $outcome ) );
		if ( $job['webhooks'] > 1 ) {
			/* translators: %d: number of webhooks */
			$outcome['notices'][] = sprintf( _n( '%d webhook of this contact was merged into this one run.', '%d webhooks of this contact were merged into this one run.', $job['webhooks'], 'crmhook' ), $job['webhooks'] );
		}
		self::log_job( $job, $outcome, $outcome['result'] ?? CrmHook_Log::outcome_for( (int) $outcome['status'], (bool) $outcome['ok'] ), $outcome['message'], $started );
	}

	/**
	 * The webhook log's row for a job's attempt: how it ended (done, retried or failed), with
	 * the CRM calls it made and how long it took.
	 *
	 * @param array<string, mixed> $job     The job.
	 * @param array<string, mixed> $outcome How it ran.
	 */
	private static function log_job( array $job, array $outcome, string $result, string $message, float $started ): void {
		CrmHook_Log::record(
			array(
				'crm'         => $job['crm'],
				'action'      => $job['action'],
				'contact_id'  => $job['contact_id'],
				'email'       => (string) $job['email'],
				'user_id'     => $outcome['user_id'] ?? null,
				'status'      => (int) $outcome['status'],
				'outcome'     => $result,
				'duration_ms' => (int) round( ( microtime( true ) - $started ) * 1000 ),
				'api_calls'   => CrmHook_Log::take_calls(),
				'message'     => $message,
				'notices'     => (array) ( $outcome['notices'] ?? array() ),
				'via'         => 'queue',
				'job_id'      => $job['id'],
			)
		);
	}

	/**
	 * The delay before attempt n+1: exponential, with ±25 % jitter so retries spread out, and
	 * never shorter than what the CRM asked for.
	 */
	public static function backoff( int $attempts, float $at_least = 0.0 ): float {
		$base  = (float) CrmHook_Settings::get( 'queue_backoff' );
		$base  = $base > 0 ? $base : self::BACKOFF;
		$delay = min( HOUR_IN_SECONDS, $base * ( 2 ** max( 0, $attempts - 1 ) ) );
		$delay = $delay * ( 0.75 + wp_rand( 0, 500 ) / 1000 );
		return max( $delay, $at_least );
	}

	/**
	 * Attempts before a job fails.
	 */
	public static function max_attempts(): int {
		$max = (int) CrmHook_Settings::get( 'queue_max_attempts' );
		return $max > 0 ? $max : self::MAX_ATTEMPTS;
	}

	/**
	 * Runs a webhook: fetch the contact within the CRM's budget, skip it when nothing is new
	 * for the user (the loop guard), else CrmHook_Sync::run(). Used by the runner and inline.
	 *
	 * @param array<string, mixed> $hook The webhook (parsed, or rebuilt from a job).
	 * @param bool                 $pace Wait for the budget's slot (the runner); inline only books it.
	 * @return array<string, mixed> Sync's outcome, plus `transient` (retry later) and `retry_after`.
	 */
	public static function execute( array $hook, bool $pace ): array {
		if ( CrmHook_Unsubscribe::is_unsubscribe( (string) $hook['action'] ) ) {
			return CrmHook_Unsubscribe::run( $hook );
		}
		$crm     = (string) $hook['crm'];
		$config  = CrmHook_Settings::crm_config();
		$contact = null;
		if ( ! ( 'update_tags' === $hook['action'] && is_array( $hook['tags'] ) ) ) {
			$wait = CrmHook_Queue::reserve( $crm );
			if ( $pace && $wait > self::MAX_PACE_WAIT ) {
				// The CRM's budget is paused (a 429 elsewhere, or a long queue of reservations):
				// the job goes back untouched instead of holding a worker that long.
				$outcome                = self::failure( $hook, 429, __( 'Waiting for the CRM\'s rate limit.', 'crmhook' ), $wait );
				$outcome['not_started'] = true;
				return $outcome;
			}
			if ( $pace && $wait > 0 ) {
				usleep( (int) ( $wait * 1e6 ) );
			}
			try {
				CrmHook_Log::crm_call();
				$contact = crmhook_fetch_contact( $config, (string) $hook['contact_id'] );
			} catch ( \CrmHook\CrmException $e ) {
				$code = (int) $e->getCode();
				if ( 404 !== $code ) {
					if ( 429 === $code ) {
						// The extension already waited the CRM's Retry-After once: everyone pauses now.
						CrmHook_Queue::cool_down( $crm, self::RATE_LIMIT_PAUSE );
					}
					return self::failure( $hook, 504 === $code ? 504 : ( 429 === $code ? 429 : 502 ), $e->getMessage(), 429 === $code ? self::RATE_LIMIT_PAUSE : 0 );
				}
				// Not found: Sync looks the contact up by email, or answers that it is gone.
			} catch ( \ValueError $e ) {
				/* translators: %s: what is missing */
				return self::failure( $hook, 502, sprintf( __( 'The CRM connection is not set up: %s (Settings → CRM Webhooks).', 'crmhook' ), $e->getMessage() ), 0 );
			}
		}

		$seen_key    = '_crmhook_seen_' . CrmHook_Settings::meta_slug( $crm );
		$fingerprint = null;
		// ConvertKit/Kit `update` must always run: it takes the update tag off the subscriber.
		$guarded = ! ( 'update' === $hook['action'] && CrmHook_Settings::has_automation_rules( $crm ) );
		if ( null !== $contact && $guarded ) {
			$fingerprint = self::fingerprint( $contact, $hook );
			$user_id     = CrmHook_Contacts::user_for( $crm, (string) $contact['id'] );
			if ( null !== $user_id && get_userdata( $user_id ) && get_user_meta( $user_id, $seen_key, true ) === $fingerprint . ':' . self::user_state( $user_id, $crm ) ) {
				return array(
					'status'     => 200,
					'ok'         => true,
					'action'     => (string) $hook['action'],
					'contact_id' => (string) $hook['contact_id'],
					'user_id'    => $user_id,
					'queued'     => false,
					'message'    => __( 'Nothing new in the CRM for this user since the last sync: nothing written.', 'crmhook' ),
					'notices'    => array(),
					'result'     => 'no change',
				);
			}
		}

		$outcome = CrmHook_Sync::run( $hook, $contact );
		if ( $outcome['status'] >= 500 ) {
			$outcome['transient'] = true;
			return $outcome;
		}
		// Remember what a full sync applied, so the CRM calling back about the site's own write is a no-op.
		if ( $fingerprint && $outcome['ok'] && $outcome['user_id'] && in_array( $hook['action'], array( 'add', 'update' ), true ) ) {
			clean_user_cache( (int) $outcome['user_id'] );
			update_user_meta( (int) $outcome['user_id'], $seen_key, $fingerprint . ':' . self::user_state( (int) $outcome['user_id'], $crm ) );
		}
		return $outcome;
	}

	/**
	 * What a full sync of this contact depends on: the contact as the CRM returned it (minus the
	 * field the site itself writes, the returned password) and the settings that map it.
	 *
	 * @param array<string, mixed> $contact The fetched contact.
	 * @param array<string, mixed> $hook    The webhook.
	 */
	private static function fingerprint( array $contact, array $hook ): string {
		$settings = CrmHook_Settings::all();
		$returned = (string) $settings['return_password_field'];
		if ( '' !== $returned && isset( $contact['fields'][ $returned ] ) ) {
			unset( $contact['fields'][ $returned ] );
		}
		$tags = $contact['tags'] ?? array();
		sort( $tags );
		$contact['tags'] = $tags;
		return md5( (string) wp_json_encode( array( $contact, $settings['field_map'], $settings['username_format'], $settings['allowed_roles'], $hook['role'] ?? null ) ) );
	}

	/**
	 * What a sync writes on the user, hashed: when it changed on the site since the last sync
	 * (an edit, another plugin), the next webhook writes again even if the CRM is unchanged.
	 */
	private static function user_state( int $user_id, string $crm ): string {
		$user = get_userdata( $user_id );
		if ( ! $user ) {
			return '';
		}
		$meta  = array();
		$keys  = array_merge( array( 'first_name', 'last_name', CrmHook_Settings::meta_slug( $crm ) . '_tags', CrmHook_Settings::meta_slug( $crm ) . '_contact_id' ), array_values( (array) CrmHook_Settings::get( 'field_map' ) ) );
		foreach ( array_unique( $keys ) as $key ) {
			$meta[ $key ] = get_user_meta( $user_id, (string) $key, false );
		}
		return md5( (string) wp_json_encode( array( $user->user_email, $user->user_login, $user->display_name, array_values( $user->roles ), $meta ) ) );
	}

	/**
	 * A CRM failure worth retrying.
	 *
	 * @param array<string, mixed> $hook The webhook.
	 * @return array<string, mixed>
	 */
	private static function failure( array $hook, int $status, string $message, float $retry_after ): array {
		return array(
			'status'      => $status,
			'ok'          => false,
			'action'      => (string) $hook['action'],
			'contact_id'  => (string) $hook['contact_id'],
			'user_id'     => null,
			'queued'      => false,
			'message'     => $message,
			'notices'     => array(),
			'transient'   => true,
			'retry_after' => $retry_after,
		);
	}
}
