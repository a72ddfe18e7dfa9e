<?php
/**
 * ConvertKit / Kit unsubscribes: the automation rule, and the webhook it sends.
 *
 * @package crmhook
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

/**
 * When the owner asks for it, saving the settings registers a `subscriber.subscriber_unsubscribe`
 * rule in the ConvertKit/Kit account whose target is `?wpf_action=ck_unsubscribed` (API v3) or
 * `?wpf_action=kit_unsubscribed` (API v4). When a subscriber unsubscribes, the webhook finds the
 * WordPress user (by the contact link, else by the email the CRM's API returns, never the
 * payload's), emails the owner, and, if the settings say so, removes a role and clears the user's
 * tags. A privileged user is never changed; the owner is still told.
 *
 * @phpstan-import-type Outcome from CrmHook_Sync
 */
final class CrmHook_Unsubscribe {

	/** The automation rule's event (the same name in API v3 and v4). */
	const EVENT = 'subscriber.subscriber_unsubscribe';

	/** The webhook actions, per CRM. */
	const ACTIONS = array(
		'convertkit' => 'ck_unsubscribed',
		'kit'        => 'kit_unsubscribed',
	);

	/**
	 * True for `ck_unsubscribed` and `kit_unsubscribed`.
	 */
	public static function is_unsubscribe( string $action ): bool {
		return in_array( $action, self::ACTIONS, true );
	}

	/**
	 * The settings this feature adds, with their defaults.
	 *
	 * @return array{ck_unsubscribe_notify: bool, ck_unsubscribe_email: string, ck_unsubscribe_remove_role: string, ck_unsubscribe_clear_tags: bool, ck_unsubscribe_rule: string}
	 */
	public static function defaults(): array {
		return array(
			'ck_unsubscribe_notify'      => false,
			'ck_unsubscribe_email'       => '',
			'ck_unsubscribe_remove_role' => '',
			'ck_unsubscribe_clear_tags'  => false,
			'ck_unsubscribe_rule'        => '',
		);
	}

	/**
	 * Cleans this feature's part of the settings form.
	 *
	 * @param array<string, mixed> $input The submitted option.
	 * @param array<string, mixed> $new   The settings being saved.
	 * @return array<string, mixed>
	 */
	public static function sanitize( array $input, array $new ): array {
		$new['ck_unsubscribe_notify']     = ! empty( $input['ck_unsubscribe_notify'] );
		$new['ck_unsubscribe_clear_tags'] = ! empty( $input['ck_unsubscribe_clear_tags'] );
		$email                            = sanitize_email( (string) ( $input['ck_unsubscribe_email'] ?? '' ) );
		$new['ck_unsubscribe_email']      = is_email( $email ) ? $email : '';
		$role                             = sanitize_key( (string) ( $input['ck_unsubscribe_remove_role'] ?? '' ) );
		$new['ck_unsubscribe_remove_role'] = isset( wp_roles()->roles[ $role ] ) ? $role : '';
		return $new;
	}

	/**
	 * Keeps the unsubscribe rule in step with the setting: registered when asked for, deleted
	 * when not (and deleted first when the CRM changes API version under the same account).
	 *
	 * @param array<string, mixed>  $old    Saved settings.
	 * @param array<string, mixed>  $new    Settings being saved.
	 * @param array<string, string> $config The `$crm` array of the new settings.
	 * @return array<string, mixed>
	 */
	public static function sync_rule( array $old, array $new, array $config ): array {
		$old      = array_merge( self::defaults(), $old );
		$new      = array_merge( self::defaults(), $new );
		$want     = ! empty( $new['ck_unsubscribe_notify'] ) && isset( self::ACTIONS[ $new['crm'] ] );
		$had      = (string) $old['ck_unsubscribe_rule'];
		$same_crm = $old['crm'] === $new['crm'];
		if ( $same_crm && $want === ( '' !== $had ) ) {
			return $new;
		}
		// Until the old rule is gone, its id stays saved (so a later save can delete it).
		$new['ck_unsubscribe_rule'] = $same_crm ? $had : '';
		try {
			if ( '' !== $had && $same_crm ) {
				try {
					crmhook_unregister_webhook( $config, $had );
				} catch ( \CrmHook\CrmException $e ) {
					// Already deleted in the CRM: nothing left to remove.
					if ( 404 !== $e->getCode() ) {
						throw $e;
					}
				}
				$new['ck_unsubscribe_rule'] = '';
			}
			if ( $want ) {
				$new['ck_unsubscribe_rule'] = crmhook_register_webhook( $config, self::EVENT, '', self::target_url( (string) $new['crm'], (string) $new['access_key'] ) );
			}
		} catch ( \Throwable $e ) {
			// Shown on the settings page, which prints it as HTML: escaped here.
			add_settings_error( 'crmhook', 'crmhook_rule_unsubscribe', esc_html( $e->getMessage() ) );
		}
		return $new;
	}

	/**
	 * The URL the rule calls.
	 */
	public static function target_url( string $crm, string $access_key ): string {
		return add_query_arg( array( 'wpf_action' => self::ACTIONS[ $crm ] ?? 'ck_unsubscribed', 'access_key' => $access_key ), home_url( '/' ) );
	}

	/**
	 * Runs an unsubscribe webhook.
	 *
	 * @param array<string, mixed> $hook The parsed webhook.
	 * @return array<string, mixed> An outcome as CrmHook_Sync::run() gives, plus `transient` when the
	 *                              CRM failed (the queue then tries again).
	 */
	public static function run( array $hook ): array {
		$crm        = (string) $hook['crm'];
		$contact_id = (string) $hook['contact_id'];
		$user_id    = CrmHook_Contacts::user_for( $crm, $contact_id );
		if ( null !== $user_id && ! get_userdata( $user_id ) ) {
			$user_id = null;
		}
		if ( null === $user_id ) {
			// Only the email the CRM's API returns may pick a user, never the one in the payload.
			try {
				$contact = crmhook_fetch_contact( CrmHook_Settings::crm_config(), $contact_id );
			} catch ( \CrmHook\CrmException $e ) {
				if ( 404 === $e->getCode() ) {
					return self::outcome( 200, false, $hook, null, $e->getMessage() ) + array( 'result' => 'not found' );
				}
				$outcome              = self::outcome( 504 === $e->getCode() ? 504 : 502, false, $hook, null, $e->getMessage() );
				$outcome['transient'] = true;
				return $outcome;
			} catch ( \ValueError $e ) {
				/* translators: %s: what is missing */
				return self::outcome( 502, false, $hook, null, sprintf( __( 'The CRM connection is not set up: %s (Settings → CRM Webhooks).', 'crmhook' ), $e->getMessage() ) );
			}
			$user    = '' !== (string) $contact['email'] ? get_user_by( 'email', (string) $contact['email'] ) : false;
			$user_id = $user ? (int) $user->ID : null;
		}
		if ( null === $user_id ) {
			/* translators: %s: subscriber id */
			return self::outcome( 200, false, $hook, null, sprintf( __( 'Subscriber %s unsubscribed; no WordPress user belongs to them, so nothing was done.', 'crmhook' ), $contact_id ) ) + array( 'result' => 'not found' );
		}

		$lock = new CrmHook_Lock();
		try {
			if ( ! $lock->acquire( "contact:{$crm}:{$contact_id}" ) ) {
				$outcome              = self::outcome( 503, false, $hook, null, __( 'Another webhook for this contact is still running; try again.', 'crmhook' ) );
				$outcome['transient'] = true;
				return $outcome;
			}
			return self::apply( $hook, $user_id );
		} finally {
			$lock->release_all();
		}
	}

	/**
	 * What the settings ask for, done to one user, and the owner's email.
	 *
	 * @param array<string, mixed> $hook The parsed webhook.
	 * @return array<string, mixed>
	 */
	private static function apply( array $hook, int $user_id ): array {
		$crm     = (string) $hook['crm'];
		$s       = array_merge( self::defaults(), CrmHook_Settings::all() );
		$user    = get_userdata( $user_id );
		$notices = array();
		$changed = false;

		if ( CrmHook_Settings::is_privileged( $user ) ) {
			/* translators: %d: user id */
			$message = sprintf( __( 'User %d unsubscribed, but is privileged (administrator-level capabilities): a webhook never changes such a user, so nothing was written.', 'crmhook' ), $user_id );
			self::mail_owner( $s, $hook, $user, array( $message ) );
			return self::outcome( 200, false, $hook, null, $message ) + array( 'result' => 'skipped' );
		}

		$role = (string) $s['ck_unsubscribe_remove_role'];
		if ( '' !== $role && in_array( $role, (array) $user->roles, true ) ) {
			$user->remove_role( $role );
			$changed   = true;
			$name      = wp_roles()->role_names[ $role ] ?? $role;
			/* translators: %s: role name */
			$notices[] = sprintf( __( 'Role %s removed.', 'crmhook' ), translate_user_role( $name ) );
		}
		if ( ! empty( $s['ck_unsubscribe_clear_tags'] ) ) {
			$cleared   = (bool) CrmHook_Sync::set_tags( $user_id, $crm, array() );
			$changed   = $changed || $cleared;
			$notices[] = $cleared ? __( 'Tags cleared.', 'crmhook' ) : __( 'The user had no tags to clear.', 'crmhook' );
		}
		if ( ! $notices ) {
			$notices[] = __( 'The user was left as they are (no role to remove, tags kept).', 'crmhook' );
		}
		$mailed = self::mail_owner( $s, $hook, $user, $notices );
		if ( ! $mailed ) {
			$notices[] = __( 'The notification email could not be sent.', 'crmhook' );
		}

		/**
		 * A ConvertKit or Kit subscriber who is a WordPress user unsubscribed (after the role and
		 * tags were dealt with as the settings say; never fired for a privileged user).
		 *
		 * @param int                  $user_id The user.
		 * @param string               $crm     `convertkit` or `kit`.
		 * @param array<string, mixed> $hook    The parsed webhook.
		 */
		do_action( 'crmhook_unsubscribed', $user_id, $crm, $hook );

		/* translators: 1: user id, 2: subscriber id */
		$outcome = self::outcome( 200, true, $hook, $user_id, sprintf( __( 'User %1$d (subscriber %2$s) unsubscribed.', 'crmhook' ), $user_id, (string) $hook['contact_id'] ), $notices );
		// For the webhook log: what happened to the user.
		$outcome['result'] = $changed ? 'updated' : 'no change';
		CrmHook_Profile::record_sync( $outcome, $hook );
		return $outcome;
	}

	/**
	 * Emails the address the owner chose (the site's admin email by default).
	 *
	 * @param array<string, mixed> $s       Settings.
	 * @param array<string, mixed> $hook    The parsed webhook.
	 * @param list<string>         $notices What was done.
	 */
	private static function mail_owner( array $s, array $hook, \WP_User $user, array $notices ): bool {
		$to       = is_email( (string) $s['ck_unsubscribe_email'] ) ? (string) $s['ck_unsubscribe_email'] : (string) get_option( 'admin_email' );
		$crm_name = CrmHook_Settings::crm_names()[ (string) $hook['crm'] ] ?? (string) $hook['crm'];
		$site     = wp_specialchars_decode( (string) get_option( 'blogname' ), ENT_QUOTES );
		/* translators: 1: site name, 2: CRM name, 3: email address */
		$subject = sprintf( __( '[%1$s] %2$s subscriber unsubscribed: %3$s', 'crmhook' ), $site, $crm_name, $user->user_email );
		$lines   = array(
			/* translators: 1: CRM name, 2: subscriber id */
			sprintf( __( 'A %1$s subscriber (id %2$s) unsubscribed.', 'crmhook' ), $crm_name, (string) $hook['contact_id'] ),
			'',
			/* translators: 1: username, 2: email address, 3: user id */
			sprintf( __( 'WordPress user: %1$s <%2$s> (id %3$d)', 'crmhook' ), $user->user_login, $user->user_email, $user->ID ),
			add_query_arg( 'user_id', $user->ID, admin_url( 'user-edit.php' ) ),
			'',
		);
		return (bool) wp_mail( $to, $subject, implode( "\n", array_merge( $lines, $notices ) ) . "\n" );
	}

	/**
	 * An outcome, shaped as CrmHook_Sync's.
	 *
	 * @param array<string, mixed> $hook    The parsed webhook.
	 * @param list<string>         $notices Details for the activity log.
	 * @return array<string, mixed>
	 */
	private static function outcome( int $status, bool $ok, array $hook, ?int $user_id, string $message, array $notices = array() ): array {
		return array(
			'status'     => $status,
			'ok'         => $ok,
			'action'     => (string) $hook['action'],
			'contact_id' => (string) $hook['contact_id'],
			'user_id'    => $user_id,
			'queued'     => false,
			'message'    => $message,
			'notices'    => $notices,
		);
	}
}
