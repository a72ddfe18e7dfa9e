<?php
/**
 * The fast lane: a webhook accepted into the queue before WordPress loads.
 *
 * WordPress-free on purpose: lane.php loads this file as PHP's auto_prepend_file, which the
 * extension sets only for requests whose query string carries wpf_action (docs/fast-lane.md).
 *
 * @package crmhook
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || defined( 'CRMHOOK_LANE' ) || exit;

/**
 * Takes a webhook the normal path would queue, checks its key (the extension, in constant time),
 * stores it with the queue's own statement and answers 202, in one database connection and no
 * WordPress. Anything it does not take (lane turned off in the settings, `async=false`, the
 * "always immediately" mode, a malformed request, an unreadable configuration) returns to the
 * caller, and WordPress answers as if the lane did not exist. It never answers 202 for a webhook
 * the database did not take: then it answers 503.
 */
final class CrmHook_Lane {

	/** The configuration file's format (CrmHook_Lane_Config writes it). */
	const CONFIG_VERSION = 1;

	/** Seconds to wait for the database before answering 503. */
	const CONNECT_TIMEOUT = 2;

	/** As the normal path: wrong keys from one address in ten minutes before 429s. */
	const BAD_KEY_LIMIT  = 20;
	const BAD_KEY_WINDOW = 10;

	/**
	 * Seconds a process decides on the options it read for an earlier webhook before it reads them
	 * again. The settings (the key, the mode, the lane's own switch) are checked on every accept
	 * anyway (take()); this bounds how long a change the lane cannot check that way — the plugin
	 * deactivated straight in the database, its tables upgraded — goes unseen.
	 */
	const MEMO_SECONDS = 10;

	/**
	 * What the log row of this request names (CRM, action, contact id, or a wrong key), set as
	 * the request is read.
	 *
	 * @var array<string, mixed>
	 */
	private static array $log = array();

	/**
	 * Handles the request if it is the lane's; returns when WordPress should answer it.
	 *
	 * @param string $config_path The configuration file (crmhook.lane_config).
	 */
	public static function handle( string $config_path ): void {
		// phpcs:ignore WordPress.Security.NonceVerification -- authenticated by the access key.
		if ( ! isset( $_GET['wpf_action'] ) || ! function_exists( 'crmhook_parse_webhook' ) || ! extension_loaded( 'pdo_mysql' ) ) {
			return;
		}
		$memo   = self::recall();
		$config = self::configured( $config_path, $memo );
		if ( null === $config ) {
			return;
		}
		$db = null;
		try {
			$db      = self::connect( $config['db'] );
			$outcome = self::take( $db, $config, $memo );
		} catch ( \PDOException $e ) {
			// The database is down or refused the job: the CRM must see a failure, never a 202.
			$outcome = self::refusal( 503, 'The webhook could not be stored (database unavailable); it was not accepted.' );
			if ( $db ) {
				$outcome = self::log( $db, (string) $config['prefix'], $outcome );
			}
		} catch ( \Throwable $e ) {
			// A bug or an unexpected configuration must not cost the webhook: WordPress answers it.
			$outcome = null;
		}
		if ( null === $outcome ) {
			return; // WordPress answers.
		}
		self::respond( $outcome );
		if ( $db && ! empty( $outcome['queued'] ) ) {
			self::after_accept( $db, $config, $outcome );
		}
		exit;
	}

	/**
	 * The lane's configuration, or null when there is none (or not one this version reads).
	 * JSON read on every request, not a PHP file: opcache would serve a stale copy after the
	 * settings change, and php-fpm pools do not share opcache.
	 *
	 * @return array<string, mixed>|null
	 */
	public static function config( string $path ): ?array {
		if ( '' === $path ) {
			return null;
		}
		$text   = @file_get_contents( $path ); // phpcs:ignore WordPress.PHP.NoSilencedErrors, WordPress.WP.AlternativeFunctions -- missing is a normal state.
		$config = false === $text ? null : json_decode( $text, true );
		if ( ! is_array( $config ) || self::CONFIG_VERSION !== ( $config['version'] ?? null ) || ! is_array( $config['db'] ?? null ) || ! empty( $config['multisite'] ) ) {
			return null;
		}
		return $config;
	}

	/**
	 * The configuration as config() reads it, kept in the memo while the file is the one read (the
	 * plugin replaces it by a rename: a new inode, so a new signature), which saves the read and
	 * the JSON decoding on every webhook of a burst. A new file also drops the options the memo
	 * decided on, as what they mean depends on it (the plugin's path, its schema).
	 *
	 * @param array<string, mixed> $memo The memo (recall()); updated when the file is read.
	 * @return array<string, mixed>|null
	 */
	private static function configured( string $path, array &$memo ): ?array {
		$stat      = '' === $path ? false : @stat( $path ); // phpcs:ignore WordPress.PHP.NoSilencedErrors -- missing is a normal state.
		$signature = false === $stat ? '' : $stat['dev'] . ':' . $stat['ino'] . ':' . $stat['size'] . ':' . $stat['mtime'] . ':' . $stat['ctime'];
		if ( '' !== $signature && $signature === $memo['config_signature'] && is_array( $memo['config'] ) ) {
			return $memo['config'];
		}
		$config                   = self::config( $path );
		$memo['config']           = $config;
		$memo['config_signature'] = null === $config ? '' : $signature;
		$memo['read']             = null;
		$memo['changed']          = true;
		return $config;
	}

	/**
	 * Decides and stores this webhook: the answer to send (its job and log row stored), or null
	 * when WordPress should answer it.
	 *
	 * It decides on the plugin's options as this process last read them (the memo, which the
	 * extension keeps from one webhook to the next; read again after MEMO_SECONDS), so a webhook in
	 * a burst costs no read: its job is stored only if the settings are still exactly what the
	 * database holds, checked in the job's own statement (CrmHook_Sql::option_unchanged). When
	 * they changed — a new key, the lane turned off, another mode, even straight in the database —
	 * nothing is stored, and the lane reads the options and decides again. Any answer but an
	 * accept (a wrong key, a test, WordPress's turn) is decided on options read in this request,
	 * so a stale memo can neither refuse a webhook nor hand it over.
	 *
	 * @param array<string, mixed> $config The lane's configuration.
	 * @param array<string, mixed> $memo   This process's memo (recall()).
	 * @return array<string, mixed>|null
	 * @throws \PDOException When the database fails.
	 */
	private static function take( PDO $db, array $config, array $memo ): ?array {
		$prefix = (string) $config['prefix'];
		$age    = null !== $memo['read'] ? microtime( true ) - (float) $memo['read']['read_at'] : -1.0;
		$read   = $age >= 0 && $age < self::MEMO_SECONDS ? $memo['read'] : null; // A clock set back reads again.
		$fresh  = false;
		// Two passes at most: the memo's options, then what the database holds now. Settings that
		// change again between a read and the statement after it leave the webhook to WordPress.
		for ( $pass = 0; $pass < 2; $pass++ ) {
			if ( null === $read ) {
				$read  = self::read_options( $db, $config );
				$fresh = true;
			}
			$verdict = self::verdict( $db, $config, $read );
			if ( ! $fresh && ! isset( $verdict['enqueue'] ) ) {
				$read = null;
				continue;
			}
			if ( null === $verdict ) {
				break;
			}
			if ( isset( $verdict['bad_key'] ) ) {
				$verdict = self::bad_key( $db, $prefix, (string) $verdict['bad_key'] );
			}
			$outcome = isset( $verdict['enqueue'] ) ? self::store_job( $db, $prefix, $verdict ) : self::log( $db, $prefix, $verdict );
			if ( null === $outcome ) {
				$read = null; // The settings changed since they were read: nothing was stored.
				continue;
			}
			$due = false;
			if ( ! empty( $outcome['queued'] ) ) {
				// What is due after the answer, at most once a second in this process (and at once
				// when the clock was set back).
				$now                   = microtime( true );
				$outcome['lane_stale'] = ! ( $now - (float) $memo['stamped'] >= 0 && $now - (float) $memo['stamped'] < 1 );
				$outcome['kick_due']   = ! ( $now - (float) $memo['kicked'] >= 0 && $now - (float) $memo['kicked'] < 1 );
				$memo['stamped']       = $outcome['lane_stale'] ? $now : $memo['stamped'];
				$memo['kicked']        = $outcome['kick_due'] ? $now : $memo['kicked'];
				$due                   = $outcome['lane_stale'] || $outcome['kick_due'];
			}
			if ( $fresh || $due || $memo['changed'] ) {
				self::remember( $read, $memo );
			}
			return $outcome;
		}
		if ( ( $fresh && null !== $read ) || $memo['changed'] ) {
			self::remember( $read, $memo );
		}
		return null;
	}

	/**
	 * What the lane needs of the plugin's options as the database holds them now (`facts`, see
	 * facts()), the settings' SHA-1 as the database computes it (`settings_sha1`, what
	 * CrmHook_Sql::option_unchanged compares, whatever the table's character set), and when.
	 *
	 * @param array<string, mixed> $config The lane's configuration.
	 * @return array{facts: array<string, mixed>, settings_sha1: string, read_at: float}
	 * @throws \PDOException When the database fails.
	 */
	private static function read_options( PDO $db, array $config ): array {
		$read_at = microtime( true );
		$options = array();
		$sha1    = '';
		foreach ( $db->query( CrmHook_Sql::lane_options( $config['prefix'] . 'options' ) )->fetchAll( PDO::FETCH_NUM ) as [ $name, $value, $value_sha1 ] ) {
			$options[ (string) $name ] = (string) $value;
			if ( 'crmhook_settings' === $name ) {
				$sha1 = (string) $value_sha1;
			}
		}
		return array(
			'facts'         => self::facts( $options, $config ),
			'settings_sha1' => $sha1,
			'read_at'       => $read_at,
		);
	}

	/**
	 * What the options say for the lane, decided once per read (a webhook in a burst decodes
	 * none): `on` false when WordPress answers every webhook (the lane's setting off, the plugin
	 * inactive, its tables of another version, the "always immediately" mode), else the CRM, the
	 * access key and how many runners may run.
	 *
	 * @param array<string, string> $options Option name => value, as stored.
	 * @param array<string, mixed>  $config  The lane's configuration.
	 * @return array<string, mixed>
	 */
	private static function facts( array $options, array $config ): array {
		$settings = @unserialize( $options['crmhook_settings'] ?? '', array( 'allowed_classes' => false ) ); // phpcs:ignore WordPress.PHP.NoSilencedErrors, WordPress.PHP.DiscouragedPHPFunctions -- the site's own option, no objects.
		$active   = @unserialize( $options['active_plugins'] ?? '', array( 'allowed_classes' => false ) ); // phpcs:ignore WordPress.PHP.NoSilencedErrors, WordPress.PHP.DiscouragedPHPFunctions
		if ( ! is_array( $settings ) || empty( $settings['fast_lane'] ) || ! is_array( $active ) || ! in_array( $config['plugin'], $active, true )
			|| ( $options['crmhook_db_version'] ?? null ) !== $config['schema'] ) {
			return array( 'on' => false );
		}
		$mode    = ! empty( $settings['async'] ) ? 'background' : (string) ( $settings['queue_mode'] ?? 'auto' );
		$runners = (int) ( $settings['queue_runners'] ?? 0 );
		return array(
			'on'         => 'immediate' !== $mode, // The owner wants every webhook run before it is answered.
			'crm'        => (string) ( $settings['crm'] ?? '' ),
			'access_key' => (string) ( $settings['access_key'] ?? '' ),
			'runners'    => $runners > 0 ? $runners : 3,
		);
	}

	/**
	 * What to do with this webhook by the given options, with no side effect: null (WordPress
	 * answers), `['bad_key' => message]`, a test's answer, or an accept carrying its `enqueue`
	 * statement (stored only while the options are unchanged).
	 *
	 * @param array<string, mixed> $config The lane's configuration.
	 * @param array<string, mixed> $read   What the options say (read_options()).
	 * @return array<string, mixed>|null
	 */
	private static function verdict( PDO $db, array $config, array $read ): ?array {
		$prefix = (string) $config['prefix'];
		$facts  = (array) $read['facts'];
		if ( empty( $facts['on'] ) ) {
			return null;
		}
		try {
			$hook = crmhook_parse_webhook(
				self::raw_request(),
				array(
					'crm'        => (string) $facts['crm'],
					'access_key' => (string) $facts['access_key'],
				)
			);
		} catch ( \CrmHook\WebhookException $e ) {
			if ( 403 === $e->getCode() ) {
				// phpcs:ignore WordPress.Security.NonceVerification, WordPress.Security.ValidatedSanitizedInput -- only a word for the log, cut to [a-z0-9_].
				self::$log = array( 'bad_key' => true, 'crm' => (string) $facts['crm'], 'action' => substr( (string) preg_replace( '/[^a-z0-9_]/', '', strtolower( (string) $_GET['wpf_action'] ) ), 0, 32 ) );
				return array( 'bad_key' => $e->getMessage() );
			}
			// Malformed, too large, no contact id: rare, and WordPress answers them alike and
			// records them in the activity log.
			return null;
		} catch ( \Throwable $e ) {
			return null;
		}
		self::$log = array( 'crm' => (string) $hook['crm'], 'action' => (string) $hook['action'], 'contact_id' => (string) ( $hook['contact_id'] ?? '' ) );
		if ( 'test' === $hook['action'] ) {
			return array(
				'status'  => 200,
				'ok'      => true,
				'success' => true,
				'action'  => 'test',
				'message' => 'crmhook is connected: the access key is right.',
			);
		}
		if ( false === $hook['async'] ) {
			return null; // async=false: run it now, which needs WordPress.
		}
		$quote = self::quoter( $db );
		return array(
			'status'     => 202,
			'ok'         => true,
			'action'     => $hook['action'],
			'contact_id' => $hook['contact_id'],
			'user_id'    => null,
			'queued'     => true,
			'job'        => null, // store_job() fills it in.
			'message'    => 'Accepted: the webhook runs in the background.',
			'runners'    => (int) $facts['runners'],
			'enqueue'    => CrmHook_Sql::enqueue( $prefix . 'crmhook_queue', $hook, $quote, CrmHook_Sql::option_unchanged( $prefix . 'options', 'crmhook_settings', (string) $read['settings_sha1'], $quote ) ),
		);
	}

	/**
	 * This process's memo for this site (crmhook_lane_memo()): the configuration and its file's
	 * signature (configured()), what the options said when last read (`read`: read_options()), and
	 * when this process last stamped an accept and tried to start a runner. `changed` (not kept)
	 * says this request changed it.
	 *
	 * @return array<string, mixed>
	 */
	private static function recall(): array {
		$raw  = function_exists( 'crmhook_lane_memo' ) ? crmhook_lane_memo() : null;
		$memo = null === $raw ? null : @unserialize( $raw, array( 'allowed_classes' => false ) ); // phpcs:ignore WordPress.PHP.NoSilencedErrors, WordPress.PHP.DiscouragedPHPFunctions -- our own memo, no objects.
		$none = array(
			'config_signature' => '',
			'config'           => null,
			'read'             => null,
			'stamped'          => 0.0,
			'kicked'           => 0.0,
		);
		if ( ! is_array( $memo ) ) {
			return array( 'changed' => false ) + $none;
		}
		$read = $memo['read'] ?? null;
		if ( ! is_array( $read ) || ! is_array( $read['facts'] ?? null ) || ! is_string( $read['settings_sha1'] ?? null ) || ! is_float( $read['read_at'] ?? null ) ) {
			$memo['read'] = null;
		}
		if ( ! is_string( $memo['config_signature'] ?? null ) || ! is_array( $memo['config'] ?? null ) ) {
			$memo['config_signature'] = '';
			$memo['config']           = null;
		}
		return array( 'changed' => false ) + $memo + $none;
	}

	/**
	 * Keeps the memo for the next webhook this process gets.
	 *
	 * @param array<string, mixed>|null $read What the options said (read_options()), if read.
	 * @param array<string, mixed>      $memo The memo, with this process's times.
	 */
	private static function remember( ?array $read, array $memo ): void {
		if ( ! function_exists( 'crmhook_lane_remember' ) ) {
			return;
		}
		$memo = array(
			'config_signature' => $memo['config_signature'],
			'config'           => $memo['config'],
			'read'             => $read,
			'stamped'          => $memo['stamped'],
			'kicked'           => $memo['kicked'],
		);
		crmhook_lane_remember( serialize( $memo ) ); // phpcs:ignore WordPress.PHP.DiscouragedPHPFunctions -- read back with allowed_classes false.
	}

	/**
	 * Writes the log row of an answer that stores no job (a test, a refusal). A row that cannot be
	 * written never changes the answer.
	 *
	 * @param array<string, mixed> $outcome The answer, with its HTTP status.
	 * @return array<string, mixed> The answer.
	 */
	private static function log( PDO $db, string $prefix, array $outcome ): array {
		try {
			$db->exec( self::log_statement( $db, $prefix, $outcome ) );
		} catch ( \Throwable $e ) {
			unset( $e ); // The database went away after the answer was decided.
		}
		return $outcome;
	}

	/**
	 * Stores an accept: the job, then its log row, in one round trip to the database (the row
	 * names the job by LAST_INSERT_ID() and is written only if the job was; the job's id is read
	 * from the first statement's answer, before the second's is). Returns the answer with the
	 * job's id, a logged 503 when the database refused the job, or null when the job's statement
	 * stored nothing because the settings it was decided on have changed (nothing was written).
	 *
	 * @param array<string, mixed> $outcome The accept, with its `enqueue` statement.
	 * @return array<string, mixed>|null
	 */
	private static function store_job( PDO $db, string $prefix, array $outcome ): ?array {
		$enqueue = (string) $outcome['enqueue'];
		unset( $outcome['enqueue'] );
		try {
			$both           = $db->query( $enqueue . ";\n" . self::log_statement( $db, $prefix, array( 'job' => CrmHook_Sql::last_insert_id() ) + $outcome, CrmHook_Sql::previous_wrote() ) );
			$stored         = $both->rowCount() > 0;
			$outcome['job'] = (int) $db->lastInsertId();
		} catch ( \Throwable $e ) {
			// The job was not stored: the CRM must see a failure (and the log says so).
			return self::log( $db, $prefix, self::refusal( 503, 'The webhook could not be queued (database error); it was not accepted.' ) );
		}
		try {
			while ( $both->nextRowset() ) {
				continue; // The log row's result (or its error, which changes nothing).
			}
		} catch ( \Throwable $e ) {
			unset( $e );
		}
		return $stored ? $outcome : null;
	}

	/**
	 * The statement that writes the webhook's row in the log (CrmHook_Log's table, through the same
	 * statements as WordPress's path). The lane runs it before the answer goes out, as the normal
	 * path does: every answer a CRM got has its row.
	 *
	 * @param array<string, mixed> $outcome The answer, with its HTTP status (and `job`: an id or
	 *                                      CrmHook_Sql::last_insert_id()).
	 * @param string               $only_if A condition for the row (CrmHook_Sql::log_row()).
	 */
	private static function log_statement( PDO $db, string $prefix, array $outcome, string $only_if = '' ): string {
		$table    = $prefix . 'crmhook_log';
		$status   = (int) $outcome['status'];
		$started  = (float) ( $_SERVER['REQUEST_TIME_FLOAT'] ?? microtime( true ) ); // phpcs:ignore WordPress.Security.ValidatedSanitizedInput
		$duration = (int) round( ( microtime( true ) - $started ) * 1000 );
		$address  = (string) ( $_SERVER['REMOTE_ADDR'] ?? '' ); // phpcs:ignore WordPress.Security.ValidatedSanitizedInput
		$quote    = self::quoter( $db );
		$log      = self::$log;
		if ( ! empty( $log['bad_key'] ) ) {
			return CrmHook_Sql::log_bad_key( $table, CrmHook_Sql::log_network( $address ), $status, (string) $outcome['message'], (string) $log['action'], (string) $log['crm'], $duration, $quote );
		}
		$outcomes = array(
			200 => 'test',
			202 => 'queued',
		);
		return CrmHook_Sql::log_row(
			$table,
			array(
				'time'        => CrmHook_Sql::log_time(),
				'crm'         => substr( (string) ( $log['crm'] ?? '' ), 0, 32 ),
				'action'      => substr( (string) ( $log['action'] ?? '' ), 0, 32 ),
				'contact_id'  => substr( (string) ( $log['contact_id'] ?? '' ), 0, 64 ),
				'email'       => '',
				'status'      => $status,
				'outcome'     => $outcomes[ $status ] ?? 'failed',
				'duration_ms' => max( 0, $duration ),
				'api_calls'   => 0,
				'message'     => (string) $outcome['message'] . ' (fast lane)',
				'via'         => 'webhook',
				'job_id'      => $outcome['job'] ?? null,
				'address'     => substr( $address, 0, 64 ),
			),
			$quote,
			$only_if
		);
	}

	/**
	 * After the answer went out: the time of this accept for the settings screen, and a runner
	 * started when a slot is free (the same booking WordPress's path makes, once a second across
	 * every server). Each at most once a second in this process (take() says when it is due): in
	 * a burst, a few statements a second in all, not a few per webhook.
	 *
	 * @param array<string, mixed> $config  The lane's configuration.
	 * @param array<string, mixed> $outcome The accept, with what is due.
	 */
	private static function after_accept( PDO $db, array $config, array $outcome ): void {
		$budget = $config['prefix'] . 'crmhook_budget';
		try {
			if ( ! empty( $outcome['lane_stale'] ) ) {
				$db->exec( CrmHook_Sql::lane_accepted( $budget ) );
			}
			if ( ! empty( $outcome['kick_due'] ) && '1' === (string) $db->query( CrmHook_Sql::runner_slot_free( (int) $outcome['runners'] ) )->fetchColumn() ) {
				[ $insert, $book ] = CrmHook_Sql::kick( $budget );
				$db->exec( $insert );
				if ( $db->exec( $book ) > 0 ) {
					self::knock( (string) ( $config['runner_url'] ?? '' ) );
				}
			}
		} catch ( \PDOException $e ) {
			// The job is stored; the next webhook, WP-Cron or the CLI runner starts a runner.
			unset( $e );
		}
	}

	/**
	 * A wrong or missing key: 403, or 429 once an address has sent too many (the same counter
	 * the normal path keeps, so the two ways in share one limit).
	 *
	 * @return array<string, mixed>
	 */
	private static function bad_key( PDO $db, string $prefix, string $message ): array {
		$table   = $prefix . 'crmhook_throttle';
		$address = (string) ( $_SERVER['REMOTE_ADDR'] ?? '' ); // phpcs:ignore WordPress.Security.ValidatedSanitizedInput
		$bucket  = CrmHook_Sql::bad_key_bucket( $address );
		$minute  = intdiv( time(), 60 );
		$quote   = self::quoter( $db );
		$bumped  = $db->exec( CrmHook_Sql::bad_key_bump( $table, $bucket, $minute, $address, $quote ) );
		$now     = 1 === $bumped ? 1 : (int) $db->lastInsertId();
		if ( 1 === $now ) {
			$db->exec( CrmHook_Sql::bad_key_prune( $table, $minute, self::BAD_KEY_WINDOW ) );
		}
		$count = $now + (int) $db->query( CrmHook_Sql::bad_key_earlier( $table, $bucket, $minute, self::BAD_KEY_WINDOW ) )->fetchColumn();
		if ( $count > self::BAD_KEY_LIMIT ) {
			return self::refusal( 429, 'Too many requests with a wrong access key from this address: try again later.' );
		}
		return self::refusal( 403, $message );
	}

	/**
	 * Connects to the site's database as wp-config.php does (the lane's configuration holds what
	 * the plugin read there), failing fast when it is down. A persistent connection: a php-fpm
	 * worker keeps it from one webhook to the next, and PDO checks it with one ping where mysqli
	 * would re-authenticate (two round trips) — in a burst, the round trips are the lane's cost.
	 * The lane keeps no state on it between requests (no transaction, lock or variable).
	 *
	 * @param array<string, mixed> $db Host, port, socket, user, password, name, charset.
	 * @throws \PDOException When the database cannot be reached.
	 */
	private static function connect( array $db ): PDO {
		$socket = (string) ( $db['socket'] ?? '' );
		$port   = (int) ( $db['port'] ?? 0 );
		$where  = '' !== $socket ? 'unix_socket=' . $socket : 'host=' . (string) $db['host'] . ( $port > 0 ? ';port=' . $port : '' );
		return new PDO(
			'mysql:' . $where . ';dbname=' . (string) $db['name'] . ';charset=' . (string) ( $db['charset'] ?? 'utf8mb4' ),
			(string) $db['user'],
			(string) $db['password'],
			array(
				PDO::ATTR_PERSISTENT       => true,
				PDO::ATTR_ERRMODE          => PDO::ERRMODE_EXCEPTION,
				PDO::ATTR_TIMEOUT          => self::CONNECT_TIMEOUT,
				// Statements are sent as text (quoted by PDO::quote), two at once for an accept.
				PDO::ATTR_EMULATE_PREPARES => true,
			)
		);
	}

	/**
	 * Quotes a text value as an SQL literal on this connection, for CrmHook_Sql's builders.
	 *
	 * @return callable(string): string
	 */
	private static function quoter( PDO $db ): callable {
		return static fn( string $text ): string => (string) $db->quote( $text );
	}

	/**
	 * The raw request, for crmhook_parse_webhook() (as CrmHook_Endpoint builds it; no slashes
	 * to remove here, WordPress has not added them yet).
	 *
	 * @return array<string, mixed>
	 */
	private static function raw_request(): array {
		$type    = (string) ( $_SERVER['CONTENT_TYPE'] ?? '' );
		$request = array(
			'method'       => (string) ( $_SERVER['REQUEST_METHOD'] ?? 'GET' ),
			'query'        => (string) ( $_SERVER['QUERY_STRING'] ?? '' ),
			'body'         => (string) file_get_contents( 'php://input' ), // phpcs:ignore WordPress.WP.AlternativeFunctions
			'content_type' => $type,
			'headers'      => array(),
		);
		if ( isset( $_SERVER['HTTP_X_CRMHOOK_KEY'] ) ) {
			$request['headers']['x-crmhook-key'] = (string) $_SERVER['HTTP_X_CRMHOOK_KEY']; // phpcs:ignore WordPress.Security.ValidatedSanitizedInput
		}
		if ( str_starts_with( strtolower( $type ), 'multipart/' ) ) {
			$request['form'] = $_POST; // phpcs:ignore WordPress.Security.NonceVerification
		}
		return $request;
	}

	/**
	 * A refusal.
	 *
	 * @return array<string, mixed>
	 */
	private static function refusal( int $status, string $message ): array {
		return array(
			'status'  => $status,
			'ok'      => false,
			'queued'  => false,
			'message' => $message,
		);
	}

	/**
	 * Sends the JSON answer with the headers WordPress's path sends (nothing may cache it), and
	 * hands the connection back to the web server before any work that follows.
	 *
	 * @param array<string, mixed> $outcome The outcome, with its HTTP status.
	 */
	private static function respond( array $outcome ): void {
		$status = (int) $outcome['status'];
		unset( $outcome['status'], $outcome['runners'], $outcome['lane_stale'], $outcome['kick_due'] );
		http_response_code( $status );
		header( 'Cache-Control: no-store, no-cache, must-revalidate, max-age=0' );
		header( 'Expires: Wed, 11 Jan 1984 05:00:00 GMT' );
		header( 'Content-Type: application/json; charset=utf-8' );
		header( 'X-Robots-Tag: noindex' );
		// Which path answered, for the site owner's checks and the tests; no detail of the site.
		header( 'X-Crmhook-Lane: 1' );
		echo json_encode( $outcome ); // phpcs:ignore WordPress.WP.AlternativeFunctions, WordPress.Security.EscapeOutput -- JSON, no WordPress here.
		if ( function_exists( 'fastcgi_finish_request' ) ) {
			fastcgi_finish_request();
		}
	}

	/**
	 * Sends `GET $url` and waits only for the status line: starts a queue runner, which answers
	 * before it works. A failure is not an error (WP-Cron and the CLI runner cover it).
	 */
	public static function knock( string $url ): void {
		$parts = parse_url( $url ); // phpcs:ignore WordPress.WP.AlternativeFunctions -- also runs without WordPress.
		if ( ! is_array( $parts ) || empty( $parts['host'] ) ) {
			return;
		}
		$https  = 'https' === ( $parts['scheme'] ?? 'http' );
		$port   = (int) ( $parts['port'] ?? ( $https ? 443 : 80 ) );
		$target = ( $https ? 'ssl://' : 'tcp://' ) . $parts['host'] . ':' . $port;
		$errno  = 0;
		$error  = '';
		$socket = @stream_socket_client( $target, $errno, $error, 1.0 ); // phpcs:ignore WordPress.PHP.NoSilencedErrors -- a failed kick is not an error: cron runs the queue.
		if ( ! $socket ) {
			return;
		}
		$path = ( $parts['path'] ?? '/' ) . '?' . ( $parts['query'] ?? '' );
		$host = $parts['host'] . ( isset( $parts['port'] ) ? ':' . $parts['port'] : '' );
		stream_set_timeout( $socket, 2 );
		fwrite( $socket, "GET {$path} HTTP/1.1\r\nHost: {$host}\r\nUser-Agent: crmhook-runner\r\nConnection: close\r\n\r\n" ); // phpcs:ignore WordPress.WP.AlternativeFunctions
		fgets( $socket, 128 );
		fclose( $socket ); // phpcs:ignore WordPress.WP.AlternativeFunctions
	}
}
