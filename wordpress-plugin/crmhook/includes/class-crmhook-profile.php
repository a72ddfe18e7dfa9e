<?php
/**
 * The "CRM" section of the profile and edit-user screens, and *Resync from CRM*.
 *
 * @package crmhook
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

/**
 * Shows a user's CRM contact (linked to the CRM's own page where its address is certain), tags and
 * last sync, and lets anyone who may edit the user load the contact again now. A resync runs the
 * same code as an `update` webhook (CrmHook_Sync::run), so it can do nothing a webhook could not:
 * privileged users get no button, and a forced request for one is refused.
 */
final class CrmHook_Profile {

	/** User meta: the last time a webhook, a queued job or a resync applied a contact to the user. */
	const LAST_SYNC_META = 'crmhook_last_sync';

	/** The admin-post action of the button. */
	const ACTION = 'crmhook_resync';

	/**
	 * Registers the admin hooks.
	 */
	public static function register(): void {
		add_action( 'show_user_profile', array( __CLASS__, 'render' ) );
		add_action( 'edit_user_profile', array( __CLASS__, 'render' ) );
		add_action( 'admin_post_' . self::ACTION, array( __CLASS__, 'resync' ) );
		add_action( 'admin_notices', array( __CLASS__, 'notice' ) );
	}

	/**
	 * Remembers what a sync did to a user, for the profile screen. Called with every outcome of
	 * CrmHook_Sync::run(); an outcome without a user (not found, privileged) writes nothing.
	 *
	 * @param array<string, mixed> $outcome The sync's outcome.
	 * @param array<string, mixed> $hook    The webhook (or the resync's stand-in for one).
	 */
	public static function record_sync( array $outcome, array $hook ): void {
		$user_id = (int) ( $outcome['user_id'] ?? 0 );
		if ( $user_id <= 0 ) {
			return;
		}
		if ( CrmHook_Unsubscribe::is_unsubscribe( (string) ( $hook['action'] ?? '' ) ) ) {
			$via = 'unsubscribe';
		} elseif ( ! empty( $hook['resync'] ) ) {
			$via = 'resync';
		} elseif ( ! empty( $hook['async'] ) ) {
			$via = 'queue';
		} else {
			$via = 'webhook';
		}
		update_user_meta(
			$user_id,
			self::LAST_SYNC_META,
			array(
				'time'       => time(),
				'ok'         => (bool) $outcome['ok'],
				'action'     => (string) $outcome['action'],
				'via'        => $via,
				'contact_id' => (string) ( $outcome['contact_id'] ?? '' ),
				// The outcome's words never hold a password or a key (CrmHook_Sync).
				'message'    => wp_slash( (string) $outcome['message'] ),
			)
		);
	}

	/**
	 * The section.
	 *
	 * @param \WP_User $user The user whose screen this is.
	 */
	public static function render( $user ): void {
		if ( ! $user instanceof \WP_User || ! self::may_manage( (int) $user->ID ) ) {
			return;
		}
		$crm        = (string) CrmHook_Settings::get( 'crm' );
		$crm_name   = CrmHook_Settings::crm_names()[ $crm ] ?? $crm;
		$contact_id = CrmHook_Contacts::contact_for( $crm, (int) $user->ID );
		$tags       = CrmHook_Users::user_tags( (int) $user->ID );
		$names      = $tags ? CrmHook_Users::tag_names() : array();
		$last       = get_user_meta( $user->ID, self::LAST_SYNC_META, true );
		$loaded     = CrmHook_Plugin::extension_loaded();
		$privileged = $loaded && CrmHook_Settings::is_privileged( $user );
		$url        = null === $contact_id ? null : self::contact_url( $crm, (string) CrmHook_Settings::get( 'api_url' ), $contact_id );
		?>
		<h2 id="crmhook-profile"><?php echo esc_html( sprintf( /* translators: %s: CRM name */ __( 'CRM (%s)', 'crmhook' ), $crm_name ) ); ?></h2>
		<table class="form-table crmhook-profile" role="presentation">
			<tr>
				<th scope="row"><?php esc_html_e( 'Contact', 'crmhook' ); ?></th>
				<td id="crmhook-profile-contact">
					<?php if ( null === $contact_id ) : ?>
						<span class="crmhook-not-linked"><?php esc_html_e( 'Not linked to a CRM contact.', 'crmhook' ); ?></span>
					<?php elseif ( null !== $url ) : ?>
						<a class="crmhook-contact-link" href="<?php echo esc_url( $url ); ?>" target="_blank" rel="noopener noreferrer"><?php echo esc_html( $contact_id ); ?></a>
					<?php else : ?>
						<code class="crmhook-contact-id"><?php echo esc_html( $contact_id ); ?></code>
					<?php endif; ?>
				</td>
			</tr>
			<tr>
				<th scope="row"><?php esc_html_e( 'Tags', 'crmhook' ); ?></th>
				<td id="crmhook-profile-tags">
					<?php if ( ! $tags ) : ?>
						<span class="crmhook-tags-none"><?php esc_html_e( 'None', 'crmhook' ); ?></span>
					<?php else : ?>
						<?php foreach ( $tags as $i => $tag ) : ?>
							<?php echo $i ? ', ' : ''; ?><span class="crmhook-tag" data-tag="<?php echo esc_attr( $tag ); ?>"><?php echo esc_html( $names[ $tag ] ?? $tag ); ?></span>
						<?php endforeach; ?>
					<?php endif; ?>
				</td>
			</tr>
			<tr>
				<th scope="row"><?php esc_html_e( 'Last sync', 'crmhook' ); ?></th>
				<td id="crmhook-profile-last-sync">
					<?php if ( ! is_array( $last ) || empty( $last['time'] ) ) : ?>
						<span class="crmhook-never"><?php esc_html_e( 'Never', 'crmhook' ); ?></span>
					<?php else : ?>
						<span class="crmhook-last-sync-<?php echo ! empty( $last['ok'] ) ? 'ok' : 'failed'; ?>">
							<?php
							echo esc_html(
								sprintf(
									/* translators: 1: date and time, 2: webhook, queue or resync, 3: what happened */
									__( '%1$s (%2$s): %3$s', 'crmhook' ),
									wp_date( 'Y-m-d H:i:s', (int) $last['time'] ),
									self::via_label( (string) ( $last['via'] ?? '' ) ),
									(string) ( $last['message'] ?? '' )
								)
							);
							?>
						</span>
					<?php endif; ?>
				</td>
			</tr>
			<tr>
				<th scope="row"></th>
				<td>
					<?php if ( ! $loaded ) : ?>
						<p class="description"><?php esc_html_e( 'The crmhook PHP extension is not loaded: nothing can be loaded from the CRM.', 'crmhook' ); ?></p>
					<?php elseif ( $privileged ) : ?>
						<p class="description crmhook-privileged"><?php esc_html_e( 'This user has administrative capabilities: the CRM never changes them, so there is no resync.', 'crmhook' ); ?></p>
					<?php else : ?>
						<a class="button" id="crmhook-resync" href="<?php echo esc_url( self::resync_url( (int) $user->ID ) ); ?>"><?php esc_html_e( 'Resync from CRM', 'crmhook' ); ?></a>
						<p class="description"><?php esc_html_e( 'Loads the contact from the CRM now and applies its fields and tags, as an update webhook would. A user without a link is looked up by email.', 'crmhook' ); ?></p>
					<?php endif; ?>
				</td>
			</tr>
		</table>
		<?php
	}

	/**
	 * The button's address: admin-post with the user and a nonce for that user.
	 */
	public static function resync_url( int $user_id ): string {
		return wp_nonce_url( add_query_arg( array( 'action' => self::ACTION, 'user_id' => $user_id ), admin_url( 'admin-post.php' ) ), self::ACTION . '_' . $user_id );
	}

	/**
	 * The contact's page in the CRM, where its address is certain; null otherwise (Keap's needs
	 * the account's app name, which the API key does not tell; FunnelKit's admin routes vary).
	 */
	public static function contact_url( string $crm, string $api_url, string $contact_id ): ?string {
		if ( ! preg_match( '/^\d{1,64}$/', $contact_id ) ) {
			return null;
		}
		$host = strtolower( (string) wp_parse_url( $api_url, PHP_URL_HOST ) );
		switch ( $crm ) {
			case 'activecampaign':
				// The API lives at ACCOUNT.api-us1.com; the app at ACCOUNT.activehosted.com.
				if ( preg_match( '/^([a-z0-9-]+)\.api-us\d+\.com$/', $host, $m ) ) {
					return "https://{$m[1]}.activehosted.com/app/contacts/{$contact_id}";
				}
				return null;
			case 'convertkit':
			case 'kit':
				// One app for both API versions; only for the public API (not a test double).
				if ( '' === $host || in_array( $host, array( 'api.convertkit.com', 'api.kit.com' ), true ) ) {
					return "https://app.kit.com/subscribers/{$contact_id}";
				}
				return null;
			case 'fluentcrm':
				// api_url is the address of the WordPress site FluentCRM runs in.
				if ( '' === $host ) {
					return null;
				}
				return untrailingslashit( $api_url ) . "/wp-admin/admin.php?page=fluentcrm-admin#/subscribers/{$contact_id}";
			default:
				return null;
		}
	}

	/**
	 * Who sees the section and may resync: someone who manages users (`edit_users`) and may
	 * edit this one. Everyone may edit their own profile; a subscriber should neither read the
	 * CRM's tags about them nor spend the CRM's rate limit by clicking Resync.
	 *
	 * @param int $user_id The user whose screen this is.
	 */
	public static function may_manage( int $user_id ): bool {
		return current_user_can( 'edit_users' ) && current_user_can( 'edit_user', $user_id );
	}

	/**
	 * *Resync from CRM*: nonce, then `edit_users` and `edit_user`, then never a privileged user; the outcome is
	 * shown as a notice on the screen the button was on.
	 */
	public static function resync(): void {
		$user_id = isset( $_GET['user_id'] ) ? absint( $_GET['user_id'] ) : 0;
		check_admin_referer( self::ACTION . '_' . $user_id );
		if ( ! $user_id || ! self::may_manage( $user_id ) ) {
			wp_die( esc_html__( 'You are not allowed to edit this user.', 'crmhook' ), 403 );
		}
		$user = get_userdata( $user_id );
		if ( ! $user ) {
			wp_die( esc_html__( 'There is no such user.', 'crmhook' ), 404 );
		}
		if ( ! CrmHook_Plugin::extension_loaded() ) {
			wp_die( esc_html__( 'The crmhook PHP extension is not loaded.', 'crmhook' ), 503 );
		}
		if ( CrmHook_Settings::is_privileged( $user ) ) {
			wp_die( esc_html__( 'This user has administrative capabilities: the CRM never changes them.', 'crmhook' ), 403 );
		}
		$result = self::run_resync( $user );
		set_transient( self::notice_key(), $result, MINUTE_IN_SECONDS );
		$back = get_current_user_id() === $user_id ? admin_url( 'profile.php' ) : add_query_arg( 'user_id', $user_id, admin_url( 'user-edit.php' ) );
		wp_safe_redirect( $back . '#crmhook-profile' );
		exit;
	}

	/**
	 * Loads the user's contact and applies it as an `update` webhook would.
	 *
	 * @return array{ok: bool, message: string}
	 */
	public static function run_resync( \WP_User $user ): array {
		$crm        = (string) CrmHook_Settings::get( 'crm' );
		$config     = CrmHook_Settings::crm_config();
		$contact_id = CrmHook_Contacts::contact_for( $crm, (int) $user->ID );
		if ( null === $contact_id ) {
			try {
				$contact_id = crmhook_find_contact( $config, (string) $user->user_email );
			} catch ( \Throwable $e ) {
				return array( 'ok' => false, 'message' => $e->getMessage() );
			}
			if ( null === $contact_id ) {
				return array(
					'ok'      => false,
					/* translators: %s: email address */
					'message' => sprintf( __( 'Not linked: the CRM has no contact with the email %s.', 'crmhook' ), $user->user_email ),
				);
			}
			$other = CrmHook_Contacts::user_for( $crm, $contact_id );
			if ( null !== $other && $other !== (int) $user->ID && get_userdata( $other ) ) {
				return array(
					'ok'      => false,
					/* translators: 1: contact id, 2: user id */
					'message' => sprintf( __( 'CRM contact %1$s is linked to another user (%2$d): nothing was changed.', 'crmhook' ), $contact_id, $other ),
				);
			}
		}
		// The queue paces CRM calls in a shared budget: a resync books its call there too.
		CrmHook_Queue::reserve( $crm );
		$outcome = CrmHook_Sync::run(
			array(
				'action'            => 'update',
				'crm'               => $crm,
				'contact_id'        => $contact_id,
				'email'             => null,
				'tags'              => null,
				'role'              => null,
				'send_notification' => false,
				'async'             => false,
				'resync'            => true,
			)
		);
		$message = (string) $outcome['message'];
		if ( $outcome['ok'] && (int) $outcome['user_id'] !== (int) $user->ID ) {
			// The contact's email now belongs to another user; Sync acted on the contact's user.
			/* translators: %d: user id */
			return array( 'ok' => false, 'message' => sprintf( __( 'The CRM contact belongs to user %d, not this one.', 'crmhook' ), (int) $outcome['user_id'] ) );
		}
		if ( $outcome['notices'] ) {
			$message .= ' ' . implode( ' ', $outcome['notices'] );
		}
		return array( 'ok' => (bool) $outcome['ok'], 'message' => $message );
	}

	/**
	 * The outcome of a resync, once, on the screen it came back to.
	 */
	public static function notice(): void {
		$screen = function_exists( 'get_current_screen' ) ? get_current_screen() : null;
		if ( ! $screen || ! in_array( $screen->id, array( 'profile', 'user-edit' ), true ) ) {
			return;
		}
		$result = get_transient( self::notice_key() );
		if ( ! is_array( $result ) ) {
			return;
		}
		delete_transient( self::notice_key() );
		printf(
			'<div id="crmhook-resync-notice" class="notice %1$s is-dismissible"><p><strong>%2$s</strong> %3$s</p></div>',
			! empty( $result['ok'] ) ? 'notice-success' : 'notice-error',
			esc_html__( 'Resync from CRM:', 'crmhook' ),
			esc_html( (string) $result['message'] )
		);
	}

	/**
	 * The notice's transient, per admin (two admins resyncing at once each see their own).
	 */
	private static function notice_key(): string {
		return 'crmhook_resync_notice_' . get_current_user_id();
	}

	/**
	 * Words for where a sync came from.
	 */
	private static function via_label( string $via ): string {
		switch ( $via ) {
			case 'resync':
				return __( 'resync', 'crmhook' );
			case 'queue':
				return __( 'queued webhook', 'crmhook' );
			case 'unsubscribe':
				return __( 'unsubscribe', 'crmhook' );
			default:
				return __( 'webhook', 'crmhook' );
		}
	}
}
