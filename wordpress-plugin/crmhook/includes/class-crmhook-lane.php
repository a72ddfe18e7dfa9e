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
		if ( ! isset( $_GET['wpf_action'] ) || ! function_exists( 'crmhook_parse_webhook' ) || ! class_exists( 'mysqli' ) ) {
			return;
		}
		$config = self::config( $config_path );
		if ( null === $config ) {
			return;
		}
		$driver = new mysqli_driver();
		$report = $driver->report_mode;
		$driver->report_mode = MYSQLI_REPORT_ERROR | MYSQLI_REPORT_STRICT;
		$db = null;
		try {
			$db = self::connect( $config['db'] );
			$outcome = self::accept( $db, $config );
		} catch ( \mysqli_sql_exception $e ) {
			// The database is down or refused the job: the CRM must see a failure, never a 202.
			$outcome = self::refusal( 503, 'The webhook could not be stored (database unavailable); it was not accepted.' );
		} catch ( \Throwable $e ) {
			// A bug or an unexpected configuration must not cost the webhook: WordPress answers it.
			$outcome = null;
		} finally {
			$driver->report_mode = $report;
		}
		if ( null === $outcome ) {
			if ( $db ) {
				$db->close();
			}
			return; // WordPress answers.
		}
		if ( $db ) {
			self::log( $db, (string) $config['prefix'], $outcome );
		}
		self::respond( $outcome );
		if ( $db && ! empty( $outcome['queued'] ) ) {
			self::after_accept( $db, $config, (int) $outcome['runners'] );
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
	 * The outcome for this webhook, or null when WordPress should answer it.
	 *
	 * @param array<string, mixed> $config The lane's configuration.
	 * @return array<string, mixed>|null
	 * @throws \mysqli_sql_exception When the database fails.
	 */
	private static function accept( mysqli $db, array $config ): ?array {
		$prefix  = (string) $config['prefix'];
		$options = array();
		// One query: the settings (the key as saved this instant), whether the plugin is active,
		// and whether its tables are the version this code writes.
		$result = $db->query( "SELECT option_name, option_value FROM {$prefix}options WHERE option_name IN ('crmhook_settings', 'active_plugins', 'crmhook_db_version')" );
		foreach ( $result->fetch_all() as [ $name, $value ] ) {
			$options[ $name ] = $value;
		}
		$settings = @unserialize( (string) ( $options['crmhook_settings'] ?? '' ), array( 'allowed_classes' => false ) ); // phpcs:ignore WordPress.PHP.NoSilencedErrors, WordPress.PHP.DiscouragedPHPFunctions -- the site's own option, no objects.
		$active   = @unserialize( (string) ( $options['active_plugins'] ?? '' ), array( 'allowed_classes' => false ) ); // phpcs:ignore WordPress.PHP.NoSilencedErrors, WordPress.PHP.DiscouragedPHPFunctions
		if ( ! is_array( $settings ) || empty( $settings['fast_lane'] ) || ! is_array( $active ) || ! in_array( $config['plugin'], $active, true )
			|| ( $options['crmhook_db_version'] ?? null ) !== $config['schema'] ) {
			return null;
		}
		$mode = ! empty( $settings['async'] ) ? 'background' : (string) ( $settings['queue_mode'] ?? 'auto' );
		if ( 'immediate' === $mode ) {
			return null; // The owner wants every webhook run before it is answered.
		}
		try {
			$hook = crmhook_parse_webhook(
				self::raw_request(),
				array(
					'crm'        => (string) ( $settings['crm'] ?? '' ),
					'access_key' => (string) ( $settings['access_key'] ?? '' ),
				)
			);
		} catch ( \CrmHook\WebhookException $e ) {
			if ( 403 === $e->getCode() ) {
				// phpcs:ignore WordPress.Security.NonceVerification, WordPress.Security.ValidatedSanitizedInput -- only a word for the log, cut to [a-z0-9_].
				self::$log = array( 'bad_key' => true, 'crm' => (string) ( $settings['crm'] ?? '' ), 'action' => substr( (string) preg_replace( '/[^a-z0-9_]/', '', strtolower( (string) $_GET['wpf_action'] ) ), 0, 32 ) );
				return self::bad_key( $db, $prefix, $e->getMessage() );
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
		$quote = static fn( string $text ): string => "'" . $db->real_escape_string( $text ) . "'";
		$db->query( CrmHook_Sql::enqueue( $prefix . 'crmhook_queue', $hook, $quote ) );
		$job = (int) $db->insert_id;
		if ( $job <= 0 ) {
			return self::refusal( 503, 'The webhook could not be queued (database error); it was not accepted.' );
		}
		$runners = (int) ( $settings['queue_runners'] ?? 0 );
		return array(
			'status'     => 202,
			'ok'         => true,
			'action'     => $hook['action'],
			'contact_id' => $hook['contact_id'],
			'user_id'    => null,
			'queued'     => true,
			'job'        => $job,
			'message'    => 'Accepted: the webhook runs in the background.',
			'runners'    => $runners > 0 ? $runners : 3,
		);
	}

	/**
	 * The webhook's row in the log (CrmHook_Log's table, through the same statements), written
	 * before the answer goes out as the normal path does: every answer a CRM got has its row.
	 * A log that cannot be written never changes the answer.
	 *
	 * @param array<string, mixed> $outcome The answer, with its HTTP status.
	 */
	private static function log( mysqli $db, string $prefix, array $outcome ): void {
		$table    = $prefix . 'crmhook_log';
		$status   = (int) $outcome['status'];
		$started  = (float) ( $_SERVER['REQUEST_TIME_FLOAT'] ?? microtime( true ) ); // phpcs:ignore WordPress.Security.ValidatedSanitizedInput
		$duration = (int) round( ( microtime( true ) - $started ) * 1000 );
		$address  = (string) ( $_SERVER['REMOTE_ADDR'] ?? '' ); // phpcs:ignore WordPress.Security.ValidatedSanitizedInput
		$quote    = static fn( string $text ): string => "'" . $db->real_escape_string( $text ) . "'";
		$log      = self::$log;
		try {
			if ( ! empty( $log['bad_key'] ) ) {
				$db->query( CrmHook_Sql::log_bad_key( $table, CrmHook_Sql::log_network( $address ), $status, (string) $outcome['message'], (string) $log['action'], (string) $log['crm'], $duration, $quote ) );
				return;
			}
			$outcomes = array(
				200 => 'test',
				202 => 'queued',
			);
			$db->query(
				CrmHook_Sql::log_row(
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
						'job_id'      => isset( $outcome['job'] ) ? (int) $outcome['job'] : null,
						'address'     => substr( $address, 0, 64 ),
					),
					$quote
				)
			);
		} catch ( \Throwable $e ) {
			// The database went away after the answer was decided (a 503 says so already).
			unset( $e );
		}
	}

	/**
	 * After the answer went out: the time of this accept for the settings screen, and a runner
	 * started when a slot is free (the same booking WordPress's path makes, once a second).
	 *
	 * @param array<string, mixed> $config The lane's configuration.
	 */
	private static function after_accept( mysqli $db, array $config, int $runners ): void {
		$budget = $config['prefix'] . 'crmhook_budget';
		try {
			$db->query( CrmHook_Sql::lane_accepted( $budget ) );
			if ( '1' === (string) $db->query( CrmHook_Sql::runner_slot_free( $runners ) )->fetch_row()[0] ) {
				[ $insert, $book ] = CrmHook_Sql::kick( $budget );
				$db->query( $insert );
				$db->query( $book );
				if ( $db->affected_rows > 0 ) {
					self::knock( (string) ( $config['runner_url'] ?? '' ) );
				}
			}
		} catch ( \mysqli_sql_exception $e ) {
			// The job is stored; the next webhook, WP-Cron or the CLI runner starts a runner.
		}
		$db->close();
	}

	/**
	 * A wrong or missing key: 403, or 429 once an address has sent too many (the same counter
	 * the normal path keeps, so the two ways in share one limit).
	 *
	 * @return array<string, mixed>
	 */
	private static function bad_key( mysqli $db, string $prefix, string $message ): array {
		$table   = $prefix . 'crmhook_throttle';
		$address = (string) ( $_SERVER['REMOTE_ADDR'] ?? '' ); // phpcs:ignore WordPress.Security.ValidatedSanitizedInput
		$bucket  = CrmHook_Sql::bad_key_bucket( $address );
		$minute  = intdiv( time(), 60 );
		$quote   = static fn( string $text ): string => "'" . $db->real_escape_string( $text ) . "'";
		$db->query( CrmHook_Sql::bad_key_bump( $table, $bucket, $minute, $address, $quote ) );
		$now = 1 === $db->affected_rows ? 1 : (int) $db->insert_id;
		if ( 1 === $now ) {
			$db->query( CrmHook_Sql::bad_key_prune( $table, $minute, self::BAD_KEY_WINDOW ) );
		}
		$count = $now + (int) $db->query( CrmHook_Sql::bad_key_earlier( $table, $bucket, $minute, self::BAD_KEY_WINDOW ) )->fetch_row()[0];
		if ( $count > self::BAD_KEY_LIMIT ) {
			return self::refusal( 429, 'Too many requests with a wrong access key from this address: try again later.' );
		}
		return self::refusal( 403, $message );
	}

	/**
	 * Connects to the site's database as wp-config.php does (the lane's configuration holds what
	 * the plugin read there), failing fast when it is down.
	 *
	 * @param array<string, mixed> $db Host, port, socket, user, password, name, charset.
	 * @throws \mysqli_sql_exception When the database cannot be reached.
	 */
	private static function connect( array $db ): mysqli {
		$link = mysqli_init();
		$link->options( MYSQLI_OPT_CONNECT_TIMEOUT, self::CONNECT_TIMEOUT );
		$link->real_connect( (string) $db['host'], (string) $db['user'], (string) $db['password'], (string) $db['name'], (int) ( $db['port'] ?? 0 ) ?: null, '' !== (string) ( $db['socket'] ?? '' ) ? (string) $db['socket'] : null );
		$link->set_charset( (string) ( $db['charset'] ?? 'utf8mb4' ) );
		return $link;
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
		unset( $outcome['status'], $outcome['runners'] );
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
