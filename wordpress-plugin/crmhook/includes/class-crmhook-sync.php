<?php
/**
 * Carries out a parsed webhook: load the contact, find or create the user, apply the plan.
 *
 * @package crmhook
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

/**
 * The webhook flow. Everything that can fail at the CRM happens before anything is written,
 * so a CRM outage never leaves a user without their contact link.
 *
 * @phpstan-type Outcome array{status: int, ok: bool, action: string, contact_id: ?string, user_id: ?int, queued: bool, message: string, notices: list<string>, result?: string}
 *         `result` is the webhook log's word for it (created, updated, no change, not found).
 */
final class CrmHook_Sync {

	/**
	 * Runs a webhook that `crmhook_parse_webhook()` accepted.
	 *
	 * @param array<string, mixed>      $hook    The parsed webhook.
	 * @param array<string, mixed>|null $contact The contact, when the caller (the queue's runner,
	 *                                           which paces CRM calls) fetched it already.
	 * @return Outcome
	 */
	public static function run( array $hook, ?array $contact = null ): array {
		$action     = (string) $hook['action'];
		$crm        = (string) $hook['crm'];
		$contact_id = (string) $hook['contact_id'];
		$config     = CrmHook_Settings::crm_config();

		// 1. Read from the CRM first. `update_tags` with tags in the payload needs no call.
		if ( null === $contact && 'update_tags' === $action && is_array( $hook['tags'] ) ) {
			$tags = $hook['tags'];
		} elseif ( null !== $contact ) {
			$contact_id = (string) $contact['id'];
			$tags       = $contact['tags'];
		} else {
			try {
				CrmHook_Log::crm_call();
				$contact = crmhook_fetch_contact( $config, $contact_id );
			} catch ( \CrmHook\CrmException $e ) {
				if ( 404 === $e->getCode() ) {
					return self::outcome( 200, false, $hook, null, $e->getMessage() ) + array( 'result' => 'not found' );
				}
				return self::outcome( 504 === $e->getCode() ? 504 : 502, false, $hook, null, $e->getMessage() );
			} catch ( \ValueError $e ) {
				/* translators: %s: what is missing */
				return self::outcome( 502, false, $hook, null, sprintf( __( 'The CRM connection is not set up: %s (Settings → CRM Webhooks).', 'crmhook' ), $e->getMessage() ) );
			}
			$contact_id = (string) $contact['id'];
			$tags       = $contact['tags'];
		}

		// 2. One webhook at a time per contact and per email: no duplicate users, ever. The
		// contact's email (the one a new user gets) and the linked user's current email (the one
		// the plan may change) are both locked, always in the same order, so two webhooks that
		// need the same pair can never hold one each and wait for the other.
		$names = array( "contact:{$crm}:{$contact_id}" );
		foreach ( self::emails_to_lock( $crm, $contact_id, $contact ) as $email ) {
			$names[] = "email:{$email}";
		}
		$lock = new CrmHook_Lock();
		try {
			if ( ! $lock->acquire_all( $names ) ) {
				return self::outcome( 200, false, $hook, null, __( 'Another webhook for this contact is still running; this one was skipped.', 'crmhook' ) );
			}
			$outcome = self::run_locked( $hook, $action, $crm, $contact_id, $contact, $tags, $config );
			// The profile screen shows when and how the user was last synced.
			CrmHook_Profile::record_sync( $outcome, $hook );
			return $outcome;
		} finally {
			$lock->release_all();
		}
	}

	/**
	 * The emails a webhook may act on: the CRM contact's, and that of the user the contact is
	 * linked to (which the plan may change). Lower-cased, unique, sorted.
	 *
	 * @param array<string, mixed>|null $contact The CRM contact (null for payload-only tags).
	 * @return list<string>
	 */
	private static function emails_to_lock( string $crm, string $contact_id, ?array $contact ): array {
		$emails  = array( (string) ( $contact['email'] ?? '' ) );
		$user_id = CrmHook_Contacts::user_for( $crm, $contact_id );
		if ( null !== $user_id ) {
			$user     = get_userdata( $user_id );
			$emails[] = $user ? (string) $user->user_email : '';
		}
		$emails = array_values( array_unique( array_filter( array_map( 'strtolower', array_map( 'trim', $emails ) ) ) ) );
		sort( $emails, SORT_STRING );
		return $emails;
	}

	/**
	 * The part of the flow that writes, under the locks.
	 *
	 * @param array<string, mixed>      $hook       The parsed webhook.
	 * @param array<string, mixed>|null $contact    The CRM contact (null for payload-only tags).
	 * @param list<string>              $tags       The contact's tags.
	 * @param array<string, string>     $config     The `$crm` array.
	 * @return Outcome
	 */
	private static function run_locked( array $hook, string $action, string $crm, string $contact_id, ?array $contact, array $tags, array $config ): array {
		// Only the contact link and the email the CRM's API returned pick a user: never an email
		// the request carries, and tags from the payload alone reach only users already linked.
		$user_id = self::find_user( $crm, $contact_id, null === $contact ? null : (string) $contact['email'] );

		if ( null === $user_id && 'add' !== $action ) {
			/* translators: %s: CRM contact id */
			return self::outcome( 200, false, $hook, null, sprintf( __( 'No WordPress user is linked to contact %s.', 'crmhook' ), $contact_id ) ) + array( 'result' => 'not found' );
		}

		$existing = null === $user_id ? null : self::user_shape( $user_id, $crm, $contact_id );
		if ( null !== $existing && $existing['privileged'] ) {
			// Not linked, renamed, tagged or given meta: an administrator's account is never
			// reachable through a CRM contact, whoever created that contact.
			/* translators: %d: user id */
			return self::outcome( 200, false, $hook, null, sprintf( __( 'User %d is privileged (administrator-level capabilities): a webhook never changes such a user, so nothing was written.', 'crmhook' ), $user_id ) );
		}

		if ( 'update_tags' === $action ) {
			CrmHook_Contacts::link( $crm, $contact_id, $user_id );
			$changed = self::set_tags( $user_id, $crm, $tags );
			/* translators: 1: user id, 2: number of tags */
			return self::outcome( 200, true, $hook, $user_id, sprintf( _n( 'Updated the tags of user %1$d (%2$d tag).', 'Updated the tags of user %1$d (%2$d tags).', count( $tags ), 'crmhook' ), $user_id, count( $tags ) ), $changed )
				+ array( 'result' => $changed ? 'updated' : 'no change' );
		}

		try {
			$plan = crmhook_map_contact( $contact, CrmHook_Settings::plan_options( $hook['role'] ?? null ), $existing );
		} catch ( \CrmHook\WebhookException $e ) {
			return self::outcome( 200, false, $hook, null, $e->getMessage() );
		}
		$notices = $plan['notices'];
		// The webhook log never stores a password, whatever line it turns up in.
		CrmHook_Log::secret( (string) ( $plan['user']['user_pass'] ?? '' ) );
		CrmHook_Log::secret( (string) ( $plan['return_password']['value'] ?? '' ) );

		if ( 'create' === $plan['op'] ) {
			$user_id = self::create_user( $plan['user'] );
			if ( is_wp_error( $user_id ) ) {
				return self::outcome( 200, false, $hook, null, $user_id->get_error_message(), $notices );
			}
			// The CRM owns this user's password from now on (see crmhook_map_contact's
			// `created_from_contact`); a user matched by email never gets this mark.
			update_user_meta( $user_id, CrmHook_Contacts::CREATED_FROM_META, "{$crm}:{$contact_id}" );
		} else {
			$notices = array_merge( $notices, self::update_user( $user_id, $plan['user'] ) );
		}

		CrmHook_Contacts::link( $crm, $contact_id, $user_id );
		foreach ( $plan['meta'] as $key => $value ) {
			// update_user_meta() unslashes what it is given: CRM text keeps its backslashes.
			update_user_meta( $user_id, (string) $key, wp_slash( $value ) );
		}

		$tags = $plan['tags'];
		// A resync from the profile screen was not started by the update tag: it stays on.
		if ( 'update' === $action && empty( $hook['resync'] ) && CrmHook_Settings::has_automation_rules( $crm ) ) {
			$tags = self::release_update_tag( $config, $contact_id, $tags, $notices );
		}
		$notices = array_merge( $notices, self::set_tags( $user_id, $crm, $tags ) );

		if ( $plan['return_password'] ) {
			try {
				CrmHook_Log::crm_call();
				crmhook_update_contact( $config, $contact_id, array( $plan['return_password']['field'] => $plan['return_password']['value'] ) );
				$notices[] = __( 'Generated password sent back to the CRM.', 'crmhook' );
			} catch ( \CrmHook\CrmException $e ) {
				$notices[] = $e->getMessage();
			}
		}

		if ( 'create' === $plan['op'] ) {
			if ( ! empty( $hook['send_notification'] ) || CrmHook_Settings::get( 'send_welcome_email' ) ) {
				// WordPress's own new-user email, to this user only: the admin copy is not sent.
				wp_new_user_notification( $user_id, null, 'user' );
				$notices[] = __( 'Welcome email sent.', 'crmhook' );
			}
			/**
			 * A CRM webhook created a user.
			 *
			 * @param int                  $user_id The new user.
			 * @param array<string, mixed> $contact The normalized CRM contact.
			 * @param array<string, mixed> $hook    The parsed webhook.
			 */
			do_action( 'crmhook_user_created', $user_id, $contact, $hook );
			/* translators: 1: user id, 2: contact id */
			$message = sprintf( __( 'Created user %1$d for contact %2$s.', 'crmhook' ), $user_id, $contact_id );
		} else {
			/**
			 * A CRM webhook updated a user.
			 *
			 * @param int                  $user_id The user.
			 * @param array<string, mixed> $contact The normalized CRM contact.
			 * @param array<string, mixed> $hook    The parsed webhook.
			 */
			do_action( 'crmhook_user_updated', $user_id, $contact, $hook );
			/* translators: 1: user id, 2: contact id */
			$message = sprintf( __( 'Updated user %1$d from contact %2$s.', 'crmhook' ), $user_id, $contact_id );
		}
		return self::outcome( 200, true, $hook, $user_id, $message, $notices ) + array( 'result' => 'create' === $plan['op'] ? 'created' : 'updated' );
	}

	/**
	 * The user for a contact: its link, else the user whose email is the contact's email as the
	 * CRM's API returned it.
	 *
	 * @param string|null $email The fetched contact's email; null when nothing was fetched.
	 */
	private static function find_user( string $crm, string $contact_id, ?string $email ): ?int {
		$user_id = CrmHook_Contacts::user_for( $crm, $contact_id );
		if ( null !== $user_id ) {
			if ( get_userdata( $user_id ) ) {
				return $user_id;
			}
			// The user was deleted behind WordPress's back (by SQL): the link goes too.
			CrmHook_Contacts::unlink( $crm, $contact_id );
		}
		$user = $email ? get_user_by( 'email', $email ) : false;
		return $user ? (int) $user->ID : null;
	}

	/**
	 * An existing user, shaped for crmhook_map_contact().
	 *
	 * @return array{ID: int, user_login: string, user_email: string, roles: list<string>, privileged: bool, created_from_contact: bool}
	 */
	private static function user_shape( int $user_id, string $crm, string $contact_id ): array {
		$user = get_userdata( $user_id );
		return array(
			'ID'                   => $user_id,
			'user_login'           => $user->user_login,
			'user_email'           => $user->user_email,
			'roles'                => array_values( $user->roles ),
			'privileged'           => CrmHook_Settings::is_privileged( $user ),
			'created_from_contact' => get_user_meta( $user_id, CrmHook_Contacts::CREATED_FROM_META, true ) === "{$crm}:{$contact_id}",
		);
	}

	/**
	 * Creates the user; a login already taken gets a numeric suffix.
	 *
	 * @param array<string, string> $fields The plan's user fields.
	 * @return int|\WP_Error
	 */
	private static function create_user( array $fields ) {
		$base = $fields['user_login'];
		// Two contacts with different emails can want the same login at once (the email locks
		// do not cover that, and wp_users has no unique key on the login): a lock on the base
		// login makes the suffix search and the insert one step.
		$lock = new CrmHook_Lock();
		if ( ! $lock->acquire( "login:{$base}" ) ) {
			return new \WP_Error( 'crmhook_login_busy', __( 'Another webhook is creating a user with the same username; this one was skipped.', 'crmhook' ) );
		}
		try {
			$n = 1;
			// A user registering through WordPress itself takes no lock: on that rare race the
			// next suffix is tried.
			for ( $tries = 0; $tries < 5; $tries++ ) {
				$login = $base;
				while ( username_exists( $login ) ) {
					++$n;
					$login = substr( $base, 0, 60 - strlen( (string) $n ) ) . $n;
				}
				$fields['user_login'] = $login;
				// wp_insert_user() unslashes what it is given.
				$user_id = wp_insert_user( wp_slash( $fields ) );
				if ( ! is_wp_error( $user_id ) || 'existing_user_login' !== $user_id->get_error_code() ) {
					return $user_id;
				}
			}
			return $user_id;
		} finally {
			$lock->release_all();
		}
	}

	/**
	 * Updates the user without WordPress's "your password/email changed" mails, which a CRM
	 * sync would otherwise send on every change; the filters are removed right after.
	 *
	 * @param array<string, mixed> $fields The plan's user fields.
	 * @return list<string> Notices.
	 */
	private static function update_user( int $user_id, array $fields ): array {
		$fields['ID'] = $user_id;
		add_filter( 'send_password_change_email', '__return_false' );
		add_filter( 'send_email_change_email', '__return_false' );
		$result = wp_update_user( wp_slash( $fields ) );
		if ( is_wp_error( $result ) && isset( $fields['user_email'] ) ) {
			// The new email belongs to another user: keep the old one, apply the rest.
			unset( $fields['user_email'] );
			$result = wp_update_user( wp_slash( $fields ) );
			$notices = array( __( 'The CRM email belongs to another user: the email was left unchanged.', 'crmhook' ) );
		}
		remove_filter( 'send_password_change_email', '__return_false' );
		remove_filter( 'send_email_change_email', '__return_false' );
		if ( is_wp_error( $result ) ) {
			return array( $result->get_error_message() );
		}
		return $notices ?? array();
	}

	/**
	 * Stores the tags and fires the tag actions with what changed.
	 *
	 * @param list<string> $tags The contact's tags.
	 * @return list<string> Notices.
	 */
	public static function set_tags( int $user_id, string $crm, array $tags ): array {
		$key     = CrmHook_Settings::meta_slug( $crm ) . '_tags';
		$before  = get_user_meta( $user_id, $key, true );
		$before  = is_array( $before ) ? array_map( 'strval', $before ) : array();
		$tags    = array_values( array_unique( array_map( 'strval', $tags ) ) );
		$applied = array_values( array_diff( $tags, $before ) );
		$removed = array_values( array_diff( $before, $tags ) );
		if ( ! $applied && ! $removed ) {
			return array();
		}
		update_user_meta( $user_id, $key, wp_slash( $tags ) );
		if ( $applied ) {
			/**
			 * Tags were applied to a user by a CRM webhook.
			 *
			 * @param int          $user_id The user.
			 * @param list<string> $applied The tags added.
			 * @param string       $crm     The CRM slug.
			 */
			do_action( 'crmhook_tags_applied', $user_id, $applied, $crm );
		}
		if ( $removed ) {
			/**
			 * Tags were removed from a user by a CRM webhook.
			 *
			 * @param int          $user_id The user.
			 * @param list<string> $removed The tags removed.
			 * @param string       $crm     The CRM slug.
			 */
			do_action( 'crmhook_tags_removed', $user_id, $removed, $crm );
		}
		/**
		 * A user's tags changed; `$tags` is the whole new list.
		 *
		 * @param int          $user_id The user.
		 * @param list<string> $tags    All of the user's tags now.
		 * @param string       $crm     The CRM slug.
		 */
		do_action( 'crmhook_tags_modified', $user_id, $tags, $crm );
		return array(
			sprintf(
				/* translators: 1: "1 added" or "2 added", 2: "1 removed" or "2 removed" */
				__( 'Tags: %1$s, %2$s.', 'crmhook' ),
				/* translators: %d: number of tags added */
				sprintf( _n( '%d added', '%d added', count( $applied ), 'crmhook' ), count( $applied ) ),
				/* translators: %d: number of tags removed */
				sprintf( _n( '%d removed', '%d removed', count( $removed ), 'crmhook' ), count( $removed ) )
			),
		);
	}

	/**
	 * ConvertKit/Kit: takes the update tag off the subscriber so the rule can fire again.
	 *
	 * @param array<string, string> $config  The `$crm` array.
	 * @param list<string>          $tags    The subscriber's tags.
	 * @param list<string>          $notices Notices, appended to.
	 * @return list<string> The tags without the update tag.
	 */
	private static function release_update_tag( array $config, string $contact_id, array $tags, array &$notices ): array {
		$tag = (string) CrmHook_Settings::get( 'ck_update_tag' );
		if ( '' === $tag ) {
			return $tags;
		}
		try {
			CrmHook_Log::crm_call();
			crmhook_remove_tag( $config, $contact_id, $tag );
			$notices[] = __( 'Update tag removed from the subscriber.', 'crmhook' );
			return array_values( array_diff( $tags, array( $tag ) ) );
		} catch ( \CrmHook\CrmException $e ) {
			$notices[] = $e->getMessage();
			return $tags;
		}
	}

	/**
	 * The result of a webhook.
	 *
	 * @param array<string, mixed> $hook    The parsed webhook.
	 * @param list<string>         $notices Details for the activity log.
	 * @return Outcome
	 */
	private static function outcome( int $status, bool $ok, array $hook, ?int $user_id, string $message, array $notices = array() ): array {
		return array(
			'status'     => $status,
			'ok'         => $ok,
			'action'     => (string) $hook['action'],
			'contact_id' => isset( $hook['contact_id'] ) ? (string) $hook['contact_id'] : null,
			'user_id'    => $user_id,
			'queued'     => false,
			'message'    => $message,
			'notices'    => $notices,
		);
	}
}
