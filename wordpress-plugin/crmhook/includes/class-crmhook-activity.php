<?php
/**
 * The old activity log's entry point, kept so code written against it keeps working.
 *
 * @package crmhook
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

/**
 * Before the webhook log had its table, the last 50 webhooks lived in the option
 * `crmhook_activity`, rewritten by every webhook (concurrent ones lost lines). That option is
 * gone (deleted on upgrade); what is recorded here now lands as a row of CrmHook_Log.
 *
 * @deprecated Use CrmHook_Log::record().
 */
final class CrmHook_Activity {

	/** The old option, deleted on upgrade and uninstall. */
	const OPTION = 'crmhook_activity';

	/**
	 * Records one event as a row of the webhook log.
	 *
	 * @param int          $status  HTTP status answered.
	 * @param string       $action  wpf_action.
	 * @param string       $message What happened.
	 * @param list<string> $notices Details.
	 */
	public static function record( int $status, string $action, string $message, array $notices = array() ): void {
		CrmHook_Log::record(
			array(
				'crm'     => (string) CrmHook_Settings::get( 'crm' ),
				'action'  => $action,
				'status'  => $status,
				'message' => $message,
				'notices' => $notices,
			)
		);
	}
}
