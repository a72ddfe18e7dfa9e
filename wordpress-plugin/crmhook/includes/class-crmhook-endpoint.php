<?php
/**
 * The webhook endpoint: any URL of the site with `?wpf_action=…`.
 *
 * @package crmhook
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

/**
 * Hands the raw request to the extension, runs the flow, answers JSON and exits before the
 * theme renders anything.
 */
final class CrmHook_Endpoint {

	/** Where a webhook runs: in the queue, or inline in the request that brought it. */
	const MODES = array( 'auto', 'background', 'immediate' );

	/** @var array<string, mixed>|null A webhook accepted early that runs inline once WordPress is ready. */
	private static ?array $inline = null;

	/** @var bool Whether this request holds the inline lock (automatic mode). */
	private static bool $inline_lock = false;

	/** @var bool Whether automatic mode chose inline (so a transient CRM failure may still queue). */
	private static bool $inline_by_choice = false;

	/**
	 * @var array<string, mixed> What the webhook log needs to know beyond the answer: the parsed
	 *                           webhook's CRM, action and contact, the outcome word, the notices.
	 */
	private static array $log = array();

	/** Bad keys one address may send in BAD_KEY_WINDOW minutes before it gets 429s. */
	const BAD_KEY_LIMIT  = 20;
	const BAD_KEY_WINDOW = 10;

	/**
	 * Accepts a webhook as early as the plugin can: when its main file loads, the database and
	 * the options are ready, and a webhook that goes to the queue needs nothing more (no `init`,
	 * no theme, no other plugin's setup). Refusals are answered here too. A webhook that runs
	 * inline waits for `init` (users, roles and pluggable functions).
	 */
	public static function accept_early(): void {
		if ( ! CrmHook_Plugin::extension_loaded() || ! self::is_webhook() ) {
			return;
		}
		try {
			$outcome = self::handle();
		} catch ( \Throwable $e ) {
			error_log( 'crmhook: ' . get_class( $e ) . ': ' . $e->getMessage() . ' in ' . $e->getFile() . ':' . $e->getLine() ); // phpcs:ignore WordPress.PHP.DevelopmentFunctions
			$outcome = self::refusal( 500, __( 'crmhook hit an internal error; the site\'s PHP error log has the details.', 'crmhook' ) );
		}
		if ( null !== $outcome ) {
			self::respond( $outcome );
		}
	}

	/**
	 * Handles the request when it is a webhook (on `init`); otherwise does nothing.
	 */
	public static function maybe_handle(): void {
		if ( null === self::$inline && ! self::is_webhook() ) {
			return;
		}
		$outcome = null;
		try {
			if ( null === self::$inline ) {
				$outcome = self::handle();
			}
			$outcome = $outcome ?? self::run_inline( (array) self::$inline );
		} catch ( \Throwable $e ) {
			// Never WordPress's HTML error page: a CRM reads JSON. The details go to the PHP log.
			error_log( 'crmhook: ' . get_class( $e ) . ': ' . $e->getMessage() . ' in ' . $e->getFile() . ':' . $e->getLine() ); // phpcs:ignore WordPress.PHP.DevelopmentFunctions
			$outcome = self::refusal( 500, __( 'crmhook hit an internal error; the site\'s PHP error log has the details.', 'crmhook' ) );
		}
		self::respond( $outcome );
	}

	/**
	 * A webhook carries `wpf_action` in the query or a form body, or (FunnelKit's "Send as
	 * JSON") in a JSON body POSTed to the site's front URL. The body of any other request (a
	 * page load, a REST API call) is never read here, and a REST call whose JSON happens to
	 * hold "wpf_action" is never taken over.
	 */
	private static function is_webhook(): bool {
		// phpcs:disable WordPress.Security.NonceVerification -- authenticated by the access key.
		if ( isset( $_GET['wpf_action'] ) || isset( $_POST['wpf_action'] ) ) {
			return true;
		}
		if ( 'POST' !== ( $_SERVER['REQUEST_METHOD'] ?? '' ) || isset( $_GET['rest_route'] ) ) {
			return false;
		}
		// phpcs:enable
		$type = strtolower( (string) ( $_SERVER['CONTENT_TYPE'] ?? '' ) );
		if ( ! str_contains( $type, 'json' ) || ! self::is_front_url() ) {
			return false;
		}
		return str_contains( (string) file_get_contents( 'php://input', false, null, 0, 65536 ), '"wpf_action"' );
	}

	/**
	 * True when the request's path is the site's home URL (or its index.php).
	 */
	private static function is_front_url(): bool {
		$path = (string) wp_parse_url( (string) ( $_SERVER['REQUEST_URI'] ?? '/' ), PHP_URL_PATH ); // phpcs:ignore WordPress.Security.ValidatedSanitizedInput
		$home = trailingslashit( (string) wp_parse_url( home_url( '/' ), PHP_URL_PATH ) );
		return in_array( $path, array( $home, untrailingslashit( $home ), $home . 'index.php' ), true );
	}

	/**
	 * The webhook's outcome, or null when it runs inline (then self::$inline holds it).
	 *
	 * @return array<string, mixed>|null
	 */
	private static function handle(): ?array {
		if ( ! CrmHook_Plugin::extension_loaded() ) {
			return self::refusal( 503, __( 'crmhook cannot answer webhooks: the crmhook PHP extension is not loaded on this site.', 'crmhook' ) );
		}
		$settings  = CrmHook_Settings::all();
		self::$log = array(
			'crm'    => (string) $settings['crm'],
			// The action asked for, until the extension has parsed it: refusals are logged with it.
			'action' => isset( $_REQUEST['wpf_action'] ) ? sanitize_key( (string) wp_unslash( $_REQUEST['wpf_action'] ) ) : '', // phpcs:ignore WordPress.Security.NonceVerification
		);
		try {
			$hook = crmhook_parse_webhook(
				self::raw_request(),
				array(
					'crm'        => $settings['crm'],
					'access_key' => $settings['access_key'],
				)
			);
		} catch ( \CrmHook\WebhookException $e ) {
			if ( 403 === $e->getCode() ) {
				return self::bad_key( $e->getMessage() );
			}
			return self::refusal( (int) $e->getCode(), $e->getMessage() );
		}
		self::$log = array(
			'crm'        => (string) $hook['crm'],
			'action'     => (string) $hook['action'],
			'contact_id' => $hook['contact_id'] ?? '',
			'email'      => $hook['email'] ?? '',
		);

		if ( 'test' === $hook['action'] ) {
			self::$log['outcome'] = 'test';
			return array(
				'status'  => 200,
				'ok'      => true,
				'success' => true,
				'action'  => 'test',
				'message' => __( 'crmhook is connected: the access key is right.', 'crmhook' ),
			);
		}

		// An unsubscribe is rare, and a queued job of the contact would merge with it: it runs at once.
		if ( CrmHook_Unsubscribe::is_unsubscribe( (string) $hook['action'] ) ) {
			self::$inline = $hook;
			return null;
		}
		if ( self::goes_to_queue( $hook, $settings ) ) {
			return self::queue( $hook );
		}
		self::$inline = $hook;
		return null;
	}

	/**
	 * Queue or inline. `async=true|false` in the URL decides; else the setting: always in the
	 * background, always immediately, or automatic (the default): inline when the site is idle
	 * (no other webhook inline, nothing queued or running, the CRM's budget free), so a lone
	 * webhook gets its full answer, and queued otherwise, so a burst is answered at once and
	 * drained at the CRM's pace.
	 *
	 * @param array<string, mixed> $hook     The parsed webhook.
	 * @param array<string, mixed> $settings The settings.
	 */
	private static function goes_to_queue( array $hook, array $settings ): bool {
		global $wpdb;
		if ( null !== $hook['async'] ) {
			return (bool) $hook['async'];
		}
		$mode = in_array( $settings['queue_mode'] ?? 'auto', self::MODES, true ) ? $settings['queue_mode'] : 'auto';
		if ( ! empty( $settings['async'] ) ) {
			$mode = 'background'; // The setting of 0.1: "answer at once, process after".
		}
		if ( 'auto' !== $mode ) {
			return 'background' === $mode;
		}
		if ( '1' !== (string) $wpdb->get_var( $wpdb->prepare( 'SELECT GET_LOCK(%s, 0)', CrmHook_Runner::INLINE_LOCK ) ) ) {
			return true;
		}
		self::$inline_lock = true;
		if ( CrmHook_Queue::busy() || CrmHook_Queue::budget_wait( (string) $hook['crm'] ) > 1.0 ) {
			self::release_inline_lock();
			return true;
		}
		self::$inline_by_choice = true;
		return false;
	}

	/**
	 * Lets the next webhook run inline.
	 */
	private static function release_inline_lock(): void {
		global $wpdb;
		if ( self::$inline_lock ) {
			$wpdb->query( $wpdb->prepare( 'SELECT RELEASE_LOCK(%s)', CrmHook_Runner::INLINE_LOCK ) );
			self::$inline_lock = false;
		}
	}

	/**
	 * Runs a webhook in this request and answers with what happened.
	 *
	 * @param array<string, mixed> $hook The parsed webhook.
	 * @return array<string, mixed>
	 */
	private static function run_inline( array $hook ): array {
		try {
			$outcome = CrmHook_Runner::execute( $hook, false );
		} finally {
			self::release_inline_lock();
		}
		self::$log['notices'] = $outcome['notices'];
		if ( ! empty( $outcome['transient'] ) && self::$inline_by_choice ) {
			// The CRM was slow, limiting or down. CRMs do not resend a failed webhook (and
			// ActiveCampaign gives up after 5 s), so in automatic mode the webhook is kept and
			// retried from the queue rather than answered 502/504 and lost. A URL with
			// async=false, or the "always immediately" setting, still gets the failure itself.
			self::$log['notices'][] = $outcome['message'];
			return self::queue( $hook );
		}
		if ( 429 === $outcome['status'] ) {
			$outcome['status'] = 502; // The CRM's rate limit is the CRM failing, for the caller.
		}
		self::$log['outcome'] = $outcome['result'] ?? null;
		unset( $outcome['notices'], $outcome['transient'], $outcome['retry_after'], $outcome['result'] );
		return $outcome;
	}

	/**
	 * Writes the webhook to the queue (one statement) and answers 202; after the answer is sent,
	 * logs it and makes sure a runner is on its way. A webhook the database did not take is
	 * answered 503, never 202: the CRM then knows it was not accepted.
	 *
	 * @param array<string, mixed> $hook The parsed webhook.
	 * @return array<string, mixed>
	 */
	private static function queue( array $hook ): array {
		$job = CrmHook_Queue::enqueue( $hook );
		if ( null === $job ) {
			return self::refusal( 503, __( 'The webhook could not be queued (database error); it was not accepted.', 'crmhook' ) );
		}
		register_shutdown_function( array( 'CrmHook_Runner', 'kick' ) );
		self::$log['outcome'] = 'queued';
		self::$log['job_id']  = $job['id'];
		self::$log['detail']  = $job['merged']
			/* translators: 1: contact id, 2: job id */
			? sprintf( __( 'Contact %1$s: merged into waiting job %2$d.', 'crmhook' ), $hook['contact_id'], $job['id'] )
			/* translators: 1: contact id, 2: job id */
			: sprintf( __( 'Contact %1$s: queued as job %2$d.', 'crmhook' ), $hook['contact_id'], $job['id'] );
		return array(
			'status'     => 202,
			'ok'         => true,
			'action'     => $hook['action'],
			'contact_id' => $hook['contact_id'],
			'user_id'    => null,
			'queued'     => true,
			'job'        => $job['id'],
			'message'    => __( 'Accepted: the webhook runs in the background.', 'crmhook' ),
		);
	}

	/**
	 * The raw request, for crmhook_parse_webhook().
	 *
	 * @return array<string, mixed>
	 */
	private static function raw_request(): array {
		$type    = (string) ( $_SERVER['CONTENT_TYPE'] ?? '' );
		$request = array(
			'method'       => (string) ( $_SERVER['REQUEST_METHOD'] ?? 'GET' ),
			'query'        => (string) ( $_SERVER['QUERY_STRING'] ?? '' ),
			'body'         => (string) file_get_contents( 'php://input' ),
			'content_type' => $type,
			'headers'      => array(),
		);
		if ( isset( $_SERVER['HTTP_X_CRMHOOK_KEY'] ) ) {
			$request['headers']['x-crmhook-key'] = (string) $_SERVER['HTTP_X_CRMHOOK_KEY'];
		}
		// PHP keeps no raw body for multipart forms; WordPress has slashed $_POST.
		if ( str_starts_with( strtolower( $type ), 'multipart/' ) ) {
			$request['form'] = wp_unslash( $_POST ); // phpcs:ignore WordPress.Security.NonceVerification
		}
		return $request;
	}

	/**
	 * A wrong or missing key: 403, or 429 once an address has sent too many. Counted only
	 * after a key fails, so webhooks with the right key never pay for the counter; a guess
	 * costs one atomic upsert of a small table (CrmHook_Throttle), never an option write.
	 *
	 * @return array<string, mixed>
	 */
	private static function bad_key( string $message ): array {
		$count               = CrmHook_Throttle::count_bad_key( self::client_address(), self::BAD_KEY_WINDOW );
		self::$log['bad_key'] = true;
		/**
		 * How many wrong keys one address may send in ten minutes before it is answered 429.
		 *
		 * @param int $limit The limit; 0 turns the limit off.
		 */
		$limit = (int) apply_filters( 'crmhook_bad_key_limit', self::BAD_KEY_LIMIT );
		if ( $limit > 0 && $count > $limit ) {
			return self::refusal( 429, __( 'Too many requests with a wrong access key from this address: try again later.', 'crmhook' ) );
		}
		return self::refusal( 403, $message );
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
	 * Sends the JSON answer and ends the request. Page caches are told not to keep it.
	 *
	 * @param array<string, mixed> $outcome The outcome, with its HTTP status.
	 */
	private static function respond( array $outcome ): void {
		$status = (int) $outcome['status'];
		self::log( $status, $outcome );
		unset( $outcome['status'] );
		if ( ! defined( 'DONOTCACHEPAGE' ) ) {
			define( 'DONOTCACHEPAGE', true );
		}
		status_header( $status );
		nocache_headers();
		// nocache_headers() says no-cache; a webhook answer must not be stored at all.
		header( 'Cache-Control: no-store, no-cache, must-revalidate, max-age=0' );
		header( 'Content-Type: application/json; charset=utf-8' );
		header( 'X-Robots-Tag: noindex' );
		echo wp_json_encode( $outcome );
		if ( ! empty( $outcome['queued'] ) && function_exists( 'fastcgi_finish_request' ) ) {
			fastcgi_finish_request();
		}
		exit;
	}

	/**
	 * Writes the webhook's row in the log, before the answer goes out (so a row exists for every
	 * answer a CRM got). A log that cannot be written never changes the answer.
	 *
	 * @param array<string, mixed> $outcome The answer.
	 */
	private static function log( int $status, array $outcome ): void {
		$log      = self::$log;
		$started  = (float) ( $_SERVER['REQUEST_TIME_FLOAT'] ?? microtime( true ) );
		$duration = (int) round( ( microtime( true ) - $started ) * 1000 );
		try {
			if ( ! empty( $log['bad_key'] ) ) {
				CrmHook_Log::bad_key( self::client_address(), $status, (string) $outcome['message'], (string) ( $log['action'] ?? '' ), (string) ( $log['crm'] ?? '' ), $duration );
				return;
			}
			$message = (string) ( $log['detail'] ?? $outcome['message'] ?? '' );
			CrmHook_Log::record(
				array(
					'crm'         => (string) ( $log['crm'] ?? '' ),
					'action'      => (string) ( $outcome['action'] ?? $log['action'] ?? '' ),
					'contact_id'  => (string) ( $outcome['contact_id'] ?? $log['contact_id'] ?? '' ),
					'email'       => (string) ( $log['email'] ?? '' ),
					'user_id'     => isset( $outcome['user_id'] ) ? (int) $outcome['user_id'] : null,
					'status'      => $status,
					'outcome'     => $log['outcome'] ?? CrmHook_Log::outcome_for( $status, ! empty( $outcome['ok'] ) ),
					'duration_ms' => $duration,
					'api_calls'   => CrmHook_Log::take_calls(),
					'message'     => $message,
					'notices'     => (array) ( $log['notices'] ?? array() ),
					'job_id'      => $log['job_id'] ?? null,
					'address'     => self::client_address(),
				)
			);
		} catch ( \Throwable $e ) {
			error_log( 'crmhook: the webhook log could not be written: ' . $e->getMessage() ); // phpcs:ignore WordPress.PHP.DevelopmentFunctions
		}
	}

	/**
	 * The client's address, as the server saw it (a proxy's forwarded header is not trusted).
	 */
	private static function client_address(): string {
		return (string) ( $_SERVER['REMOTE_ADDR'] ?? '' );
	}
}
