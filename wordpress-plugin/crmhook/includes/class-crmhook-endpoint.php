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

	const ASYNC_HOOK = 'crmhook_run_queued_webhook';

	/** Bad keys one address may send in BAD_KEY_WINDOW minutes before it gets 429s. */
	const BAD_KEY_LIMIT  = 20;
	const BAD_KEY_WINDOW = 10;

	/**
	 * Handles the request when it is a webhook; otherwise does nothing.
	 */
	public static function maybe_handle(): void {
		if ( ! self::is_webhook() ) {
			return;
		}
		try {
			$outcome = self::handle();
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
	 * The webhook's outcome.
	 *
	 * @return array<string, mixed>
	 */
	private static function handle(): array {
		if ( ! CrmHook_Plugin::extension_loaded() ) {
			return self::refusal( 503, __( 'crmhook cannot answer webhooks: the crmhook PHP extension is not loaded on this site.', 'crmhook' ) );
		}
		$settings = CrmHook_Settings::all();
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
			CrmHook_Activity::record( (int) $e->getCode(), '', $e->getMessage() );
			return self::refusal( (int) $e->getCode(), $e->getMessage() );
		}

		if ( 'test' === $hook['action'] ) {
			return array(
				'status'  => 200,
				'ok'      => true,
				'success' => true,
				'action'  => 'test',
				'message' => __( 'crmhook is connected: the access key is right.', 'crmhook' ),
			);
		}

		$async = $hook['async'] ?? (bool) $settings['async'];
		if ( $async ) {
			return self::queue( $hook );
		}
		$outcome = CrmHook_Sync::run( $hook );
		CrmHook_Activity::record( $outcome['status'], $outcome['action'], $outcome['message'], $outcome['notices'] );
		unset( $outcome['notices'] );
		return $outcome;
	}

	/**
	 * Answers 202 now and runs the webhook after the response is sent (php-fpm), or in a
	 * single cron event when the server cannot finish a response early.
	 *
	 * @param array<string, mixed> $hook The parsed webhook.
	 * @return array<string, mixed>
	 */
	private static function queue( array $hook ): array {
		$answer = array(
			'status'     => 202,
			'ok'         => true,
			'action'     => $hook['action'],
			'contact_id' => $hook['contact_id'],
			'user_id'    => null,
			'queued'     => true,
			'message'    => __( 'Accepted: the webhook runs in the background.', 'crmhook' ),
		);
		if ( function_exists( 'fastcgi_finish_request' ) ) {
			add_action( 'shutdown', static fn() => self::run_queued( $hook ) );
		} else {
			wp_schedule_single_event( time(), self::ASYNC_HOOK, array( $hook ) );
		}
		return $answer;
	}

	/**
	 * Runs a queued webhook.
	 *
	 * @param array<string, mixed> $hook The parsed webhook.
	 */
	public static function run_queued( array $hook ): void {
		$outcome = CrmHook_Sync::run( $hook );
		CrmHook_Activity::record( $outcome['status'], $outcome['action'] . ' (queued)', $outcome['message'], $outcome['notices'] );
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
		$count = CrmHook_Throttle::count_bad_key( self::client_address(), self::BAD_KEY_WINDOW );
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
	 * The client's address, as the server saw it (a proxy's forwarded header is not trusted).
	 */
	private static function client_address(): string {
		return (string) ( $_SERVER['REMOTE_ADDR'] ?? '' );
	}
}
