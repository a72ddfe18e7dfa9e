<?php
/**
 * A short activity log for the settings screen: what each webhook did.
 *
 * @package crmhook
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

/**
 * The last 50 webhooks, newest first, in one non-autoloaded option. Lines come from the
 * endpoint and the plan's notices, which never hold a password or a key.
 */
final class CrmHook_Activity {

	const OPTION = 'crmhook_activity';
	const KEEP   = 50;

	/**
	 * Records one webhook.
	 *
	 * @param int    $status  HTTP status answered.
	 * @param string $action  wpf_action.
	 * @param string $message What happened.
	 * @param list<string> $notices Details from the plan.
	 */
	public static function record( int $status, string $action, string $message, array $notices = array() ): void {
		$log = get_option( self::OPTION, array() );
		$log = is_array( $log ) ? $log : array();
		array_unshift(
			$log,
			array(
				'time'    => time(),
				'status'  => $status,
				'action'  => $action,
				'message' => $message,
				'notices' => array_slice( $notices, 0, 10 ),
			)
		);
		update_option( self::OPTION, array_slice( $log, 0, self::KEEP ), false );
	}

	/**
	 * The log, newest first.
	 *
	 * @return list<array{time: int, status: int, action: string, message: string, notices: list<string>}>
	 */
	public static function entries(): array {
		$log = get_option( self::OPTION, array() );
		return is_array( $log ) ? $log : array();
	}
}
